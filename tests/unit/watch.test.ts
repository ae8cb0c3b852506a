import { describe, expect, it } from 'vitest';
import { statTable } from '../../src/cli/stat.js';
import { topLines } from '../../src/cli/top.js';
import { isLxcfsMount, lxcfsMounts } from '../../src/resources/lxcfs.js';
import { parseMountinfo } from '../../src/util/mounts.js';
import { parseNetDev, parseProcStat, type ProcSample } from '../../src/resources/procs.js';
import { addContextColumn, HOST_OWNER, type Owner } from '../../src/resources/ps.js';
import { statRows } from '../../src/resources/stat.js';
import { sortTopRows, topRows, type TopSample } from '../../src/resources/top.js';
import { VsError } from '../../src/util/errors.js';

const PS_EF = `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:27 ?        00:00:02 /sbin/init
root         812       1  0 10:30 ?        00:00:00 /usr/sbin/sshd -D
root       26936   26920  0 11:15 ?        00:00:00 init
averyverylongname 26950   26936  0 11:15 ?        00:00:00 sleep 300
`;

const owners = new Map<number, Owner>([
  [26936, { context: 100, name: 'web1' }],
  [26950, { context: 100, name: 'web1' }],
]);
const owner = (pid: number) => owners.get(pid) ?? HOST_OWNER;

describe('ps with a CONTEXT column', () => {
  it('puts the context and guest right after PID, MAIN for the host', () => {
    const t = addContextColumn(PS_EF, owner);
    expect(t.header).toBe('UID          PID CONTEXT     PPID  C STIME TTY          TIME CMD');
    expect(t.rows.map((r) => r.line)).toEqual([
      'root           1 0 MAIN         0  0 10:27 ?        00:00:02 /sbin/init',
      'root         812 0 MAIN         1  0 10:30 ?        00:00:00 /usr/sbin/sshd -D',
      'root       26936 100 web1   26920  0 11:15 ?        00:00:00 init',
      // a wide user name shifts the line; the PID is then found by its field
      'averyverylongname 26950 100 web1   26936  0 11:15 ?        00:00:00 sleep 300',
    ]);
    expect(t.rows[3]).toMatchObject({
      pid: 26950,
      context: 100,
      name: 'web1',
      fields: { UID: 'averyverylongname', PID: '26950', CMD: 'sleep 300' },
    });
  });

  it('works with BSD-style output and with PID as the first column', () => {
    const aux =
      'USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\nroot       26936  0.0  0.0   2228  1332 ?        Ss   11:15   0:00 init\n';
    expect(addContextColumn(aux, owner).rows[0]!.line).toBe(
      'root       26936 100 web1  0.0  0.0   2228  1332 ?        Ss   11:15   0:00 init',
    );
    const first = '  PID COMMAND\n    1 init\n26936 init\n';
    const t = addContextColumn(first, owner);
    expect(t.header).toBe('  PID CONTEXT  COMMAND');
    expect(t.rows.map((r) => r.line)).toEqual(['    1 0 MAIN   init', '26936 100 web1 init']);
  });

  it('refuses output without a PID column', () => {
    expect(() => addContextColumn('COMMAND\ninit\n', owner)).toThrow(VsError);
    expect(() => addContextColumn('  PPID CMD\n 1 x\n', owner)).toThrow(/no PID column/);
  });
});

const STAT_LINE =
  '26936 (my (odd) name) S 26920 26936 26936 0 -1 4194560 100 0 0 0 150 75 0 0 20 0 1 0 500000 2322432 340 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0';

describe('/proc parsing', () => {
  it('reads times, sizes and start from a stat line whose name has spaces and parentheses', () => {
    expect(parseProcStat(26936, STAT_LINE, 4096)).toEqual({
      pid: 26936,
      utime: 150,
      stime: 75,
      start: 500000,
      vsize: 2322432,
      rss: 340 * 4096,
    });
  });

  it('counts network bytes of every interface but loopback', () => {
    const dev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  999999     100    0    0    0     0          0         0   999999     100    0    0    0     0       0          0
  eth0: 1000         10    0    0    0     0          0         0     2000      20    0    0    0     0       0          0
  eth1:   50          1    0    0    0     0          0         0       70       1    0    0    0     0       0          0
`;
    expect(parseNetDev(dev)).toEqual({ rx: 1050, tx: 2070 });
  });
});

const proc = (pid: number, utime: number, stime: number, vsize: number, rss: number, start = 0): ProcSample => ({
  pid,
  utime,
  stime,
  vsize,
  rss,
  start,
});

describe('vserver stat', () => {
  const procs = new Map([
    [1, proc(1, 100, 50, 10 * 2 ** 20, 2 ** 20)],
    [2, proc(2, 0, 0, 0, 0)],
    [500, proc(500, 10, 20, 2 * 2 ** 20, 512 * 1024, 360_000)],
    [501, proc(501, 5, 5, 3 * 2 ** 20, 512 * 1024, 360_100)],
  ]);
  const usage = {
    cpuUsec: 4_500_000,
    userUsec: 3_250_000,
    systemUsec: 1_250_000,
    memoryBytes: 0,
    memoryMax: Infinity,
    tasks: 2,
    ioReadBytes: 0,
    ioWriteBytes: 0,
  };
  const rows = statRows([{ name: 'web1', context: 100, pids: [500, 501], usage, initStart: 360_000 }], procs, 3700);

  it('has the host as context 0 with every process no guest owns, then each guest', () => {
    expect(rows).toEqual([
      { context: 0, name: 'root server', processes: 2, vsz: 10 * 2 ** 20, rss: 2 ** 20, userSec: 1, sysSec: 0.5, uptimeSec: 3700 },
      { context: 100, name: 'web1', processes: 2, vsz: 5 * 2 ** 20, rss: 2 ** 20, userSec: 3.25, sysSec: 1.25, uptimeSec: 100 },
    ]);
  });

  it("prints util-vserver's columns and formats", () => {
    expect(statTable(rows)).toBe(
      [
        'CTX   PROC    VSZ    RSS  userTIME   sysTIME    UPTIME NAME',
        '0        2  10.0M   1.0M   0m01s00   0m00s50   1h01m40 root server',
        '100      2   5.0M   1.0M   0m03s25   0m01s25   1m40s00 web1',
        '',
      ].join('\n'),
    );
  });
});

describe('vserver top', () => {
  const g = (name: string, context: number, cpuUsec: number, memory: number, net?: number) => ({
    name,
    context,
    cpuUsec,
    memory,
    memoryMax: 64 * 2 ** 20,
    tasks: 3,
    ioRead: cpuUsec,
    ioWrite: 0,
    netRx: net,
    netTx: net,
  });
  const a: TopSample = { at: 1000, guests: [g('web1', 100, 0, 100, 0), g('db', 101, 0, 500, 0)] };
  const b: TopSample = { at: 3000, guests: [g('web1', 100, 1_000_000, 100, 4096), g('db', 101, 200_000, 500, 0), g('new', 102, 50, 1)] };

  it('turns two samples into CPU percent of one core and rates per second', () => {
    const rows = topRows(a, b);
    expect(rows.find((r) => r.name === 'web1')).toMatchObject({ cpuPct: 50, ioRead: 500_000, netRx: 2048, netTx: 2048 });
    expect(rows.find((r) => r.name === 'db')?.cpuPct).toBe(10);
    // a guest seen for the first time has no rates yet, and no network counters of its own here
    expect(rows.find((r) => r.name === 'new')).toMatchObject({ cpuPct: 0, ioRead: 0, netRx: undefined });
  });

  it('sorts by any column, figures largest first, names in order, and reversed', () => {
    const rows = topRows(a, b);
    expect(sortTopRows(rows, 'cpu').map((r) => r.name)).toEqual(['web1', 'db', 'new']);
    expect(sortTopRows(rows, 'mem').map((r) => r.name)).toEqual(['db', 'web1', 'new']);
    expect(sortTopRows(rows, 'name').map((r) => r.name)).toEqual(['db', 'new', 'web1']);
    expect(sortTopRows(rows, 'ctx', true).map((r) => r.name)).toEqual(['new', 'db', 'web1']);
  });

  it('prints a table with - for what does not apply', () => {
    const lines = topLines(sortTopRows(topRows(a, b), 'cpu'));
    expect(lines[0]).toBe('  CTX NAME    CPU%     MEM   LIMIT  PIDS  READ/s WRITE/s    RX/s    TX/s');
    expect(lines[1]).toBe('  100 web1    50.0    0.0K   64.0M     3  488.2K    0.0K    2.0K    2.0K');
    expect(lines[3]).toMatch(/^ {2}102 new +0\.0 .* - +-$/);
  });
});

describe('lxcfs', () => {
  const INFO = `25 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
90 25 0:50 / /var/lib/lxcfs rw,nosuid,nodev,relatime shared:50 - fuse.lxcfs lxcfs rw,user_id=0,group_id=0,allow_other
91 25 0:51 / /tmp/with\\040space rw - tmpfs tmpfs rw
`;
  it('finds lxcfs mounts in a mount table, with escaped names', () => {
    expect(parseMountinfo(INFO).map((m) => m.mountPoint)).toEqual(['/', '/var/lib/lxcfs', '/tmp/with space']);
    expect(isLxcfsMount('/var/lib/lxcfs', parseMountinfo(INFO))).toBe(true);
    expect(isLxcfsMount('/tmp/with space', parseMountinfo(INFO))).toBe(false);
  });

  it('binds the /proc files lxcfs provides, read-only, and the CPU directory when it has one', () => {
    const have = new Set(['/l/proc/meminfo', '/l/proc/uptime', '/l/proc/cpuinfo', '/l/sys/devices/system/cpu/online']);
    const m = lxcfsMounts('/l', (p) => have.has(p));
    expect(m.map((x) => [x.source, x.destination])).toEqual([
      ['/l/proc/cpuinfo', '/proc/cpuinfo'],
      ['/l/proc/meminfo', '/proc/meminfo'],
      ['/l/proc/uptime', '/proc/uptime'],
      ['/l/sys/devices/system/cpu', '/sys/devices/system/cpu'],
    ]);
    for (const x of m) expect(x.options).toContain('ro');
    expect(lxcfsMounts('/l', () => false)).toEqual([]);
  });
});
