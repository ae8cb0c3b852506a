// Named points where the test suite's kill-9 tests stop a command dead, as a crash would:
// VSERVER_CRASH_AT=POINT kills this process with SIGKILL when it reaches POINT, and POINT:N when it
// reaches a counted point (such as the Nth file of a re-own) for the Nth time.
export function crashPoint(point: string, count?: number): void {
  const at = process.env.VSERVER_CRASH_AT;
  if (at === undefined) return;
  if (at === point && count === undefined) process.kill(process.pid, 'SIGKILL');
  if (count !== undefined && at === `${point}:${count}`) process.kill(process.pid, 'SIGKILL');
}
