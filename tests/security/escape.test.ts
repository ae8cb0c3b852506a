// The escape suite: every known way out of a guest is tried as root inside it, in unprivileged
// (default) and privileged mode. Every attempt must be refused, and the host must be unchanged.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';
import { buildEscapeHelper, installHelper } from './helper.js';
import { which } from '../../src/util/which.js';

type Mode = 'unprivileged' | 'privileged';
interface Attempt {
  name: string;
  args: (ctx: HostFacts) => string[];
  /** What refused it, given the errno name and the helper's detail. */
  by: (mode: Mode, errno: string, detail: string) => string;
}
interface HostFacts { sleeperPid: number; diskMajor: number; diskMinor: number; marker: string }

const seccomp = () => 'seccomp';
/** Refusals of a write to a kernel file, by errno. */
function kernelFile(mode: Mode, errno: string): string {
  if (errno === 'EROFS') return 'read-only mount';
  if (errno === 'EACCES' && mode === 'unprivileged') return 'user namespace (the file belongs to host root)';
  if (errno === 'ENOENT') return 'not present on this kernel, or masked';
  return `permissions (${errno})`;
}

const ATTEMPTS: Attempt[] = [
  { name: 'mount a filesystem', args: () => ['mount'], by: () => 'capability (no CAP_SYS_ADMIN)' },
  { name: 'remount a read-only path read-write', args: () => ['remount'], by: () => 'capability (no CAP_SYS_ADMIN)' },
  { name: 'load a kernel module', args: () => ['module'], by: seccomp },
  { name: 'write /proc/sys/kernel/core_pattern', args: () => ['procsys'], by: kernelFile },
  { name: 'write /proc/sysrq-trigger', args: () => ['sysrq'], by: kernelFile },
  { name: 'write /sys/kernel', args: () => ['syskernel'], by: kernelFile },
  { name: "read the host's disk through a block device", args: (h) => ['blockdev', String(h.diskMajor), String(h.diskMinor)], by: device },
  { name: 'read /dev/mem', args: () => ['devmem'], by: device },
  { name: 'read /dev/kmsg', args: () => ['kmsg'], by: device },
  { name: 'signal a host process', args: (h) => ['signal', String(h.sleeperPid)], by: () => 'pid namespace' },
  { name: 'ptrace a host process', args: (h) => ['ptrace', String(h.sleeperPid)], by: () => 'pid namespace' },
  { name: "setns into the host's namespaces", args: (h) => ['setns', String(h.sleeperPid)], by: () => 'pid namespace (no host ns files, no leaked fds)' },
  { name: 'escape a chroot (.. walk, fchdir to a kept fd)', args: (h) => ['chroot', h.marker], by: () => 'mount namespace (pivot_root)' },
  { name: 'open_by_handle_at ("shocker")', args: () => ['shocker'], by: seccomp },
  { name: 'cgroup v1 release_agent (CVE-2022-0492)', args: () => ['release-agent'], by: () => 'read-only cgroup mount, seccomp (no nested user namespace)' },
  { name: "change the host's hostname", args: () => ['hostname'], by: () => 'capability (no CAP_SYS_ADMIN), uts namespace' },
  { name: "set the host's clock", args: () => ['clock'], by: seccomp },
  { name: 'reboot the host', args: () => ['reboot'], by: () => 'capability (no CAP_SYS_BOOT)' },
  { name: 'sniff traffic with a raw socket', args: () => ['rawsock'], by: () => 'capability (no CAP_NET_RAW), network namespace' },
  { name: 'keyctl', args: () => ['keyctl'], by: seccomp },
  { name: 'bpf', args: () => ['bpf'], by: seccomp },
];

function device(mode: Mode, _errno: string, detail: string): string {
  if (detail.startsWith('mknod')) return mode === 'unprivileged' ? 'user namespace (no device nodes)' : 'capability';
  return 'device cgroup';
}

const sha256 = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

describe.skipIf(!IS_ROOT)('escape suite', () => {
  const t = new TestRoot('sec');
  const rows: string[][] = [];
  let sleeper: ChildProcess;
  let facts: HostFacts;
  const before = { hostname: '', corePattern: '', runc: '', uevent: '' };

  beforeAll(async () => {
    sleeper = spawn('sleep', ['3600'], { stdio: 'ignore' });
    const dev = statSync('/').dev;
    const marker = join(t.root, 'host-marker');
    writeFileSync(marker, 'the host');
    facts = { sleeperPid: sleeper.pid!, diskMajor: Math.floor(dev / 256) & 0xfff, diskMinor: (dev & 0xff) | ((dev >> 12) & 0xfff00), marker };
    before.hostname = hostname();
    before.corePattern = readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
    before.runc = sha256(which('runc')!);
    for (const [g, priv] of [['unpriv', false], ['priv', true]] as const) {
      await t.ok(['build', g, ...(priv ? ['--privileged'] : [])]);
      const owner = JSON.parse((await t.cli(['status', g, '--json'])).stdout).idmap?.base ?? 0;
      installHelper(buildEscapeHelper(t.root), t.paths.rootfs(g), owner);
      await t.ok(['start', g]);
    }
  });

  afterAll(async () => {
    sleeper?.kill('SIGKILL');
    await t.cleanup();
    if (rows.length > 0) {
      const head = ['attempt', 'mode', 'result', 'blocked by'];
      const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      console.log(['', ...[head, ...rows].map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  '))].join('\n'));
    }
  });

  for (const mode of ['unprivileged', 'privileged'] as const) {
    const guest = mode === 'unprivileged' ? 'unpriv' : 'priv';
    for (const a of ATTEMPTS) {
      it(`${a.name} (${mode})`, async () => {
        const r = await t.cli(['exec', guest, '--', '/usr/local/bin/escape', ...a.args(facts)]);
        const line = r.stdout.trim().split('\n').pop() ?? '';
        const m = /^(BLOCKED|ESCAPED) (\S+)? ?(.*)$/.exec(line);
        const result = m?.[1] ?? `no answer (exit ${r.code}: ${r.stderr.trim()})`;
        rows.push([a.name, mode, result === 'BLOCKED' ? `blocked (${m![2]})` : result,
          result === 'BLOCKED' ? a.by(mode, m![2]!, m![3]!) : '-']);
        expect(line, r.stderr).toMatch(/^BLOCKED /);
      });
    }

    it(`overwrite the runtime binary through /proc/PID/exe, CVE-2019-5736 (${mode})`, async () => {
      // the helper watches the guest's /proc while the host runs commands in the guest
      const watcher = t.cli(['exec', guest, '--', '/usr/local/bin/escape', 'exe', '4']);
      for (let i = 0; i < 15; i++) await t.cli(['exec', guest, '--', 'true']);
      const r = await watcher;
      const line = r.stdout.trim().split('\n').pop() ?? '';
      rows.push(['overwrite the runtime through /proc/PID/exe', mode, line.startsWith('BLOCKED') ? `blocked (${line.split(' ')[1]})` : line,
        line.startsWith('BLOCKED') ? 'pid namespace; the runtime runs from a sealed copy' : '-']);
      expect(line, r.stderr).toMatch(/^BLOCKED /);
      expect(sha256(which('runc')!)).toBe(before.runc);
    });
  }

  it('leaves the host as it was', () => {
    expect(hostname()).toBe(before.hostname);
    expect(readFileSync('/proc/sys/kernel/core_pattern', 'utf8')).toBe(before.corePattern);
    expect(sleeper.exitCode).toBeNull();
    expect(Math.abs(Date.now() - Number(execFileSync('date', ['+%s']).toString()) * 1000)).toBeLessThan(5000);
  });

  it('reboot inside a guest stops that guest only', async () => {
    await t.ok(['build', 'rebooter']);
    await t.ok(['start', 'rebooter']);
    await t.cli(['exec', 'rebooter', '--', 'reboot']);
    let running = 0;
    for (let i = 0; i < 100; i++) {
      running = (await t.cli(['running', 'rebooter'])).code;
      if (running === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(running).toBe(1);
    expect((await t.cli(['running', 'unpriv'])).code).toBe(0);
    expect((await t.cli(['running', 'priv'])).code).toBe(0);
    await t.ok(['start', 'rebooter']); // and it can be started again: nothing stale is left
    await t.ok(['stop', 'rebooter', '--timeout', '0']);
  });

  it('cannot see host processes or write to the host cgroup tree', async () => {
    const ps = await t.ok(['exec', 'unpriv', '--', 'ps', '-o', 'pid']);
    expect(ps).not.toMatch(new RegExp(`\\b${facts.sleeperPid}\\b`));
    const w = await t.cli(['exec', 'unpriv', '--', 'sh', '-c', 'echo 1 > /sys/fs/cgroup/pids/pids.max']);
    expect(w.code).not.toBe(0);
    expect(w.stderr).toMatch(/Read-only file system|Permission denied|No such file/);
  });

  it('shows the privileged guest with a warning in status', async () => {
    const s = await t.cli(['status', 'priv']);
    expect(s.stderr).toMatch(/warning: privileged guest/);
    expect((await t.cli(['status', 'unpriv'])).stderr).not.toMatch(/warning/);
  });
});
