// A busybox guest built, started, inspected from both sides, stopped and deleted through the CLI.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/util/proc.js';
import { CLI, hostProcesses, IS_ROOT, TestRoot } from '../helpers/host.js';

describe.skipIf(!IS_ROOT)('guest lifecycle', () => {
  const t = new TestRoot('life');
  const hostPingGroups = readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8');
  afterAll(async () => {
    await t.cleanup();
  });

  beforeAll(async () => {
    await t.ok(['build', 'web1']);
    await t.ok(['start', 'web1']);
  });

  it('runs the guest init as PID 1 and shows only the guest processes inside', async () => {
    const ps = await t.ok(['exec', 'web1', '--', 'ps', '-o', 'pid,comm']);
    const rows = ps
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/));
    expect(rows[0]).toEqual(['1', 'init']);
    expect(rows.map((r) => r[1]).sort()).toEqual(['init', 'ps']);
    // and the host sees that init as an ordinary process, rooted in the guest's tree
    const st = JSON.parse(await t.ok(['status', 'web1', '--json']));
    expect(statSync(`/proc/${st.pid}/root/etc/inittab`).ino).toBe(statSync(join(t.paths.rootfs('web1'), 'etc/inittab')).ino);
  });

  it('has its own hostname', async () => {
    expect((await t.ok(['exec', 'web1', '--', 'hostname'])).trim()).toBe('web1');
    expect(execFileSync('hostname').toString().trim()).not.toBe('web1');
  });

  it('does not see the host mounts', async () => {
    const mounts = await t.ok(['exec', 'web1', '--', 'cat', '/proc/mounts']);
    expect(mounts).not.toContain(t.root);
    // none of the host's own mount points (those a guest has no namesake of) shows in the guest
    const points = (text: string) => text.split('\n').map((l) => l.split(' ')[1] ?? '');
    const guestOwn = /^\/$|^\/(proc|sys|dev|run|etc|tmp)(\/|$)/;
    const hostOnly = points(readFileSync('/proc/mounts', 'utf8')).filter((p) => p !== '' && !guestOwn.test(p));
    for (const p of hostOnly) expect(points(mounts)).not.toContain(p);
    // a mount made on the host after the start stays invisible too
    const m = join(t.root, 'hostmnt');
    mkdirSync(m);
    execFileSync('mount', ['-t', 'tmpfs', 'vst-hostmnt', m]);
    try {
      expect(await t.ok(['exec', 'web1', '--', 'cat', '/proc/mounts'])).not.toContain('vst-hostmnt');
    } finally {
      execFileSync('umount', [m]);
    }
  });

  it('has loopback only, with its own network namespace', async () => {
    const links = await t.ok(['exec', 'web1', '--', 'ip', '-o', 'link']);
    expect(
      links
        .trim()
        .split('\n')
        .map((l) => l.split(':')[1]!.trim()),
    ).toEqual(['lo']);
  });

  it('pings its own loopback over IPv4 and IPv6, as guest root without NET_RAW', async () => {
    for (const to of ['127.0.0.1', '::1', 'localhost']) {
      const r = await t.cli(['exec', 'web1', '--', 'ping', '-c', '1', '-W', '5', to]);
      expect({ to, code: r.code, out: r.stdout }).toMatchObject({
        to,
        code: 0,
        out: expect.stringMatching(/1 packets transmitted, 1 received/),
      });
    }
    expect((await t.ok(['exec', 'web1', '--', 'cat', '/proc/sys/net/ipv4/ping_group_range'])).trim()).toBe('0\t65535');
    // the host's own setting is not the guest's business
    expect(readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8')).toBe(hostPingGroups);
  });

  it('works the same whatever umask the calling shell has', async () => {
    const as077 = (args: string[]) => run('sh', ['-c', 'umask 077; exec "$@"', 'sh', process.execPath, CLI, ...args], { env: t.env() });
    for (const args of [
      ['build', 'u1'],
      ['start', 'u1'],
    ])
      expect((await as077(args)).code).toBe(0);
    try {
      expect(statSync(join(t.paths.bundle('u1'), 'etc/hosts')).mode & 0o777).toBe(0o644);
      // a user other than root in the guest reads the files the host provides, and commands get umask 022
      const r = await as077(['exec', 'u1', '--', 'su', '-s', '/bin/sh', 'nobody', '-c', 'cat /etc/hostname; umask']);
      expect({ code: r.code, out: r.stdout }).toEqual({ code: 0, out: 'u1\n0022\n' });
    } finally {
      await t.ok(['delete', '--force', 'u1']);
    }
  });

  it('passes exit codes, stdin and stderr through exec', async () => {
    expect((await t.cli(['exec', 'web1', '--', 'sh', '-c', 'exit 42'])).code).toBe(42);
    expect((await t.cli(['exec', 'web1', '--', 'false'])).code).toBe(1);
    // a command the guest does not have: a shell's status, and words that name it
    const missing = await t.cli(['exec', 'web1', '--', 'no-such-command', 'x']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/no-such-command.*not found/);
    const r = await t.cli(['exec', 'web1', '--', 'sh', '-c', 'tr a-z A-Z; echo oops >&2; exit 3'], { input: 'hello guest\n' });
    expect(r).toEqual({ code: 3, stdout: 'HELLO GUEST\n', stderr: 'oops\n' });
    expect((await t.cli(['exec', 'web1', '--', '/no/such/program'])).code).not.toBe(0);
  });

  it('reports status with context, processes and uptime, and exit 0 while running', async () => {
    await t.ok(['exec', 'web1', '--', 'sh', '-c', 'sleep 300 >/dev/null 2>&1 &']);
    const r = await t.cli(['status', 'web1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^web1: running/);
    expect(r.stdout).toMatch(/context\s+100/);
    expect(r.stdout).toMatch(/processes\s+2/);
    expect(r.stdout).toMatch(/uptime\s+\dm\d\ds/);
    expect((await t.cli(['running', 'web1'])).code).toBe(0);
  });

  it('lists guests as a table and as JSON', async () => {
    const text = await t.ok(['list']);
    expect(text).toMatch(/^NAME\s+CONTEXT\s+STATE\s+PID\s+UPTIME/);
    expect(text).toMatch(/web1\s+100\s+running\s+\d+/);
    const [g] = JSON.parse(await t.ok(['list', '--json']));
    expect(g).toMatchObject({ name: 'web1', context: 100, state: 'running' });
    expect(g.pid).toBeGreaterThan(1);
    expect(g.uptime).toBeGreaterThanOrEqual(0);
  });

  it("understands util-vserver's word order", async () => {
    expect((await t.ok(['web1', 'exec', 'cat', '/etc/hostname'])).trim()).toBe('web1');
    expect((await t.cli(['web1', 'running'])).code).toBe(0);
  });

  it('keeps running after the CLI exits, with no monitor process of ours', async () => {
    const st = JSON.parse(await t.ok(['status', 'web1', '--json']));
    const procs = hostProcesses();
    // lxcfs is the file system behind the guests' /proc views, shared by all guests: not a monitor
    const ours = [...procs.values()].filter((c) => c.includes(t.root) && !c.includes('/sbin/init') && !/^(\S*\/)?lxcfs /.test(c));
    expect(ours).toEqual([]);
    const ppid = Number(readFileSync(`/proc/${st.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    expect(procs.get(ppid) ?? '').not.toMatch(/vserver|runc/);
  });

  it('restarts with a new init', async () => {
    const before = JSON.parse(await t.ok(['status', 'web1', '--json'])).pid;
    const after = JSON.parse(await t.ok(['restart', 'web1', '--json'])).pid;
    expect(after).not.toBe(before);
    expect((await t.cli(['running', 'web1'])).code).toBe(0);
    expect(await t.ok(['exec', 'web1', '--', 'ps', '-o', 'pid,comm'])).not.toContain('sleep');
  });

  it('stops within its timeout and leaves nothing behind', async () => {
    const t0 = Date.now();
    await t.ok(['stop', 'web1', '--timeout', '20']);
    expect(Date.now() - t0).toBeLessThan(20_000);
    const r = await t.cli(['status', 'web1']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^web1: stopped/);
    expect((await t.cli(['running', 'web1'])).code).toBe(1);
    expect(await t.leaks()).toEqual([]);
    expect(readFileSync(t.paths.log('web1'), 'utf8')).toMatch(/web1: started[\s\S]*web1: stopping/);
  });

  it('escalates to SIGKILL when init ignores its shutdown signal', async () => {
    await t.ok(['build', 'stubborn', '--init', 'cmd', '--', '/bin/sh', '-c', "trap '' TERM PWR; while :; do sleep 1; done"]);
    await t.ok(['start', 'stubborn']);
    const t0 = Date.now();
    await t.ok(['stop', 'stubborn', '--timeout', '1']);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(15_000);
    expect((await t.cli(['running', 'stubborn'])).code).toBe(1);
    expect(await t.leaks()).toEqual([]);
  });

  it('runs a command as init with init = cmd and logs its output', async () => {
    await t.ok(['build', 'job', '--init', 'cmd', '--', '/bin/sh', '-c', 'echo hello from job; exec sleep 1000']);
    await t.ok(['start', 'job']);
    const ps = await t.ok(['exec', 'job', '--', 'ps', '-o', 'pid,args']);
    expect(ps).toMatch(/^\s*1 sleep 1000$/m);
    expect(readFileSync(t.paths.log('job'), 'utf8')).toContain('hello from job');
    // sleep as PID 1 has no handler for SIGTERM, so this also exercises the kill sequence
    await t.ok(['stop', 'job', '--timeout', '1']);
  });

  it('starts again after its init was killed behind its back', async () => {
    await t.ok(['start', 'web1']);
    const { pid } = JSON.parse(await t.ok(['status', 'web1', '--json']));
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && (await t.cli(['running', 'web1'])).code === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const [g] = JSON.parse(await t.ok(['list', '--json'])).filter((x: { name: string }) => x.name === 'web1');
    expect(g.state).toBe('stopped');
    await t.ok(['start', 'web1']);
    expect((await t.cli(['running', 'web1'])).code).toBe(0);
    await t.ok(['stop', 'web1']);
    expect(await t.leaks()).toEqual([]);
  });

  it('refuses to delete a running guest unless forced, and deletes only that guest', async () => {
    await t.ok(['start', 'web1']);
    const r = await t.cli(['delete', 'web1']);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/guest 'web1' is running; refusing to delete it/);
    await t.ok(['delete', '--force', 'web1']);
    await t.ok(['delete', 'job']);
    const names = JSON.parse(await t.ok(['list', '--json'])).map((g: { name: string }) => g.name);
    expect(names).toEqual(['stubborn']);
    await t.ok(['delete', 'stubborn']);
    expect(await t.leaks()).toEqual([]);
  });
});

describe.skipIf(!IS_ROOT)('bad input', () => {
  const t = new TestRoot('bad');
  afterAll(() => t.cleanup());
  beforeAll(() => t.ok(['build', 'g1']));

  it('gives each error its own exit code and a message that says what to do', async () => {
    const cases: [string[], number, RegExp][] = [
      [['start', 'nope'], 4, /guest 'nope' not found/],
      [['start', '../x'], 5, /invalid guest name '..\/x'/],
      [['start', 'UPPER'], 5, /upper-case/],
      [['start', 'x'.repeat(64)], 5, /64 characters long/],
      [['stop', 'g1'], 7, /guest 'g1' is not running/],
      [['exec', 'g1', '--', 'true'], 7, /not running/],
      [['frob', 'g1'], 2, /unknown command/],
      [['start'], 2, /no guest named/],
      [['status'], 2, /needs NAME/],
      [['build', 'g1'], 12, /already exists/],
    ];
    for (const [args, code, msg] of cases) {
      const r = await t.cli(args);
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.split('\n')[1]).toMatch(/^ {2}\S/); // the hint line
    }
    const r = await t.cli(['start', 'g1']);
    expect(r.code).toBe(0);
    const again = await t.cli(['start', 'g1']);
    expect(again.code).toBe(6);
    expect(again.stderr).toMatch(/already running/);
    await t.ok(['stop', 'g1', '--timeout', '0']);
  });

  it('says so when the root directory is missing', async () => {
    execFileSync('mv', [t.paths.rootfs('g1'), `${t.paths.rootfs('g1')}.away`]);
    try {
      const r = await t.cli(['start', 'g1']);
      expect(r.code).toBe(9);
      expect(r.stderr).toMatch(/guest 'g1''s rootfs at .* is missing; it must be a real directory/);
      expect(await t.leaks()).toEqual([]);
    } finally {
      execFileSync('mv', [`${t.paths.rootfs('g1')}.away`, t.paths.rootfs('g1')]);
    }
  });

  it('says which directory keeps an unprivileged guest from its tree', async () => {
    chmodSync(t.root, 0o700);
    try {
      const r = await t.cli(['start', 'g1']);
      expect(r.code).toBe(25);
      expect(r.stderr).toContain(`may not pass through ${t.root} (mode 0700)`);
      expect(await t.leaks()).toEqual([]);
    } finally {
      chmodSync(t.root, 0o755);
    }
  });

  it('names the file and key of a broken config', async () => {
    const file = t.paths.guestConfig('g1');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, `${good}colour = "red"\n`);
    try {
      const r = await t.cli(['start', 'g1']);
      expect(r.code).toBe(10);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toMatch(/unknown key 'colour'/);
    } finally {
      writeFileSync(file, good);
    }
  });

  it('says clearly when the runtime is missing', async () => {
    mkdirSync(t.paths.etc, { recursive: true });
    writeFileSync(t.paths.hostConfig, 'runtime = "runc"\nruntime_path = "/nonexistent/runc"\n');
    try {
      const r = await t.cli(['start', 'g1']);
      expect(r.code).toBe(8);
      expect(r.stderr).toMatch(/OCI runtime runc is not installed/);
      expect(r.stderr).toMatch(/apt-get install runc/);
    } finally {
      writeFileSync(t.paths.hostConfig, '');
    }
    expect(await t.leaks()).toEqual([]);
  });

  it('prints errors as JSON with --json', async () => {
    const r = await t.cli(['status', 'nope', '--json']);
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});
