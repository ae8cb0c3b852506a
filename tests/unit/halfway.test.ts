// Changes of the host that fail half way, seen through the program seam: every program the engine
// starts is answered by a model of the host, which fails the change the test picks. Whatever the
// order of the steps, what the start made before the failure must be gone afterwards.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.js';
import { teardown } from '../../src/engine/teardown.js';
import { VsError } from '../../src/util/errors.js';
import { fakeHostFacts, FakeCgroups, FakeLxcfs, FakeRuntime } from '../helpers/fake-runtime.js';
import { type Answer, type Call, Programs } from '../helpers/programs.js';
import { compress, miniRootTar } from '../helpers/trees.js';

interface Link {
  name: string;
  kind?: string;
  alias?: string;
  master?: string;
  up: boolean;
  addrs: string[];
}

/** The host's links and nftables tables as ip and nft would change them; the n-th change fails. */
class HostModel {
  links = new Map<string, Link>([
    ['lo', { name: 'lo', up: true, addrs: ['127.0.0.1/8'] }],
    ['eth0', { name: 'eth0', up: true, addrs: ['192.0.2.10/24'] }],
  ]);
  tables = new Set<string>();
  /** Changes tried so far; the one numbered failAt fails. */
  changes = 0;
  failAt = Number.POSITIVE_INFINITY;
  failedLine?: string;
  unexpected: string[] = [];

  snapshot(): string {
    return JSON.stringify({ links: [...this.links.values()], tables: [...this.tables] });
  }

  private change(line: string): Error | undefined {
    if (++this.changes !== this.failAt) return undefined;
    this.failedLine = line;
    return new Error('Operation not permitted');
  }

  /** One line of an ip batch: its JSON answer, nothing, or the error that stops the batch. */
  ip(line: string): string | Error {
    const words = line.trim().split(/\s+/);
    const dev = (i: number) => this.links.get(words[i]!);
    if (line === 'address show') return `${this.json()}\n`;
    // the fast path of a bridged start: only the bridges, and the host's local addresses
    if (line === 'address show type bridge') return `${this.json('bridge')}\n`;
    if (line === 'route show table all type local') {
      const local = [...this.links.values()].flatMap((l) => l.addrs.map((a) => ({ type: 'local', dst: a.split('/')[0], dev: l.name })));
      return `${JSON.stringify(local)}\n`;
    }
    if (/^link show dev \S+$/.test(line))
      return dev(3) ? `[{"ifname":"${words[3]}"}]\n` : new Error(`Device "${words[3]}" does not exist.`);
    let m = /^link add name (\S+) type bridge$/.exec(line);
    if (m) {
      if (this.links.has(m[1]!)) return new Error('File exists');
      const failed = this.change(line);
      if (failed) return failed;
      this.links.set(m[1]!, { name: m[1]!, kind: 'bridge', up: false, addrs: [] });
      return '';
    }
    m = /^link set dev (\S+) (.*)$/.exec(line);
    if (m) {
      const l = this.links.get(m[1]!);
      if (!l) return new Error(`Device "${m[1]}" does not exist.`);
      const failed = this.change(line);
      if (failed) return failed;
      const opts = m[2]!.split(' ');
      for (let i = 0; i < opts.length; i++) {
        if (opts[i] === 'up') l.up = true;
        else if (opts[i] === 'down') l.up = false;
        else if (opts[i] === 'alias') l.alias = opts[++i];
        else if (opts[i] === 'master') l.master = opts[++i];
        else this.unexpected.push(line);
      }
      return '';
    }
    m = /^address add (\S+) dev (\S+)/.exec(line);
    if (m) {
      const l = this.links.get(m[2]!);
      if (!l) return new Error(`Device "${m[2]}" does not exist.`);
      const failed = this.change(line);
      if (failed) return failed;
      l.addrs.push(m[1]!);
      return '';
    }
    m = /^link del dev (\S+)$/.exec(line);
    if (m) {
      if (!this.links.delete(m[1]!)) return new Error('Cannot find device');
      for (const l of this.links.values()) if (l.master === m[1]) delete l.master;
      return '';
    }
    this.unexpected.push(line);
    return new Error('unknown line');
  }

  private json(kind?: string): string {
    return JSON.stringify(
      [...this.links.values()]
        .filter((l) => kind === undefined || l.kind === kind)
        .map((l) => ({
          ifname: l.name,
          ifalias: l.alias,
          master: l.master,
          flags: l.up ? ['UP'] : [],
          mtu: 1500,
          linkinfo: l.kind ? { info_kind: l.kind } : undefined,
          addr_info: l.addrs.map((a) => ({ family: 'inet', local: a.split('/')[0], prefixlen: Number(a.split('/')[1]), scope: 'global' })),
        })),
    );
  }

  /** An nft script, applied whole or not at all, as nft -f does. */
  nft(script: string): { code: number; stderr?: string } {
    const tables = new Set(this.tables);
    for (const line of script.split('\n')) {
      const m = /^(add table|delete table|table) inet (\S+)/.exec(line);
      if (!m) continue;
      if (m[1] === 'delete table') tables.delete(m[2]!);
      else tables.add(m[2]!);
    }
    const made = [...tables].some((t) => !this.tables.has(t));
    if (made && this.change(script.split('\n').find((l) => l.startsWith('table')) ?? script)) {
      return { code: 1, stderr: 'Error: Could not process rule: Operation not permitted\n' };
    }
    this.tables = tables;
    return { code: 0 };
  }

  /** How the host answers each program the engine starts. */
  answer = (call: Call): Answer => {
    const argv = [call.file, ...call.args];
    const ip = argv.indexOf('ip');
    if (ip >= 0 && argv.includes('-batch')) {
      const force = argv.includes('-force');
      if (argv.at(-1) === '-' && !force && argv[0] === 'ip') return { lines: (line) => this.ip(line) };
      return {
        reply: (input) => {
          const errors: string[] = [];
          for (const [n, line] of input
            .split('\n')
            .filter((l) => l !== '')
            .entries()) {
            const r = this.ip(line);
            if (r instanceof Error) {
              errors.push(`Error: ${r.message}\nCommand failed -:${n + 1}`);
              if (!force) break;
            }
          }
          return errors.length > 0 ? { code: 1, stderr: `${errors.join('\n')}\n` } : {};
        },
      };
    }
    if (argv.join(' ') === 'ip -json -details address show') return { stdout: this.json() };
    if (argv.join(' ') === 'nft -f -') return { reply: (input) => this.nft(input) };
    if (argv.join(' ') === 'nft -j list tables') {
      return { stdout: JSON.stringify({ nftables: [...this.tables].map((name) => ({ table: { family: 'inet', name } })) }) };
    }
    this.unexpected.push(argv.join(' '));
    return { code: 127, stderr: `${call.file}: not expected here\n` };
  };
}

let root: string;
let programs: Programs | undefined;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vse-halfway-'));
  chmodSync(root, 0o755);
});
afterEach(() => {
  programs?.dispose();
  programs = undefined;
  rmSync(root, { recursive: true, force: true });
});

/** An engine over a fresh installation under dir, with one guest of the given interfaces. */
function engineWith(dir: string, interfaces: string): Engine {
  mkdirSync(join(dir, 'etc/vserver/guests'), { recursive: true });
  writeFileSync(join(dir, 'etc/vserver/guests/g1.toml'), `context = 100\ninit = "cmd"\ncmd = ["/bin/sh"]\n${interfaces}`);
  mkdirSync(join(dir, 'var/lib/vserver/guests/g1/rootfs'), { recursive: true });
  return new Engine(dir, { runtime: new FakeRuntime(), cgroups: new FakeCgroups(), hostFacts: fakeHostFacts, lxcfs: new FakeLxcfs() });
}

async function failure(p: Promise<unknown>): Promise<VsError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof VsError) return e;
    throw e;
  }
  throw new Error('expected a failure');
}

describe('a network set-up that fails half way', () => {
  it('fails at each change in turn, and the undo removes exactly what was made', async () => {
    const host = new HostModel();
    programs = new Programs(host.answer);
    const initial = host.snapshot();
    let k = 1;
    for (; k < 50; k++) {
      const dir = join(root, `k${k}`);
      mkdirSync(dir, { mode: 0o755 });
      const engine = engineWith(dir, '[[interfaces]]\nmode = "bridge"\n');
      host.changes = 0;
      host.failAt = k;
      host.failedLine = undefined;
      try {
        await engine.start('g1');
      } catch (e) {
        expect(host.failedLine, `start failed at change ${k} without the host failing it: ${e}`).toBeDefined();
        expect((e as Error).message).toContain(host.failedLine!);
        expect((e as VsError).code).toBe('NETWORK_FAILED');
        expect(host.snapshot(), `after a failure at '${host.failedLine}'`).toBe(initial);
        expect(existsSync(join(dir, 'run/vserver/net/g1.json'))).toBe(false);
        continue;
      }
      // every change succeeded: the bridge is up, and the teardown after the guest's run takes it all down again
      expect(host.failedLine).toBeUndefined();
      expect([...host.links.values()].find((l) => l.kind === 'bridge')).toMatchObject({ up: true, addrs: [expect.any(String)] });
      expect(await teardown(engine.deps, 'g1')).toEqual([]);
      expect(host.snapshot()).toBe(initial);
      break;
    }
    // the bridge's creation, its alias, address and link up: each was failed once
    expect(k - 1).toBeGreaterThanOrEqual(4);
    expect(host.unexpected).toEqual([]);
  }, 120_000);

  it("takes the bridge down again when nftables refuses the guest's table", async () => {
    const host = new HostModel();
    programs = new Programs(host.answer);
    const initial = host.snapshot();
    const engine = engineWith(root, '[[interfaces]]\nmode = "bridge"\nnat = true\n');
    let made = 0;
    const nft = host.nft.bind(host);
    // let every ip change through and fail the nft transaction that makes the guest's table
    host.nft = (script) => {
      if (!script.includes('{')) return nft(script);
      made++;
      return { code: 1, stderr: 'Error: Could not process rule: No such file or directory\n' };
    };
    const e = await failure(engine.start('g1'));
    expect(e.message).toMatch(/nftables refused the rules: Error: Could not process rule/);
    expect(made).toBe(1);
    expect(host.snapshot()).toBe(initial);
    expect(host.unexpected).toEqual([]);
  }, 30_000);

  it('reports what the undo itself could not remove', async () => {
    const host = new HostModel();
    programs = new Programs(host.answer);
    const engine = engineWith(root, '[[interfaces]]\nmode = "bridge"\n');
    host.failAt = 3; // the bridge exists with its alias when the third change fails
    const ip = host.ip.bind(host);
    host.ip = (line) => (line.startsWith('link del') ? new Error('Device or resource busy') : ip(line));
    const e = await failure(engine.start('g1'));
    expect(e.message).toMatch(/cleaning up failed: .*bridge vsbr\S*: 'link del dev \S+' failed: Device or resource busy/);
  }, 30_000);
});

describe('tar failing mid-stream', () => {
  it('leaves no half tree, no config and no runtime state, and says what failed', async () => {
    const archive = join(root, 'root.tar.gz');
    writeFileSync(archive, compress(miniRootTar(), 'gzip'));
    const engine = new Engine(root, {
      runtime: new FakeRuntime(),
      cgroups: new FakeCgroups(),
      hostFacts: fakeHostFacts,
      lxcfs: new FakeLxcfs(),
    });
    // tar writes part of the tree, reads some of its input, then dies as on a read error
    const halfTar = [
      'sh',
      [
        '-c',
        'mkdir -p "$1/etc" && echo half > "$1/etc/half" && head -c 1024 >/dev/null; echo "tar: Unexpected EOF in archive" >&2; exit 2',
        'sh',
      ],
    ] as const;
    programs = new Programs((call) => {
      const argv = [call.file, ...call.args];
      const tar = argv.indexOf('tar');
      if (tar >= 0 && argv.includes('-x')) return { real: [halfTar[0], [...halfTar[1], argv[argv.indexOf('-C') + 1]!]] };
      return { real: [call.file, call.args] };
    });
    const e = await failure(engine.build('g2', { source: { kind: 'tarball', file: archive } }));
    expect(e.message).toMatch(/tarball .*root\.tar\.gz.*Unexpected EOF in archive/);
    expect(programs.argv().some((a) => /tar -C \S+ -x/.test(a))).toBe(true);
    expect(existsSync(join(root, 'var/lib/vserver/guests/g2'))).toBe(false);
    expect(existsSync(join(root, 'etc/vserver/guests/g2.toml'))).toBe(false);
    const guests = join(root, 'var/lib/vserver/guests');
    expect(existsSync(guests) ? readdirSync(guests) : []).toEqual([]);
    // the control: the same build with the real tar makes the guest
    programs.dispose();
    programs = undefined;
    await engine.build('g2', { source: { kind: 'tarball', file: archive } });
    expect(existsSync(join(root, 'var/lib/vserver/guests/g2/rootfs/etc'))).toBe(true);
  }, 60_000);
});

describe('debootstrap failing half way', () => {
  it.skipIf(!existsSync('/usr/sbin/debootstrap'))(
    'leaves no half tree and says what debootstrap said',
    async () => {
      const engine = new Engine(root, {
        runtime: new FakeRuntime(),
        cgroups: new FakeCgroups(),
        hostFacts: fakeHostFacts,
        lxcfs: new FakeLxcfs(),
      });
      // debootstrap unpacks part of the system, then a download fails
      const half = 'mkdir -p "$1/etc" "$1/usr/bin" && echo half > "$1/etc/half"; echo "E: Couldn\'t download packages: libc6" >&2; exit 1';
      programs = new Programs((call) => {
        const argv = [call.file, ...call.args];
        if (argv.includes('/usr/sbin/debootstrap')) return { real: ['sh', ['-c', half, 'sh', argv.at(-2)!]] };
        return { real: [call.file, call.args] };
      });
      const e = await failure(
        engine.build('d1', { source: { kind: 'debootstrap', suite: 'bookworm', mirror: 'http://192.0.2.1/debian' } }),
      );
      expect(e.code).toBe('BUILD_FAILED');
      expect(e.message).toMatch(/Couldn't download packages: libc6/);
      // what was asked of it: the suite into a fresh directory, with debootstrap's progress protocol
      expect(programs.argv().find((a) => a.includes('/usr/sbin/debootstrap'))).toMatch(
        /--debian-installer .* bookworm \S+ http:\/\/192\.0\.2\.1\/debian$/,
      );
      const guests = join(root, 'var/lib/vserver/guests');
      expect(existsSync(guests) ? readdirSync(guests) : []).toEqual([]);
      expect(existsSync(join(root, 'etc/vserver/guests/d1.toml'))).toBe(false);
    },
    60_000,
  );
});
