// What the engine takes and reports; what it reports about a guest is a wire type, shared with the dashboard.
import type { Readable } from 'node:stream';
import type { InitStyle } from '../guest/schema.js';
import type { Progress } from '../util/progress.js';

export type { GuestInfo, GuestState, InterfaceInfo } from '../wire/guest.js';
export type { GuestResources } from '../wire/resources.js';

/** Where a new guest's tree comes from. */
export type BuildSource =
  | { kind: 'template'; name: string }
  | { kind: 'debootstrap'; suite: string; mirror?: string; variant?: string; include?: string[] }
  | {
      kind: 'tarball';
      file: string /** The archive itself (an upload), read instead of file, which then only names it. */;
      stream?: Readable;
    }
  | { kind: 'clone'; guest: string };

export interface BuildOptions {
  /** Default: the built-in busybox template. */
  source?: BuildSource;
  /** dir (own copy) or overlay (shares a stored template); default overlay for a stored template. */
  backend?: 'dir' | 'overlay';
  /** An id range of its own even when built from a shared template (then as a dir guest). */
  isolated?: boolean;
  context?: number;
  hostname?: string;
  init?: InitStyle;
  cmd?: string[];
  /** No user namespace: guest root is host root. */
  privileged?: boolean;
  onProgress?: (p: Progress) => void;
  /** Aborting stops the build between steps and kills what runs; the half-made tree is removed. */
  signal?: AbortSignal;
}
