// Reading and walking cgroup files; missing files read as absent, never as an error.
import { chownSync, existsSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { readKernelFile } from '../util/procfs.js';
import { join } from 'node:path';
import { errnoOf } from '../util/errors.js';

/** A cgroup file's text, or undefined when the file (or the cgroup) is not there. */
export function readText(file: string): string | undefined {
  try {
    return readKernelFile(file);
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT' || code === 'ENODEV' || code === 'ENOTDIR' || code === 'EINVAL' || code === 'EOPNOTSUPP') return undefined;
    throw e;
  }
}

export function readLines(file: string): string[] {
  return (readText(file) ?? '').split('\n').filter((l) => l !== '');
}

/** A number file; 'max' (and v1's "no limit" values near 2^63) read as Infinity. */
export function readNumber(file: string): number | undefined {
  const t = readText(file)?.trim();
  if (t === undefined || t === '') return undefined;
  if (t === 'max') return Infinity;
  const n = Number(t);
  if (!Number.isFinite(n)) return undefined;
  return n >= 2 ** 62 || n === -1 ? Infinity : n;
}

/** "key value" lines (cpu.stat, memory.events, memory.oom_control, ...) as a map. */
export function parseKeyValues(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [k, val] = line.trim().split(/\s+/);
    if (k && val !== undefined && /^-?\d+$/.test(val)) out.set(k, Number(val));
  }
  return out;
}

export function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `${dir}/${d.name}`);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw e;
  }
}

/** PIDs in dir and below. */
export function treePids(dir: string): number[] {
  const out = readLines(`${dir}/cgroup.procs`).map(Number);
  for (const d of subdirs(dir)) out.push(...treePids(d));
  return out;
}

/** The first of treePids(dir): the cgroup's own first process, else the first found below it. */
export function firstTreePid(dir: string): number | undefined {
  const own = readLines(`${dir}/cgroup.procs`)[0];
  if (own !== undefined) return Number(own);
  for (const d of subdirs(dir)) {
    const p = firstTreePid(d);
    if (p !== undefined) return p;
  }
  return undefined;
}

/** rmdir children first; a cgroup directory can only go when it has no processes and no children. */
export function removeTree(dir: string, failed: string[]): void {
  for (const d of subdirs(dir)) removeTree(d, failed);
  try {
    rmdirSync(dir);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') failed.push(dir);
  }
}

/** Entries of a directory that start with prefix; none when the directory is missing. */
export function listPrefixed(dir: string | undefined, prefix: string): string[] {
  if (dir === undefined) return [];
  try {
    return readdirSync(dir).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

/** Removes cgroup directories (children first); returns those that could not go. */
export function removeAll(dirs: readonly string[]): string[] {
  const failed: string[] = [];
  for (const d of dirs) removeTree(d, failed);
  return failed;
}

/** Writes one value into a control file (the kernel takes one line per write). */
export function writeControl(file: string, value: string): void {
  writeFileSync(file, value);
}

/** The files cgroup v2 delegation hands over (Documentation/admin-guide/cgroup-v2.rst). */
const V2_DELEGATE = ['cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads'];

/** A v2 cgroup directory and the files that delegate it, to uid/gid. */
export function delegateV2(dir: string, uid: number, gid: number, out: string[]): void {
  chownSync(dir, uid, gid);
  out.push(dir);
  for (const f of V2_DELEGATE) if (existsSync(join(dir, f))) chownSync(join(dir, f), uid, gid);
}

/** A whole v1 cgroup directory tree, to uid/gid. */
export function chownTree(dir: string, uid: number, gid: number, out: string[]): void {
  chownSync(dir, uid, gid);
  out.push(dir);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) chownTree(p, uid, gid, out);
    else chownSync(p, uid, gid);
  }
}
