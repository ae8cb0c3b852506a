// lxcfs: a FUSE file system whose /proc files show the reading process's own cgroup limits.
// Bound over a guest's /proc/meminfo, /proc/cpuinfo, ... it makes free, uptime and top tell the truth.
import { closeSync, existsSync, mkdirSync, openSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { OciMount } from '../oci/types.js';
import { errnoOf } from '../util/errors.js';
import { withLock } from '../util/lock.js';
import { launch, run, sleep } from '../util/proc.js';
import { readIfExists } from '../util/fs.js';
import { parseMountinfo, readMounts, type MountEntry } from '../util/mounts.js';
import { which } from '../util/which.js';

/** The Debian lxcfs service's mount; used when it runs, so that one lxcfs serves the host. */
export const SYSTEM_LXCFS = '/var/lib/lxcfs';

/** The files lxcfs virtualises that runc lets a container bind over /proc (its lxcfs allow-list). */
export const LXCFS_PROC_FILES = ['cpuinfo', 'diskstats', 'loadavg', 'meminfo', 'slabinfo', 'stat', 'swaps', 'uptime'];

/** Bind mounts of the lxcfs files present under mountpoint, read-only. */
export function lxcfsMounts(mountpoint: string, present: (path: string) => boolean = existsSync): OciMount[] {
  const out: OciMount[] = [];
  for (const f of LXCFS_PROC_FILES) {
    const source = join(mountpoint, 'proc', f);
    if (present(source))
      out.push({ destination: `/proc/${f}`, type: 'bind', source, options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'] });
  }
  const cpu = join(mountpoint, 'sys/devices/system/cpu');
  if (present(join(cpu, 'online'))) {
    out.push({ destination: '/sys/devices/system/cpu', type: 'bind', source: cpu, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] });
  }
  return out;
}

export function isLxcfsMount(dir: string, mounts: readonly MountEntry[] = readMounts()): boolean {
  return mounts.some((m) => m.mountPoint === dir && m.fsType === 'fuse.lxcfs');
}

/** Whether a running guest's /proc/meminfo comes from lxcfs (read from its init's mount table). */
export function guestUsesLxcfs(pid: number): boolean | undefined {
  const text = readIfExists(`/proc/${pid}/mountinfo`);
  if (text === undefined) return undefined;
  return parseMountinfo(text).some((m) => m.mountPoint === '/proc/meminfo' && m.fsType === 'fuse.lxcfs');
}

/** A mount whose daemon died answers ENOTCONN; such a mount is useless and is replaced. */
function alive(mountpoint: string): boolean {
  try {
    statSync(join(mountpoint, 'proc/meminfo'));
    return true;
  } catch {
    return false;
  }
}

export type LxcfsMode = 'auto' | 'off';

export type LxcfsResult = { mounts: OciMount[]; mountpoint: string } | { reason: string };

/** What a guest start needs from lxcfs; a fake stands in for it in engine tests. */
export interface Lxcfs {
  readonly mode: LxcfsMode;
  installed(): boolean;
  /** The bind mounts for a guest, starting lxcfs first if it is not running; a reason when there are none. */
  prepare(): Promise<LxcfsResult>;
  /** Stops the lxcfs this installation started (never the host's own service), when no guest needs it any more. */
  shutdown(): Promise<void>;
}

export interface LxcfsPlaces {
  /** Where our own lxcfs is mounted, under the root prefix's run directory. */
  mountpoint: string;
  pidfile: string;
  log: string;
  lock: string;
}

export class LxcfsDaemon implements Lxcfs {
  constructor(
    readonly mode: LxcfsMode,
    private readonly places: LxcfsPlaces,
    private readonly binary = which('lxcfs'),
  ) {}

  installed(): boolean {
    return this.binary !== undefined;
  }

  /** What an earlier prepare of this process found: a bulk run checks the mount table once, not per guest. */
  private ready: { mounts: OciMount[]; mountpoint: string } | undefined;

  async prepare(): Promise<LxcfsResult> {
    if (this.mode === 'off') return { reason: 'lxcfs = "off" in vserver.toml' };
    if (!this.binary) return { reason: 'lxcfs is not installed (apt-get install lxcfs)' };
    if (this.ready && alive(this.ready.mountpoint)) return this.ready;
    const r = await this.find();
    this.ready = 'mounts' in r ? r : undefined;
    return r;
  }

  private async find(): Promise<LxcfsResult> {
    if (isLxcfsMount(SYSTEM_LXCFS) && alive(SYSTEM_LXCFS)) return { mounts: lxcfsMounts(SYSTEM_LXCFS), mountpoint: SYSTEM_LXCFS };
    const mp = this.places.mountpoint;
    return withLock(this.places.lock, 'starting lxcfs', async () => {
      if (isLxcfsMount(mp)) {
        if (alive(mp)) return { mounts: lxcfsMounts(mp), mountpoint: mp };
        await run('umount', ['-l', mp]);
      }
      const failure = await this.start(this.binary!, mp);
      return failure === undefined ? { mounts: lxcfsMounts(mp), mountpoint: mp } : { reason: failure };
    });
  }

  async shutdown(): Promise<void> {
    await withLock(this.places.lock, 'stopping lxcfs', () => stopLxcfs(this.places));
  }

  /** Starts lxcfs detached (it stays in the foreground of its own session) and waits for its mount. */
  private async start(binary: string, mp: string): Promise<string | undefined> {
    mkdirSync(mp, { recursive: true, mode: 0o755 });
    mkdirSync(dirname(this.places.log), { recursive: true });
    const log = openSync(this.places.log, 'a', 0o640);
    let exited: string | undefined;
    try {
      const { child, exit } = launch(binary, ['--enable-cfs', '-p', this.places.pidfile, mp], {
        detached: true,
        stdio: ['ignore', log, log],
        untilExit: true,
      });
      exit.then(
        (e) => {
          exited = `lxcfs exited (${e.signal ?? `status ${e.code}`}); see ${this.places.log}`;
        },
        (e: unknown) => {
          exited = `lxcfs could not run: ${e instanceof Error ? e.message : String(e)}`;
        },
      );
      child.unref();
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && exited === undefined) {
        if (isLxcfsMount(mp) && alive(mp)) return undefined;
        await sleep(20);
      }
      if (exited === undefined) {
        child.kill('SIGKILL');
        exited = `lxcfs did not mount ${mp} within 5 s; see ${this.places.log}`;
      }
      return exited;
    } finally {
      closeSync(log);
    }
  }
}

/** Unmounts our lxcfs (the daemon then exits) and makes sure its process is gone; for tests and uninstall. */
export async function stopLxcfs(places: Pick<LxcfsPlaces, 'mountpoint' | 'pidfile'>): Promise<void> {
  const pid = Number(readIfExists(places.pidfile)?.trim());
  if (isLxcfsMount(places.mountpoint)) await run('umount', ['-l', places.mountpoint]);
  if (Number.isInteger(pid) && pid > 0 && isLxcfsProcess(pid)) {
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && isLxcfsProcess(pid)) await sleep(20);
    if (isLxcfsProcess(pid)) process.kill(pid, 'SIGKILL');
  }
  try {
    rmdirSync(places.mountpoint);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
}

function isLxcfsProcess(pid: number): boolean {
  const comm = readIfExists(`/proc/${pid}/comm`);
  return comm !== undefined && comm.trim() === 'lxcfs';
}
