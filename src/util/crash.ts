// Named points where the test suite's kill-9 tests stop a command dead, as a crash would:
// VSERVER_CRASH_AT=POINT kills this process with SIGKILL when it reaches POINT, and POINT:N when it
// reaches a counted point (such as the Nth file of a re-own) for the Nth time.
// VSERVER_CRASH_SIGNAL=SIGTERM (or another) sends that instead, as a user stopping the command would.
export function crashPoint(point: string, count?: number): void {
  const at = process.env.VSERVER_CRASH_AT;
  if (at === undefined) return;
  const signal = (process.env.VSERVER_CRASH_SIGNAL || 'SIGKILL') as NodeJS.Signals;
  if (at === point && count === undefined) process.kill(process.pid, signal);
  if (count !== undefined && at === `${point}:${count}`) process.kill(process.pid, signal);
}
