// Undo steps registered as a multi-step change goes; on failure they run in reverse.
export type UndoStep = () => Promise<void> | void;

export class Revert {
  private steps: { label: string; fn: UndoStep }[] = [];

  add(label: string, fn: UndoStep): void {
    this.steps.push({ label, fn });
  }

  /** The change succeeded: forget the undo steps. */
  success(): void {
    this.steps = [];
  }

  /** Runs every undo step in reverse order; a failing step does not stop the others. */
  async fail(): Promise<string[]> {
    const problems: string[] = [];
    for (const step of this.steps.reverse()) {
      try {
        await step.fn();
      } catch (e) {
        problems.push(`${step.label}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.steps = [];
    return problems;
  }

  /** Runs fn; if it throws, undoes what was registered and rethrows the original error. */
  static async run<T>(fn: (r: Revert) => Promise<T>): Promise<T> {
    const r = new Revert();
    try {
      const v = await fn(r);
      r.success();
      return v;
    } catch (e) {
      throw withCleanupProblems(e, await r.fail());
    }
  }
}

/** The error of a failed change, with what its undo could not undo added to its message. */
export function withCleanupProblems<E>(e: E, problems: readonly string[]): E {
  if (problems.length > 0 && e instanceof Error) e.message += ` (and cleaning up failed: ${problems.join('; ')})`;
  return e;
}
