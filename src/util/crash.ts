// A kill -9 at a named point of a long change, for the tests that prove a crash there can be
// mended: VSERVER_CRASH_AT=POINT:N kills this process with SIGKILL when POINT is reached the Nth time.
const wanted = /^([a-z-]+):(\d+)$/.exec(process.env.VSERVER_CRASH_AT ?? '');

export function crashPoint(point: string, count: number): void {
  if (wanted && wanted[1] === point && Number(wanted[2]) === count) process.kill(process.pid, 'SIGKILL');
}
