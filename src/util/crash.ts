// Named points where the test suite's kill-9 harness stops a command dead, as a crash would:
// VSERVER_CRASH_AT=POINT makes the process SIGKILL itself when it reaches POINT.
export function crashPoint(point: string): void {
  if (process.env.VSERVER_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}
