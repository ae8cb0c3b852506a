// Step timings on stderr when VSERVER_TRACE=1: where a command spends its time, measured in place.
/** Whether step timings are on (VSERVER_TRACE=1). */
export const TRACE_ON = process.env.VSERVER_TRACE === '1';

/** One line: milliseconds since the process began, the step's own duration, and what it was. */
function line(label: string, began: number): void {
  const now = performance.now();
  process.stderr.write(`trace: +${now.toFixed(1)}ms ${(now - began).toFixed(1).padStart(8)}ms  ${label}\n`);
}

export async function traced<T>(label: string, fn: () => Promise<T>): Promise<T> {
  if (!TRACE_ON) return fn();
  const t = performance.now();
  try {
    return await fn();
  } finally {
    line(label, t);
  }
}

export function tracedSync<T>(label: string, fn: () => T): T {
  if (!TRACE_ON) return fn();
  const t = performance.now();
  try {
    return fn();
  } finally {
    line(label, t);
  }
}

/** A point in time, for example when the CLI's code began to run (after Node's own start-up). */
export function traceMark(label: string): void {
  if (TRACE_ON) line(label, performance.now());
}
