// System-test helpers: a private installation under its own root prefix, the real CLI, and a
// cleanup that removes every guest, runtime state and cgroup the test made, also after a failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, rmdirSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupReader } from '../../src/resources/cgroup.js';
import { stopLxcfs } from '../../src/resources/lxcfs.js';
import { mountsUnder, unmountUnder } from '../../src/util/mounts.js';
import { Paths } from '../../src/util/paths.js';
import { run } from '../../src/util/proc.js';
import { which } from '../../src/util/which.js';

export const IS_ROOT = process.getuid?.() === 0;
export const CLI = join(__dirname, '../../dist/vserver.cjs');

if (!IS_ROOT) {
  console.warn('system tests skipped: they start real guests and need root (run npm test as root); the summary says so again');
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const made: string[] = [];

/** Removes the roots of this file that stayed empty: their tests were filtered out, so no cleanup ran. */
export function sweepUnusedRoots(): void {
  for (const r of made.splice(0)) {
    try {
      rmdirSync(r);
    } catch {
      /* used and cleaned by its tests, or not empty */
    }
  }
}

export class TestRoot {
  readonly root: string;
  readonly paths: Paths;
  /** Named network namespace (ip netns) that plays the host for this root's commands. */
  readonly netns: string | undefined;
  private readonly pinned: string | undefined;

  /**
   * runtime: pins this root's OCI runtime in its vserver.toml instead of letting vserver choose;
   * root: an existing directory to use (a filesystem mounted for the test) instead of a fresh one.
   */
  constructor(tag: string, opts: { netns?: string; runtime?: 'runc' | 'crun'; root?: string } = {}) {
    // without root its tests skip, and a file whose tests all skip runs no hooks: make nothing then
    this.root = opts.root ?? (IS_ROOT ? mkdtempSync(join('/tmp', `vst-${tag}-`)) : join('/tmp', `vst-${tag}-not-made`));
    this.paths = new Paths(this.root);
    this.netns = opts.netns;
    // VST_RUNTIME=crun (or runc) runs every root under that runtime: the suite once per runtime, where both work
    this.pinned = opts.runtime ?? envRuntime();
    if (!IS_ROOT) return;
    chmodSync(this.root, 0o755); // guest root, an unprivileged host id, must reach its tree
    if (!opts.root) made.push(this.root);
    if (this.pinned) {
      mkdirSync(this.paths.etc, { recursive: true });
      writeFileSync(this.paths.hostConfig, `runtime = "${this.pinned}"\n`);
    }
  }

  /** The CLI's command line; inside the test's network namespace if it has one. nsenter (not `ip netns
   * exec`) keeps the mount namespace, so that the guests' namespace files outlive the command. */
  private command(args: string[]): [string, string[]] {
    const cli = [CLI, ...args];
    return this.netns === undefined
      ? [process.execPath, cli]
      : ['nsenter', [`--net=/run/netns/${this.netns}`, '--', process.execPath, ...cli]];
  }

  /** Id ranges are claimed in a registry of this root's own, so that parallel test files never change each other's numbers. */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { ...process.env, VSERVER_ROOT: this.root, VSERVER_ID_REGISTRY: 'var/lib/vserver/ranges', ...extra };
  }

  /** Runs the installed CLI as a user would. */
  async cli(args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
    const [file, argv] = this.command(args);
    const r = await run(file, argv, { env: this.env(opts.env), input: opts.input, timeoutMs: opts.timeoutMs ?? 120_000 });
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  }

  /** Like cli, but fails the test with the CLI's own message if it does not exit 0. */
  async ok(args: string[], opts: { input?: string } = {}): Promise<string> {
    const r = await this.cli(args, opts);
    if (r.code !== 0) throw new Error(`vserver ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  spawnCli(args: string[]): ChildProcess {
    const [file, argv] = this.command(args);
    return spawn(file, argv, { env: this.env(), stdio: 'ignore' });
  }

  /** Ids of the runtime's containers, for every runtime that keeps state under this root. */
  async runtimeIds(): Promise<string[]> {
    const out: string[] = [];
    for (const rt of this.runtimes()) out.push(...(await runtimeList(rt.path, rt.state)));
    return out;
  }

  /** The OCI runtimes installed here, each with its state directory under this root. */
  private runtimes(): { name: string; path: string; state: string }[] {
    return RUNTIME_NAMES.flatMap((name) => {
      const path = which(name);
      return path ? [{ name, path, state: this.paths.runtimeRoot(name) }] : [];
    });
  }

  /** The runtime binary this root's guests run under: the pinned one, or the one vserver chose and recorded. */
  runtimePath(): string {
    if (this.pinned) return which(this.pinned) ?? this.pinned;
    const chosen = JSON.parse(readFileSync(this.paths.runtimeCache, 'utf8')) as { path: string };
    return chosen.path;
  }

  /** What of ours is still on the host: runtime state, cgroups, bundles, locks. Empty when clean. */
  async leaks(): Promise<string[]> {
    const out: string[] = [];
    for (const id of await this.runtimeIds()) out.push(`runtime container ${id}`);
    for (const h of hierarchies()) {
      for (const d of safeReaddir(h)) if (d.startsWith(this.paths.cgroupPrefix)) out.push(`cgroup ${join(h, d)}`);
    }
    for (const b of safeReaddir(join(this.paths.run, 'bundles'))) out.push(`bundle ${b}`);
    for (const l of safeReaddir(this.paths.locks)) out.push(`lock ${l}`);
    for (const m of this.mounts()) out.push(`mount ${m}`);
    for (const n of safeReaddir(this.paths.netnsDir)) out.push(`network namespace file ${n}`);
    for (const n of safeReaddir(this.paths.netStateDir)) out.push(`network state ${n}`);
    for (const n of safeReaddir(this.paths.sysfsDir)) out.push(`sysfs directory ${n}`);
    for (const m of [...mountPointsUnder(this.paths.netnsDir), ...mountPointsUnder(this.paths.sysfsDir)]) out.push(`mount ${m}`);
    return out;
  }

  /** Overlay mounts that belong to no existing guest (a guest's merged tree stays mounted while it exists). */
  mounts(): string[] {
    return mountsUnder(this.root)
      .filter((m) => {
        if (m.fsType !== 'overlay') return false;
        const g = /\/var\/lib\/vserver\/guests\/([a-z0-9-]+)\/rootfs$/.exec(m.mountPoint);
        return !(g && m.mountPoint === this.paths.rootfs(g[1]!) && existsSync(this.paths.guestConfig(g[1]!)));
      })
      .map((m) => m.mountPoint);
  }

  /** Every mount under this root, whatever it is. */
  allMounts(): string[] {
    return mountsUnder(this.root).map((m) => m.mountPoint);
  }

  /** Removes everything this root made on the host; safe to call twice. A failing step does not keep the others from running. */
  async cleanup(): Promise<void> {
    const failed: unknown[] = [];
    const step = async (fn: () => unknown) => {
      try {
        await fn();
      } catch (e) {
        failed.push(e);
      }
    };
    for (const rt of this.runtimes()) {
      for (const id of await runtimeList(rt.path, rt.state)) await step(() => run(rt.path, ['--root', rt.state, 'delete', '--force', id]));
    }
    // the lxcfs a start launched for this root: unmounted before the tree goes (rm would descend into it)
    await step(() => this.stopLxcfs());
    const cg = cgroupReader();
    for (const h of hierarchies()) {
      for (const d of safeReaddir(h)) if (d.startsWith(this.paths.cgroupPrefix)) await step(() => cg.remove(d));
    }
    // guests' network namespace files are bind mounts; then overlays and loop-mounted filesystems,
    // so that rm never walks into a template or an image
    for (const m of mountPointsUnder(this.paths.netnsDir)) await step(() => run('umount', ['-l', m]));
    await step(() => unmountUnder(this.root, { lazy: true }));
    await step(() => detachLoops(this.root));
    // rm, not rmSync: a test tree may be deeper than PATH_MAX
    await step(() => run('rm', ['-rf', '--one-file-system', this.root]));
    if (failed.length > 0) throw failed[0];
  }

  stopLxcfs(): Promise<void> {
    return stopLxcfs({ mountpoint: this.paths.lxcfsDir, pidfile: this.paths.lxcfsPidfile });
  }

  /** The init PID of a running guest. */
  async pid(name: string): Promise<number> {
    return (JSON.parse(await this.ok(['status', name, '--json'])) as { pid: number }).pid;
  }
}

const RUNTIME_NAMES = ['crun', 'runc'] as const;

function envRuntime(): 'runc' | 'crun' | undefined {
  const r = process.env.VST_RUNTIME;
  if (r === undefined || r === '') return undefined;
  if (r !== 'runc' && r !== 'crun') throw new Error(`VST_RUNTIME must be runc or crun, not '${r}'`);
  return r;
}

async function runtimeList(runtime: string, state: string): Promise<string[]> {
  if (!existsSync(state)) return [];
  const r = await run(runtime, ['--root', state, 'list', '-q']);
  return r.stdout.split('\n').filter((l) => l !== '');
}

function hierarchies(): string[] {
  const root = '/sys/fs/cgroup';
  if (existsSync(join(root, 'cgroup.controllers'))) return [root];
  return safeReaddir(root)
    .map((d) => join(root, d))
    .filter((d) => existsSync(join(d, 'cgroup.procs')));
}

/** Mount points at or below dir, deepest first. */
function mountPointsUnder(dir: string): string[] {
  return mountsUnder(dir).map((m) => m.mountPoint);
}

function safeReaddir(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}

/** Processes on the host, as pid -> command line. */
export function hostProcesses(): Map<number, string> {
  const out = new Map<number, string>();
  for (const d of safeReaddir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      out.set(Number(d), readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim());
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Detaches loop devices whose backing file lies under dir. */
export async function detachLoops(dir: string): Promise<void> {
  const r = await run('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE']);
  for (const line of r.stdout.split('\n')) {
    const [dev, file] = line.trim().split(/\s+/, 2);
    if (dev && file?.startsWith(`${dir}/`)) await run('losetup', ['--detach', dev]);
  }
}
