// The final copy's rsync, started while a pre-copy round runs: connected, its remote side running,
// and waiting for the list of changed entries on its stdin, so that the switch pays neither ssh's
// session start nor rsync's.
import { rsyncTo, type RsyncTarget } from '../storage/rsync.js';

/** It waits a whole round for its list; a dead link still ends it within seconds, through ssh's keep-alives. */
const STANDBY_TIMEOUT_S = 900;

export class StandbyCopy {
  private give: (entries: string[]) => void = () => undefined;
  private drop: (e: Error) => void = () => undefined;
  private failed = false;
  private readonly copy: Promise<number>;

  constructor(
    private readonly tree: string,
    private readonly target: RsyncTarget,
    private readonly dest: string,
    private readonly timeoutS: number,
  ) {
    const list = new Promise<string[]>((res, rej) => {
      this.give = res;
      this.drop = rej;
    });
    list.catch(() => undefined);
    this.copy = rsyncTo(tree, target, dest, STANDBY_TIMEOUT_S, list);
    this.copy.catch(() => {
      this.failed = true;
    });
  }

  /** Sends these entries through the waiting rsync, or through a fresh one if it ended meanwhile. */
  send(entries: string[]): Promise<number> {
    if (this.failed) return rsyncTo(this.tree, this.target, this.dest, this.timeoutS, Promise.resolve(entries));
    this.give(entries);
    return this.copy;
  }

  /** Ends it unused: the round was not the last, or the migration failed. */
  async cancel(): Promise<void> {
    this.drop(new Error('the final copy was not needed'));
    await this.copy.catch(() => undefined);
  }
}
