// vserver migrate between two hosts on one machine (two installations, each in its own network
// namespace, sshd on the target): a running guest moves with no write lost and its tree intact,
// an overlay guest takes its template along, and a cut link or a killed migrate leaves the source
// running (or startable) and the target without a guest.
import { execFileSync, spawn } from 'node:child_process';
import { linkSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync, lchownSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../src/util/proc.js';
import { which } from '../../src/util/which.js';
import { until } from '../helpers/guests.js';
import { IS_ROOT, type TestRoot } from '../helpers/host.js';
import { treeDigest } from '../helpers/trees.js';
import { TwoHosts } from '../helpers/two-hosts.js';

const TOOLS = ['rsync', 'sshd', 'ssh-keygen', 'setfacl', 'setcap', 'setfattr'].filter((t) => !which(t) && !which(`/usr/sbin/${t}`));
if (IS_ROOT && TOOLS.length > 0) console.warn(`migrate tests skipped: missing ${TOOLS.join(', ')} (bash scripts/install-deps.sh --test)`);

/** Appends the next number to /counter every 10 ms, going on from the last one written (also after a move). */
const COUNTER = 'i=$(tail -n 1 /counter 2>/dev/null); i=${i:-0}; while :; do i=$((i+1)); echo $i >> /counter; sleep 0.01; done';

async function info(t: TestRoot, name: string): Promise<{ state: string; context: number; idmap?: { base: number } }> {
  // status exits 3 for a stopped guest; the JSON is there either way
  const r = await t.cli(['status', name, '--json']);
  if (r.code !== 0 && r.code !== 3) throw new Error(`vserver status ${name} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { state: string; context: number; idmap?: { base: number } };
}

async function guests(t: TestRoot): Promise<string[]> {
  return (JSON.parse(await t.ok(['list', '--json'])) as { name: string }[]).map((g) => g.name);
}

/** The numbers in a counter file: every one of 1..n in order, none twice, none missing. */
function checkCounter(text: string): number {
  const values = text.trim().split('\n').map(Number);
  values.forEach((v, i) => expect(v, `line ${i + 1} of the counter`).toBe(i + 1));
  return values.length;
}

async function lastCount(t: TestRoot, name: string): Promise<number> {
  const r = await t.cli(['exec', name, '--', 'tail', '-n', '1', '/counter']);
  return Number(r.stdout.trim());
}

/** Files of every kind migrate must keep, made as the guest's own (owners in its range). */
function plantSpecialFiles(rootfs: string, base: number): void {
  const d = join(rootfs, 'data');
  mkdirSync(d);
  chownSync(d, base, base);
  writeFileSync(join(d, 'a'), 'content a\n');
  chownSync(join(d, 'a'), base + 1000, base + 1000);
  linkSync(join(d, 'a'), join(d, 'hard'));
  symlinkSync('a', join(d, 'sym'));
  lchownSync(join(d, 'sym'), base + 1000, base + 1000);
  writeFileSync(join(d, 'suid'), '#!/bin/sh\n', { mode: 0o4755 });
  chownSync(join(d, 'suid'), base, base);
  execFileSync('chmod', ['4755', join(d, 'suid')]);
  execFileSync('setfattr', ['-n', 'user.color', '-v', 'blue', join(d, 'a')]);
  execFileSync('setfacl', ['-m', `u:${base + 1000}:rw,g:${base + 50}:r`, join(d, 'a')]);
  writeFileSync(join(d, 'ping'), 'not really ping\n', { mode: 0o755 });
  chownSync(join(d, 'ping'), base, base);
  execFileSync('setcap', ['cap_net_raw+ep', join(d, 'ping')]);
  // 64 MiB with one block of data at the end
  execFileSync('truncate', ['-s', '64M', join(d, 'sparse')]);
  execFileSync('dd', ['if=/dev/urandom', `of=${join(d, 'sparse')}`, 'bs=4096', 'count=1', 'seek=16383', 'conv=notrunc'], { stdio: 'ignore' });
  chownSync(join(d, 'sparse'), base, base);
}

/** A tree's digest without the counter (it goes on there) and with ACLs apart: their entries name host ids, compared relative below. */
function comparable(m: Map<string, string>): Map<string, string> {
  const out = new Map([...m].map(([k, v]) => [k, v.replace(/system\.posix_acl_(access|default)=0x[0-9a-f]+,?/g, '')]));
  out.delete('counter');
  out.delete('');
  return out;
}

/** getfacl's entries with ids relative to the guest's base. */
function aclOf(file: string, base: number): string {
  return execFileSync('getfacl', ['-n', '-p', '-c', file]).toString()
    .replace(/^((?:default:)?(?:user|group):)(\d+):/gm, (_m, p: string, id: string) => `${p}${Number(id) - base}:`);
}

describe.skipIf(!IS_ROOT || TOOLS.length > 0)('vserver migrate', { timeout: 600_000 }, () => {
  const h = new TwoHosts('mig');
  const { source, target } = h;

  beforeAll(async () => {
    await h.setup();
    await source.ok(['build', 'web', '--init', 'cmd', '--', '/bin/sh', '-c', COUNTER]);
    const base = (await info(source, 'web')).idmap!.base;
    plantSpecialFiles(source.paths.rootfs('web'), base);
    await source.ok(['start', 'web']);
    // the target already uses web's context: the guest gets another one there, and its owners move
    await target.ok(['build', 'occupant', '--context', String((await info(source, 'web')).context)]);
  }, 180_000);

  afterAll(() => h.cleanup(), 120_000);

  it('moves a running dir guest: every counter value arrives, and the tree keeps owners, modes, links, xattrs, ACLs and capabilities', async () => {
    const before = await lastCount(source, 'web');
    expect(before).toBeGreaterThan(0);
    const srcBase = (await info(source, 'web')).idmap!.base;
    const r = await source.cli(h.migrateArgs('web', '--keep'));
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/migrated guest web to ssh:\/\/root@10\.251\.7\.2:2222 \(context \d+ there\)/);
    expect(r.stdout).toMatch(/downtime +\d+(\.\d+)? s/);
    expect(r.stdout).toMatch(/context \d+ is taken on the target/);
    const moved = await info(target, 'web');
    expect(moved.state).toBe('running');
    expect(moved.context).not.toBe((await info(source, 'web')).context);
    // the source is kept, stopped: its counter file is what the guest wrote up to the freeze
    expect((await info(source, 'web')).state).toBe('stopped');
    const atFreeze = checkCounter(readFileSync(join(source.paths.rootfs('web'), 'counter'), 'utf8'));
    expect(atFreeze).toBeGreaterThanOrEqual(before);
    // on the target it goes on from there: every value up to the freeze, then the new ones, none lost
    await until(async () => (await lastCount(target, 'web')) > atFreeze + 5, 'the counter to go on on the target');
    const there = checkCounter(readFileSync(join(target.paths.rootfs('web'), 'counter'), 'utf8'));
    expect(there).toBeGreaterThan(atFreeze);
    const a = comparable(treeDigest(source.paths.rootfs('web'), srcBase));
    const b = comparable(treeDigest(target.paths.rootfs('web'), moved.idmap!.base));
    expect(b).toEqual(a);
    expect(aclOf(join(target.paths.rootfs('web'), 'data/a'), moved.idmap!.base)).toBe(aclOf(join(source.paths.rootfs('web'), 'data/a'), srcBase));
    // sparse on the target too: a few blocks, not 64 MiB
    expect(statSync(join(target.paths.rootfs('web'), 'data/sparse')).blocks * 512).toBeLessThan(1 << 20);
    expect(execFileSync('getcap', [join(target.paths.rootfs('web'), 'data/ping')]).toString()).toMatch(/cap_net_raw[=+]ep/);
    expect(aclOf(join(target.paths.rootfs('web'), 'data/a'), moved.idmap!.base)).toContain('user:1000:rw-');
  });
});
