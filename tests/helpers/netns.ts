// Network namespaces a test makes to play the host (and the networks around it), so that no
// traffic of a test ever leaves them; and small clients that run inside them.
import { spawn, type ChildProcess } from 'node:child_process';
import { run, runOk } from '../../src/util/proc.js';
import type { TestRoot } from './host.js';

export class TestNetns {
  readonly name: string;

  constructor(tag: string) {
    this.name = `vst-${tag}-${process.pid}`;
  }

  get path(): string {
    return `/run/netns/${this.name}`;
  }

  async create(): Promise<void> {
    await runOk('ip', ['netns', 'add', this.name]);
    await this.ip('link', 'set', 'dev', 'lo', 'up');
  }

  /** Removes the namespace and every device in it; safe to call twice. */
  async remove(): Promise<void> {
    await run('ip', ['netns', 'del', this.name]);
  }

  /** Runs a program inside the namespace. */
  exec(file: string, args: string[], timeoutMs = 20_000): ReturnType<typeof run> {
    return run('nsenter', [`--net=${this.path}`, '--', file, ...args], { timeoutMs });
  }

  async ip(...args: string[]): Promise<string> {
    return (await runOk('ip', ['-n', this.name, ...args])).stdout;
  }

  /** Link names, without the '@peer' suffix. */
  async links(): Promise<string[]> {
    const list = JSON.parse((await this.ip('-json', 'link', 'show')) || '[]') as { ifname: string }[];
    return list.map((l) => l.ifname).sort();
  }

  async link(name: string): Promise<{ ifname: string; flags: string[]; addr_info: { local: string; prefixlen: number }[] } | undefined> {
    const list = JSON.parse((await this.ip('-json', 'address', 'show')) || '[]') as {
      ifname: string;
      flags: string[];
      addr_info: { local: string; prefixlen: number }[];
    }[];
    return list.find((l) => l.ifname === name);
  }

  /** nftables tables in the namespace, as "family name". */
  async nftTables(): Promise<string[]> {
    const r = await this.exec('nft', ['-j', 'list', 'tables']);
    const items = (JSON.parse(r.stdout || '{"nftables":[]}') as { nftables: { table?: { family: string; name: string } }[] }).nftables;
    return items.filter((i) => i.table).map((i) => `${i.table!.family} ${i.table!.name}`);
  }

  /** A veth pair with `name` here and `peer` in `other`, both up, with the given addresses. */
  async vethTo(other: TestNetns, name: string, peer: string, addr?: string, peerAddr?: string): Promise<void> {
    await this.ip('link', 'add', 'name', name, 'type', 'veth', 'peer', 'name', peer, 'netns', other.name);
    if (addr) await this.ip('address', 'add', addr, 'dev', name);
    if (peerAddr) await other.ip('address', 'add', peerAddr, 'dev', peer);
    await this.ip('link', 'set', 'dev', name, 'up');
    await other.ip('link', 'set', 'dev', peer, 'up');
  }

  /**
   * An HTTP server inside the namespace that answers every request with `reply` followed by the
   * client's address as it arrives (to see NAT at work). Resolves once it listens.
   */
  serve(port: number, reply: string): Promise<ChildProcess> {
    const code = `require('http').createServer((q, s) => s.end(process.argv[2] + ' ' + q.socket.remoteAddress.replace(/^::ffff:/, '')))
      .listen(Number(process.argv[1]), '::', () => console.log('ready'));`;
    const child = spawn('nsenter', [`--net=${this.path}`, '--', process.execPath, '-e', code, String(port), reply], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('test server did not start')), 10_000);
      child.stdout!.once('data', () => {
        clearTimeout(timer);
        resolve(child);
      });
      child.once('exit', (c) => reject(new Error(`test server exited ${c}`)));
    });
  }

  /** GET url from inside the namespace: the body, or an Error with the reason. Bounded to a few seconds. */
  async get(url: string): Promise<string | Error> {
    const code = `const r = require('http').get(process.argv[1], { timeout: 3000 }, (res) => { let b = ''; res.on('data', (d) => (b += d));
      res.on('end', () => process.stdout.write(b)); });
      r.on('timeout', () => r.destroy(new Error('timed out'))); r.on('error', (e) => { process.stderr.write(e.message); process.exitCode = 1; });`;
    const r = await this.exec(process.execPath, ['-e', code, url], 10_000);
    return r.code === 0 ? r.stdout : new Error(r.stderr.trim() || `exit ${r.code}`);
  }
}

/** Whether the kernel can make devices of this kind (this one may lack ipvlan, for example). */
export async function kernelHas(kind: string): Promise<boolean> {
  const ns = new TestNetns(`probe-${kind}`);
  await ns.create();
  try {
    await ns.ip('link', 'add', 'name', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
    const r = await run('ip', ['-n', ns.name, 'link', 'add', 'link', 'p0', 'name', 'x0', 'type', kind]);
    return r.code === 0;
  } finally {
    await ns.remove();
  }
}

/** Removes what a network test made, guests first (they hold devices in the namespaces); for afterAll. */
export async function cleanUpNetworkTest(t: TestRoot, namespaces: TestNetns[], servers: (ChildProcess | undefined)[] = []): Promise<void> {
  for (const s of servers) s?.kill();
  try {
    await t.cleanup();
  } finally {
    for (const n of namespaces) await n.remove();
  }
}
