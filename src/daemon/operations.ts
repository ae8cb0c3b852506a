// Long work (a build) runs as an operation: its id answers at once; progress, the result or the
// error are read, waited for or cancelled at /1.0/operations/ID. Finished ones are kept, bounded.
import { randomUUID } from 'node:crypto';
import { toVsError, VsError } from '../util/errors.js';
import { errorBody, type ErrorBody } from './errors.js';

export type OperationStatus = 'running' | 'success' | 'failure' | 'cancelled';

export interface OperationProgress {
  step: string;
  done?: number;
  total?: number;
  /** What done and total count: bytes, packages or steps. */
  unit?: string;
}

export interface OperationView {
  id: string;
  kind: string;
  status: OperationStatus;
  created: string;
  progress?: OperationProgress;
  result?: unknown;
  error?: ErrorBody;
}

export interface OperationContext {
  signal: AbortSignal;
  progress: (p: OperationProgress) => void;
}

interface Entry {
  view: OperationView;
  abort: AbortController;
  finished: Promise<void>;
}

export class Operations {
  private readonly ops = new Map<string, Entry>();

  /** keep: how many finished operations stay readable (the oldest go first). */
  constructor(private readonly keep = 100) {}

  start(kind: string, work: (ctx: OperationContext) => Promise<unknown>): OperationView {
    const id = randomUUID();
    const abort = new AbortController();
    const view: OperationView = { id, kind, status: 'running', created: new Date().toISOString() };
    const finished = (async () => {
      try {
        const result = await work({
          signal: abort.signal,
          progress: (p) => {
            view.progress = p;
          },
        });
        view.status = 'success';
        view.result = result;
      } catch (e) {
        const err = abort.signal.aborted
          ? new VsError('CANCELLED', `operation ${id} was cancelled`, 'start it again if it is still wanted')
          : toVsError(e);
        view.status = abort.signal.aborted ? 'cancelled' : 'failure';
        view.error = errorBody(err);
      }
      this.trim();
    })();
    this.ops.set(id, { view, abort, finished });
    return view;
  }

  get(id: string): OperationView {
    return this.entry(id).view;
  }

  list(): OperationView[] {
    return [...this.ops.values()].map((e) => e.view);
  }

  /** The operation once it has finished, or as it is after timeoutMs. */
  async wait(id: string, timeoutMs: number): Promise<OperationView> {
    const e = this.entry(id);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      e.finished,
      new Promise<void>((r) => {
        timer = setTimeout(r, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return e.view;
  }

  /** Asks the work to stop and waits until it has undone what it did. */
  async cancel(id: string): Promise<OperationView> {
    const e = this.entry(id);
    if (e.view.status !== 'running') {
      throw new VsError('NOT_RUNNING', `operation ${id} has already ended (${e.view.status})`, 'only a running operation can be cancelled');
    }
    e.abort.abort();
    await e.finished;
    return e.view;
  }

  /** Cancels what still runs (the daemon stops). */
  async cancelAll(): Promise<void> {
    const running = [...this.ops.values()].filter((e) => e.view.status === 'running');
    for (const e of running) e.abort.abort();
    await Promise.all(running.map((e) => e.finished));
  }

  private entry(id: string): Entry {
    const e = this.ops.get(id);
    if (!e)
      throw new VsError(
        'NOT_FOUND',
        `no operation '${id.slice(0, 64)}'`,
        'finished operations are kept for a while only; list them at /1.0/operations',
      );
    return e;
  }

  private trim(): void {
    const done = [...this.ops.entries()].filter(([, e]) => e.view.status !== 'running');
    for (const [id] of done.slice(0, Math.max(0, done.length - this.keep))) this.ops.delete(id);
  }
}
