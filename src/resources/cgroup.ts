// Reading the host's cgroup tree: one interface, one implementation per layout.
import { chownSync, existsSync, readFileSync, readdirSync, realpathSync, rmdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errnoOf } from '../util/errors.js';

export type CgroupLayout = 'v1' | 'hybrid' | 'v2';

export const CGROUP_ROOT = '/sys/fs/cgroup';

export function detectLayout(root = CGROUP_ROOT): CgroupLayout {
  if (existsSync(join(root, 'cgroup.controllers'))) return 'v2';
  return existsSync(join(root, 'unified', 'cgroup.controllers')) ? 'hybrid' : 'v1';
}

export interface CgroupReader {
  readonly layout: CgroupLayout;
  /** Directories that hold the cgroup of this name, one per hierarchy. */
  dirs(name: string): string[];
  /** PIDs of every process in the cgroup and its children. */
  pids(name: string): number[];
  /** Removes the cgroup (all hierarchies, children first); returns the directories that could not go. */
  remove(name: string): string[];
  /**
   * Hands the cgroup to the guest's root (uid/gid on the host), as systemd inside needs: on v2 the
   * directory and its delegation files, on v1 the named systemd hierarchy (the controllers stay
   * the host's). Returns what it changed.
   */
  delegate(name: string, uid: number, gid: number): string[];
}

/** The files cgroup v2 delegation hands over (Documentation/admin-guide/cgroup-v2.rst). */
const V2_DELEGATE = ['cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads'];

function removeTrees(dirs: string[]): string[] {
  const failed: string[] = [];
  for (const d of dirs) removeTree(d, failed);
  return failed;
}

/** A v2 cgroup directory and the files that delegate it. */
function delegateV2(dir: string, uid: number, gid: number, out: string[]): void {
  chownSync(dir, uid, gid);
  out.push(dir);
  for (const f of V2_DELEGATE) if (existsSync(join(dir, f))) chownSync(join(dir, f), uid, gid);
}

function chownTree(dir: string, uid: number, gid: number, out: string[]): void {
  chownSync(dir, uid, gid);
  out.push(dir);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) chownTree(p, uid, gid, out);
    else chownSync(p, uid, gid);
  }
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENODEV') return [];
    throw e;
  }
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(dir, d.name));
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw e;
  }
}

/** PIDs in dir and below. */
export function treePids(dir: string): number[] {
  const out = readLines(join(dir, 'cgroup.procs')).map(Number);
  for (const d of subdirs(dir)) out.push(...treePids(d));
  return out;
}

/** rmdir children first; a cgroup directory can only go when it has no processes and no children. */
function removeTree(dir: string, failed: string[]): void {
  for (const d of subdirs(dir)) removeTree(d, failed);
  try {
    rmdirSync(dir);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') failed.push(dir);
  }
}

export class CgroupV2 implements CgroupReader {
  readonly layout: CgroupLayout = 'v2';
  constructor(readonly root = CGROUP_ROOT) {}

  dirs(name: string): string[] {
    const d = join(this.root, name);
    return existsSync(d) ? [d] : [];
  }

  pids(name: string): number[] {
    return treePids(join(this.root, name));
  }

  remove(name: string): string[] {
    return removeTrees(this.dirs(name));
  }

  delegate(name: string, uid: number, gid: number): string[] {
    const out: string[] = [];
    for (const d of this.dirs(name)) delegateV2(d, uid, gid, out);
    return out;
  }
}

export class CgroupV1 implements CgroupReader {
  readonly layout: CgroupLayout;
  /** Hierarchy roots, one per mount (co-mounted controllers counted once). */
  readonly hierarchies: string[];

  constructor(readonly root = CGROUP_ROOT, layout: CgroupLayout = 'v1') {
    this.layout = layout;
    const seen = new Set<string>();
    this.hierarchies = [];
    for (const d of subdirs(root)) {
      let real: string;
      try {
        real = realpathSync(d);
        if (!statSync(join(real, 'cgroup.procs')).isFile()) continue;
      } catch {
        continue;
      }
      if (!seen.has(real)) {
        seen.add(real);
        this.hierarchies.push(d);
      }
    }
  }

  /** The hierarchy that counts processes: pids if mounted, else any. */
  private countingHierarchy(): string | undefined {
    for (const c of ['pids', 'memory', 'cpu', 'systemd', 'unified']) {
      const h = this.hierarchies.find((x) => x.endsWith(`/${c}`));
      if (h) return h;
    }
    return this.hierarchies[0];
  }

  dirs(name: string): string[] {
    return this.hierarchies.map((h) => join(h, name)).filter((d) => existsSync(d));
  }

  pids(name: string): number[] {
    const h = this.countingHierarchy();
    return h ? treePids(join(h, name)) : [];
  }

  remove(name: string): string[] {
    return removeTrees(this.dirs(name));
  }

  delegate(name: string, uid: number, gid: number): string[] {
    const out: string[] = [];
    for (const d of this.dirs(name)) {
      // the named systemd hierarchy only tracks processes; the unified tree of a hybrid host likewise
      const hierarchy = basename(dirname(d));
      if (hierarchy !== 'systemd' && hierarchy !== 'unified') continue;
      if (hierarchy === 'unified') delegateV2(d, uid, gid, out);
      else chownTree(d, uid, gid, out);
    }
    return out;
  }
}

export function cgroupReader(root = CGROUP_ROOT): CgroupReader {
  const layout = detectLayout(root);
  return layout === 'v2' ? new CgroupV2(root) : new CgroupV1(root, layout);
}
