// Limits the kernel enforces on real guests, and what stat, ps, top and status report about them.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupReader } from '../../src/resources/cgroup.js';
import { majorMinor, onlineCpus } from '../../src/resources/host-facts.js';
import { isLxcfsMount, SYSTEM_LXCFS } from '../../src/resources/lxcfs.js';
import { canRaiseLimits, rlimitCeiling } from '../../src/util/procfs.js';
import { run } from '../../src/util/proc.js';
import { installHostProgram } from '../helpers/guest-tools.js';
import { CLI, IS_ROOT, TestRoot } from '../helpers/host.js';

const MiB = 2 ** 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The whole disk that holds a directory, as /dev/NAME, or why there is none. */
function diskOf(dir: string): { disk: string } | { why: string } {
  const id = majorMinor(statSync(dir, { bigint: true }).dev).join(':');
  const sys = `/sys/dev/block/${id}`;
  if (!existsSync(sys)) return { why: `${dir} is on device ${id}, which is not a block device (tmpfs, overlay, ...)` };
  const name = existsSync(join(sys, 'partition')) ? basename(dirname(realpathSync(sys))) : basename(realpathSync(sys));
  return existsSync(`/dev/${name}`) ? { disk: `/dev/${name}` } : { why: `the disk ${name} that holds ${dir} has no node in /dev` };
}

describe.skipIf(!IS_ROOT)('limits on real guests', () => {
  const t = new TestRoot('limits');
  const cg = cgroupReader();
  const tmpDisk = diskOf('/tmp');
  const disk = 'disk' in tmpDisk ? tmpDisk.disk : undefined;
  // the guest pinned to one CPU gets the host's last one, and a cpuset one past it is refused
  const hostCpus = onlineCpus();
  const lastCpu = Math.max(...hostCpus);
  // what the host lets vserver give: fs.nr_open with CAP_SYS_RESOURCE, else this process's own hard limit
  const hardNofile = Math.min(100_000, rlimitCeiling().get('RLIMIT_NOFILE')?.hard ?? Infinity);
  let ctx: Record<string, number> = {};
  const status = async (name: string) => JSON.parse(await t.ok(['status', name, '--json']));
  const configText = (name: string) => readFileSync(t.paths.guestConfig(name), 'utf8');

  beforeAll(async () => {
    for (const g of ['mem', 'pids', 'cpu', 'pin']) await t.ok(['build', g]);
    await t.ok(['limit', 'mem', 'memory.max', '64M']);
    await t.ok(['limit', 'pids', 'pids.max', '50']);
    await t.ok(['limit', 'cpu', 'cpu.max', '0.5']);
    await t.ok(['limit', 'pin', 'cpu.cpuset', String(lastCpu)]);
    await t.ok(['limit', 'pin', 'rlimits.nofile', '4096:100000']);
    await t.ok(['limit', 'pin', 'rlimits.core', 'unlimited']);
    await t.ok(['limit', 'pin', 'rlimits.nproc', '300:500']);
    if (disk) await t.ok(['limit', 'pin', `io.read_bps.${disk}`, '1M']);
    await Promise.all(['mem', 'pids', 'cpu', 'pin'].map((g) => t.ok(['start', g])));
    ctx = Object.fromEntries(JSON.parse(await t.ok(['list', '--json'])).map((g: { name: string; context: number }) => [g.name, g.context]));
  });
  afterAll(() => t.cleanup());

  it('applies the limits at start and shows them in force', async () => {
    expect(await t.ok(['status', 'mem'])).toMatch(/memory +\S+ of 64\.0M; /);
    expect(await t.ok(['status', 'mem'])).toMatch(/cpu +no limit; used /);
    expect(await t.ok(['status', 'pids'])).toMatch(/pids +1 of 50; /);
    expect(await t.ok(['status', 'cpu'])).toMatch(/cpu +at most 0\.5 cores; /);
    const pin = await t.ok(['status', 'pin']);
    expect(pin).toMatch(/cpu +cpus 1; /);
    expect(pin).toMatch(/memory +\S+, no limit; /);
    expect(pin).toMatch(/pids +\d+ of 4096; /); // the default of [guest_defaults]
    expect(pin).not.toMatch(/\bmax\b/);
    expect((await status('pin')).resources.limits.memoryMax).toBe('max');
    expect(cg.limits(t.paths.cgroupName('mem'))?.memoryMax).toBe(64 * MiB);
  });

  it('OOM-kills a process that allocates 128M in a 64M guest, and only that process; status counts the kill', async () => {
    const init = await t.pid('mem');
    // dd really allocates its block: bs=128M is one 128M buffer, filled from /dev/zero
    const r = await t.cli(['exec', 'mem', '--', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=128M', 'count=1']);
    expect(r.code).toBe(137);
    expect(await t.pid('mem')).toBe(init);
    expect((await status('mem')).resources.events.oomKills).toBe(1);
    expect(await t.ok(['status', 'mem'])).toMatch(/1 OOM kill\b/);
    // the host has no such limit: the same allocation succeeds there
    execFileSync('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=128M', 'count=1'], { stdio: 'ignore' });
  });

  it('raises the memory limit of the running guest without a restart, and saves it', async () => {
    const init = await t.pid('mem');
    expect(await t.ok(['limit', 'mem', 'memory.max', '256M'])).toMatch(/in force now/);
    expect(await t.pid('mem')).toBe(init);
    expect(cg.limits(t.paths.cgroupName('mem'))?.memoryMax).toBe(256 * MiB);
    expect((await t.cli(['exec', 'mem', '--', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=128M', 'count=1'])).code).toBe(0);
    expect(configText('mem')).toMatch(/max = "256M"/);
  });

  it('keeps the config and the limit when the kernel refuses a limit below what the guest holds', async () => {
    await t.ok(['exec', 'mem', '--', 'dd', 'if=/dev/zero', 'of=/dev/shm/fill', 'bs=1M', 'count=40']);
    const before = configText('mem');
    const r = await t.cli(['limit', 'mem', 'memory.max', '16M']);
    expect(r.code).toBe(13);
    expect(r.stderr).toMatch(/could not update the limits of guest 'mem'/);
    expect(r.stderr).toMatch(/the config was not changed/);
    expect(configText('mem')).toBe(before);
    expect(cg.limits(t.paths.cgroupName('mem'))?.memoryMax).toBe(256 * MiB);
    await t.ok(['exec', 'mem', '--', 'rm', '/dev/shm/fill']);
  });

  it('refuses bad limits with a clear message and leaves the config as it was', async () => {
    const before = configText('mem');
    const cases: [string[], number, RegExp][] = [
      [['memory.max', 'lots'], 17, /must be a size such as 512M/],
      [['memory.max', '-64M'], 17, /must not be negative/],
      [['memory.max', '2M'], 17, /must be at least 8M/],
      [['cpu.cpuset', `0-${lastCpu + 2}`], 17, new RegExp(`names CPUs ${lastCpu + 1}-${lastCpu + 2}, which this host does not have`)],
      [['disk.max', '1G'], 2, /unknown limit key 'disk.max'/],
    ];
    for (const [args, code, msg] of cases) {
      const r = await t.cli(['limit', 'mem', ...args]);
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stderr).toMatch(msg);
    }
    expect(configText('mem')).toBe(before);
  });

  it('stops the 51st fork in a guest limited to 50 pids', async () => {
    const r = await t.cli([
      'exec',
      'pids',
      '--',
      'sh',
      '-c',
      'i=0; while [ $i -lt 200 ]; do sleep 1000 </dev/null >/dev/null 2>&1 & i=$((i+1)); echo $i; done',
    ]);
    expect(r.stderr).toMatch(/can't fork/);
    const forked = Number(r.stdout.trim().split('\n').pop());
    // init + the shell + its sleeps made 50; the next fork failed
    expect(1 + 1 + forked).toBe(50);
    const s = await status('pids');
    expect(s.resources.events.pidsRefused).toBeGreaterThanOrEqual(1);
    expect(s.resources.usage.tasks).toBe(49);
    await t.ok(['restart', 'pids', '--timeout', '1']);
  });

  it('holds two busy loops to about half a core with cpu.max 0.5', async () => {
    await t.ok(['exec', 'cpu', '--', 'sh', '-c', 'for i in 1 2; do (while :; do :; done) </dev/null >/dev/null 2>&1 & done']);
    const name = t.paths.cgroupName('cpu');
    await sleep(300);
    const u0 = cg.usage(name)!.cpuUsec;
    const t0 = performance.now();
    await sleep(3000);
    const used = (cg.usage(name)!.cpuUsec - u0) / 1e6;
    const cores = used / ((performance.now() - t0) / 1000);
    // two loops would take two cores; the quota allows 0.5 (lower bound loose: the machine is shared)
    expect(cores).toBeLessThan(0.6);
    expect(cores).toBeGreaterThan(0.3);
    expect(cg.events(name)!.throttledPeriods).toBeGreaterThan(10);
    expect(await t.ok(['status', 'cpu'])).toMatch(/throttled \dm\d\ds\d\d in \d+ periods/);
  });

  it('pins a guest to its cpuset', async () => {
    expect((await t.ok(['exec', 'pin', '--', 'grep', 'Cpus_allowed_list', '/proc/self/status'])).trim()).toMatch(
      new RegExp(`:\\s+${lastCpu}$`),
    );
    expect(readFileSync(`/proc/${await t.pid('pin')}/status`, 'utf8')).toMatch(new RegExp(`^Cpus_allowed_list:\\s+${lastCpu}$`, 'm'));
    await t.ok(['exec', 'pin', '--', 'sh', '-c', 'sleep 5 </dev/null >/dev/null 2>&1 &']);
    const procs = cg.pids(t.paths.cgroupName('pin'));
    expect(procs.length).toBeGreaterThanOrEqual(2);
    for (const p of procs) {
      const s = readFileSync(`/proc/${p}/stat`, 'utf8');
      expect(s.slice(s.lastIndexOf(')') + 2).split(' ')[36]).toBe(String(lastCpu)); // the CPU it last ran on
    }
  });

  it('sets rlimits inside the guest, never above what the host allows', async () => {
    const out = (await t.ok(['exec', 'pin', '--', 'sh', '-c', 'ulimit -n; ulimit -Hn; ulimit -c'])).trim().split('\n');
    expect(out).toEqual(['4096', String(hardNofile), 'unlimited']);
    // a command run without a shell gets the soft limit too (runc alone gives it the hard one)
    expect(await t.ok(['exec', 'pin', '--', 'cat', '/proc/self/limits'])).toMatch(
      new RegExp(`^Max open files +4096 +${hardNofile} +files`, 'm'),
    );
  });

  it("gives every exec the guest's rlimits, whatever limits the calling process has", async () => {
    // the CLI started under other limits than the guest's: lower and higher soft limits, and every hard
    // limit this process may set (without CAP_SYS_RESOURCE none above its own)
    const execAs = (limits: string[]) =>
      run(
        'prlimit',
        [
          ...limits,
          '--',
          process.execPath,
          CLI,
          'exec',
          'pin',
          '--',
          'sh',
          '-c',
          'echo $(ulimit -n):$(ulimit -Hn) $(ulimit -u):$(ulimit -Hu) $(ulimit -c)',
        ],
        { env: t.env() },
      );
    const want = `4096:${hardNofile} 300:500 unlimited`;
    const callers = [
      [`--nofile=64:${hardNofile}`, '--nproc=10:', '--core=0:'],
      [`--nofile=${hardNofile}:${hardNofile}`, '--nproc=499:'],
      ...(canRaiseLimits() ? [['--nofile=64:128', '--nproc=10:20', '--core=0:0']] : []),
    ];
    for (const limits of callers) {
      const r = await execAs(limits);
      expect({ limits, out: r.stdout.trim(), err: r.stderr }).toEqual({ limits, out: want, err: '' });
    }
    if (!canRaiseLimits()) {
      // a caller below the guest's hard limit cannot lift it here: a clear refusal, not a runtime error
      const r = await execAs([`--nofile=64:${hardNofile - 1}`]);
      expect(r.code).toBe(25);
      expect(r.stderr).toMatch(new RegExp(`no CAP_SYS_RESOURCE\\): nofile ${hardNofile - 1} < ${hardNofile}`));
      expect(r.stderr).toMatch(/ulimit -Hn/);
    }
  });

  it('throttles reads from the disk, and lifts the throttle live', async (c) => {
    if (!disk) c.skip(`no disk to throttle: ${'why' in tmpDisk ? tmpDisk.why : ''}`);
    await t.ok(['exec', 'pin', '--', 'sh', '-c', 'head -c 3000000 /dev/urandom > /tmp/f3 && sync']);
    // the read's own time, measured inside the guest by busybox time: the CLI's start-up does not count
    const read = async () => {
      const r = await t.cli(['exec', 'pin', '--', 'time', 'dd', 'if=/tmp/f3', 'of=/dev/null', 'bs=64k', 'iflag=direct']);
      expect(r.code, r.stderr).toBe(0);
      const m = /^real\s+(\d+)m ?([\d.]+)s$/m.exec(r.stderr)!;
      return (Number(m[1]) * 60 + Number(m[2])) * 1000;
    };
    // 3 MB at 1 MB/s
    expect(await read()).toBeGreaterThan(1500);
    expect(await t.ok(['status', 'pin'])).toMatch(/io +read \d+\.\dM.*read 1\.0M\/s/);
    await t.ok(['limit', 'pin', `io.read_bps.${disk}`, 'max']);
    expect(cg.limits(t.paths.cgroupName('pin'))?.io ?? []).toEqual([]);
    expect(await read()).toBeLessThan(1200);
  });

  it('stat shows the host as context 0 and each guest with its processes, in vserver-stat formats', async () => {
    await t.ok(['exec', 'pin', '--', 'sh', '-c', 'sleep 777 </dev/null >/dev/null 2>&1 & sleep 778 </dev/null >/dev/null 2>&1 &']);
    const text = await t.ok(['stat']);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('CTX   PROC    VSZ    RSS  userTIME   sysTIME    UPTIME NAME');
    const size = /^\d+\.\d[KMGT]$/;
    const time = /^(\d+m\d\ds\d\d|\d+h\d\dm\d\d|\d+d\d\dh\d\d)$/;
    const rows = lines.slice(1).map((l) => {
      const f = l.trim().split(/\s+/);
      return {
        ctx: Number(f[0]),
        proc: Number(f[1]),
        vsz: f[2]!,
        rss: f[3]!,
        user: f[4]!,
        sys: f[5]!,
        up: f[6]!,
        name: f.slice(7).join(' '),
      };
    });
    expect(rows[0]).toMatchObject({ ctx: 0, name: 'root server' });
    expect(rows.map((r) => r.name).slice(1)).toEqual(['mem', 'pids', 'cpu', 'pin'].sort((a, b) => ctx[a]! - ctx[b]!));
    for (const r of rows) {
      expect(r.vsz).toMatch(size);
      expect(r.rss).toMatch(size);
      for (const x of [r.user, r.sys, r.up]) expect(x).toMatch(time);
    }
    const pin = rows.find((r) => r.name === 'pin')!;
    expect(pin.ctx).toBe(ctx.pin);
    expect(pin.proc).toBe(cg.pids(t.paths.cgroupName('pin')).length);
    expect(pin.proc).toBeGreaterThanOrEqual(3); // init and the two sleeps
    const json = JSON.parse(await t.ok(['stat', '--json']));
    expect(json[0]).toMatchObject({ context: 0, name: 'root server' });
    expect(json.find((r: { name: string }) => r.name === 'cpu').userSec).toBeGreaterThan(1);
  });

  it('ps marks every process with its context: MAIN for the host, the guest for its own', async () => {
    const text = await t.ok(['ps', '-ef']);
    const [header, ...lines] = text.trimEnd().split('\n');
    expect(header).toMatch(/^UID +PID CONTEXT +PPID/);
    const at = (pid: number) => lines.find((l) => l.trim().split(/\s+/)[1] === String(pid));
    expect(at(process.pid)).toMatch(new RegExp(`^\\S+ +${process.pid} 0 MAIN `));
    expect(at(await t.pid('pin'))).toMatch(new RegExp(` ${ctx.pin} pin .*init$`));
    const sleeps = lines.filter((l) => /sleep 77[78]$/.test(l));
    expect(sleeps).toHaveLength(2);
    for (const l of sleeps) expect(l).toMatch(new RegExp(` ${ctx.pin} pin `));
    // one guest only, with ps options of one's own
    const own = (await t.ok(['ps', 'pin', '-o', 'pid,args'])).trimEnd().split('\n');
    expect(own[0]).toMatch(/PID CONTEXT +COMMAND/);
    expect(own.slice(1).length).toBe(cg.pids(t.paths.cgroupName('pin')).length);
    for (const l of own.slice(1)) expect(l).toMatch(new RegExp(`^ *\\d+ ${ctx.pin} pin `));
    // BSD options, as with vps aux
    expect(await t.ok(['ps', 'aux'])).toMatch(/^USER +PID CONTEXT +%CPU/);
    const json = JSON.parse(await t.ok(['ps', '-e', '--json']));
    expect(json.find((p: { pid: number }) => p.pid === process.pid)).toMatchObject({ context: 0, name: 'MAIN' });
    expect((await t.cli(['ps', 'mem', '-o', 'comm'])).stderr).toMatch(/no PID column/);
  });

  it('top without a terminal prints one table of every running guest, network counters included', async () => {
    // a link between two guests' own namespaces (made by the test, gone with the guests), and traffic over it
    const pin = await t.pid('pin');
    const mem = await t.pid('mem');
    execFileSync('nsenter', [
      `--net=/proc/${pin}/ns/net`,
      'ip',
      'link',
      'add',
      'va',
      'type',
      'veth',
      'peer',
      'name',
      'vb',
      'netns',
      String(mem),
    ]);
    execFileSync('nsenter', [`--net=/proc/${pin}/ns/net`, 'sh', '-c', 'ip addr add 10.255.77.1/24 dev va && ip link set va up']);
    execFileSync('nsenter', [`--net=/proc/${mem}/ns/net`, 'sh', '-c', 'ip addr add 10.255.77.2/24 dev vb && ip link set vb up']);
    await t.ok(['exec', 'mem', '--', 'sh', '-c', 'head -c 1000000 /dev/zero > /www/blob && httpd -p 8080 -h /www']);
    await t.ok([
      'exec',
      'pin',
      '--',
      'sh',
      '-c',
      '(i=0; while [ $i -lt 12 ]; do wget -q -O /dev/null http://10.255.77.2:8080/blob; sleep 0.3; i=$((i+1)); done) </dev/null >/dev/null 2>&1 &',
    ]);
    await sleep(300);
    const text = await t.ok(['top']);
    const [header, ...lines] = text.trimEnd().split('\n');
    expect(header!.trim().split(/\s+/)).toEqual(['CTX', 'NAME', 'CPU%', 'MEM', 'LIMIT', 'PIDS', 'READ/s', 'WRITE/s', 'RX/s', 'TX/s']);
    const rows = new Map(
      lines.map((l) => {
        const f = l.trim().split(/\s+/);
        return [f[1]!, { ctx: Number(f[0]), cpu: Number(f[2]), mem: f[3], limit: f[4], pids: Number(f[5]), rx: f[8], tx: f[9] }];
      }),
    );
    expect([...rows.keys()].sort()).toEqual(['cpu', 'mem', 'pids', 'pin']);
    // sorted by CPU: the busy guest first, near its half core
    expect(lines[0]).toMatch(/^\s*\d+ cpu /);
    expect(rows.get('cpu')!.cpu).toBeGreaterThan(25);
    expect(rows.get('cpu')!.cpu).toBeLessThan(65);
    expect(rows.get('mem')).toMatchObject({ ctx: ctx.mem, limit: '256.0M' });
    expect(rows.get('pids')!.pids).toBe(cg.usage(t.paths.cgroupName('pids'))!.tasks);
    const bytes = (s: string | undefined) => Number(s!.slice(0, -1)) * 1024 ** (1 + 'KMGT'.indexOf(s!.slice(-1)));
    expect(bytes(rows.get('pin')!.rx)).toBeGreaterThan(100_000);
    expect(bytes(rows.get('mem')!.tx)).toBeGreaterThan(100_000);
    const json = JSON.parse(await t.ok(['top', '--sort', 'name', '--json']));
    expect(json.map((r: { name: string }) => r.name)).toEqual(['cpu', 'mem', 'pids', 'pin']);
    expect(json.find((r: { name: string }) => r.name === 'pids').memoryMax).toBe('max');
  });

  it("with lxcfs, /proc inside shows the guest's own memory limit, uptime and CPUs", async () => {
    // ours, started by the first start, unless the host's lxcfs service runs (then that one is used)
    if (!isLxcfsMount(SYSTEM_LXCFS)) {
      expect(isLxcfsMount(t.paths.lxcfsDir)).toBe(true);
      expect(readFileSync(t.paths.lxcfsPidfile, 'utf8')).toMatch(/^\d+/);
    }
    expect(await t.ok(['exec', 'mem', '--', 'grep', 'MemTotal', '/proc/meminfo'])).toMatch(/^MemTotal:\s+262144 kB$/m);
    // procps free, as a Debian guest has it, reads /proc/meminfo (busybox free asks the kernel directly)
    installHostProgram(t.paths.rootfs('mem'), '/usr/bin/free', '/opt/procps/free');
    const free = (await t.ok(['exec', 'mem', '--', '/opt/procps/free', '-k'])).split('\n').find((l) => l.startsWith('Mem:'))!;
    expect(free.trim().split(/\s+/)[1]).toBe('262144');
    const top = (await t.ok(['exec', 'mem', '--', 'top', '-bn1'])).split('\n')[0]!;
    const [used, free2] = [...top.matchAll(/(\d+)K (used|free)/g)].map((m) => Number(m[1]));
    expect(used! + free2!).toBe(262144);
    const guestUp = Number((await t.ok(['exec', 'pin', '--', 'cat', '/proc/uptime'])).split(' ')[0]);
    expect(guestUp).toBeLessThan(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) - 1);
    expect((await t.ok(['exec', 'pin', '--', 'grep', '-c', '^processor', '/proc/cpuinfo'])).trim()).toBe('1');
    expect(await t.ok(['status', 'mem'])).toMatch(/\/proc +lxcfs: free, uptime, top and \/proc\/cpuinfo inside show the guest's own/);
  });

  it('without lxcfs, the guest sees host values and status says so', async () => {
    writeFileSync(t.paths.hostConfig, 'lxcfs = "off"\n');
    try {
      await t.ok(['restart', 'pids', '--timeout', '1']);
      const host = /^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1];
      expect(await t.ok(['exec', 'pids', '--', 'grep', 'MemTotal', '/proc/meminfo'])).toMatch(new RegExp(`MemTotal:\\s+${host} kB`));
      expect(await t.ok(['status', 'pids'])).toMatch(
        /\/proc +host values: free, uptime, top and \/proc\/cpuinfo inside show the host's figures; lxcfs is off/,
      );
    } finally {
      writeFileSync(t.paths.hostConfig, '');
    }
  });

  it('stops every guest and leaves nothing behind; the lxcfs it started goes on cleanup', async () => {
    await Promise.all(['mem', 'pids', 'cpu', 'pin'].map((g) => t.ok(['stop', g, '--timeout', '1'])));
    expect(await t.leaks()).toEqual([]);
    const pid = existsSync(t.paths.lxcfsPidfile) ? Number(readFileSync(t.paths.lxcfsPidfile, 'utf8')) : 0;
    await t.stopLxcfs();
    expect(isLxcfsMount(t.paths.lxcfsDir)).toBe(false);
    expect(pid > 0 && existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'lxcfs').toBe(false);
  });
});
