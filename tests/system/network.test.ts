// Bridged guests inside a network namespace that plays the host: addresses, reachability, port
// forwards, NAT, the host's /etc files, refused input, and teardown that leaves nothing behind.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';
import { cleanUpNetworkTest, TestNetns } from '../helpers/netns.js';
import { guestGet, httpGuest, until } from '../helpers/guests.js';

const execFileAsync = promisify(execFile);

describe.skipIf(!IS_ROOT)('bridged guests', () => {
  const host = new TestNetns('br');
  const outside = new TestNetns('brout');
  const t = new TestRoot('br', { netns: host.name });
  let server: ChildProcess | undefined;
  const addr: Record<string, string> = {};
  const localnet = async () => (await host.exec('cat', ['/proc/sys/net/ipv4/conf/vsbr0/route_localnet'])).stdout.trim();

  beforeAll(async () => {
    await host.create();
    await outside.create();
    // an address of the host's own for the port forward, and a network beyond it for NAT
    await host.ip('address', 'add', '192.0.2.1/32', 'dev', 'lo');
    await host.vethTo(outside, 'up0', 'up0', '203.0.113.1/24', '203.0.113.2/24');
    server = await outside.serve(9000, 'outside');
    mkdirSync(t.paths.etc, { recursive: true });
    writeFileSync(t.paths.hostConfig, '[network]\npool6 = "fd47:1::/64"\n');
    // web2 serves 8080 too: a request to it there must reach web2, not web1's forward of 8080
    await httpGuest(t, 'web1');
    await httpGuest(t, 'web2', [80, 8080]);
    // the outside network can answer 10.47/16, so that a guest without NAT is seen by its own address
    await outside.ip('route', 'add', '10.47.0.0/16', 'via', '203.0.113.1');
    await t.ok(['config', 'web1', 'interfaces', '[{mode="bridge", address6="auto", address="auto", ports=["8080:80"], nat=true}]']);
    await t.ok(['config', 'web1', 'nameservers', '["192.0.2.53"]']);
    await t.ok(['config', 'web2', 'interfaces', '[{mode="bridge", address="10.47.0.20", address6="fd47:1::20"}]']);
    for (const g of ['web1', 'web2']) {
      const info = JSON.parse(await t.ok(['start', g, '--json']));
      addr[g] = info.interfaces[0].addresses[0].split('/')[0];
      addr[`${g}6`] = info.interfaces[0].addresses[1].split('/')[0];
      await until(async () => (await guestGet(t, g, '127.0.0.1')).includes(g), `httpd in ${g}`);
    }
  });

  afterAll(() => cleanUpNetworkTest(t, [host, outside], [server]));

  it('gives each guest its address, a default route via the bridge, and shows them', async () => {
    expect(addr.web1).toBe('10.47.0.100'); // the pool's network + the context number
    expect(addr.web2).toBe('10.47.0.20');
    const st = JSON.parse(await t.ok(['status', 'web1', '--json']));
    expect(st.interfaces).toEqual([
      {
        name: 'eth0',
        mode: 'bridge',
        addresses: ['10.47.0.100/16', 'fd47:1::64/64'],
        gateways: ['10.47.0.1', 'fd47:1::1'],
        hostDevice: `v${t.paths.instance}-100-0`,
        bridge: 'vsbr0',
        nat: true,
        ports: ['8080:80/tcp'],
      },
    ]);
    expect(await t.ok(['status', 'web1'])).toMatch(
      /eth0\s+bridge 10\.47\.0\.100\/16 fd47:1::64\/64 via 10\.47\.0\.1 fd47:1::1; host side v\w+-100-0 on vsbr0/,
    );
    // its /sys shows its own devices, not the host's
    expect((await t.ok(['exec', 'web1', '--', 'ls', '/sys/class/net'])).split(/\s+/).filter(Boolean)).toEqual(['eth0', 'lo']);
    const inside = await t.ok(['exec', 'web1', '--', 'ip', '-o', 'addr', 'show', 'dev', 'eth0']);
    expect(inside).toContain('inet 10.47.0.100/16');
    expect(inside).toContain('inet6 fd47:1::64/64');
    expect(await t.ok(['exec', 'web1', '--', 'ip', 'route'])).toMatch(/^default via 10\.47\.0\.1 dev eth0/m);
    // the host side: the veth is in the bridge, which has the gateway address
    expect((await host.link('vsbr0'))?.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(
      expect.arrayContaining(['10.47.0.1/16', 'fd47:1::1/64']),
    );
    expect(await host.ip('-o', 'link', 'show', 'master', 'vsbr0')).toMatch(new RegExp(`v${t.paths.instance}-100-0@`));
    // the host end is only a bridge port: no address of its own, not even IPv6 link-local; the guest's end keeps its own
    const port = await host.link(`v${t.paths.instance}-100-0`);
    expect(port?.flags).toContain('UP');
    expect(port?.addr_info).toEqual([]);
    expect(inside).toMatch(/inet6 fe80::\S+\/64 scope link/);
    const list = JSON.parse(await t.ok(['list', '--json']));
    expect(list.map((g: { interfaces: { addresses: string[] }[] }) => g.interfaces[0]!.addresses[0])).toEqual([
      '10.47.0.100/16',
      '10.47.0.20/16',
    ]);
    expect(await t.ok(['list'])).toMatch(/web2\s+101\s+running.*10\.47\.0\.20/);
  });

  it('lets two bridged guests reach each other over IPv4 and IPv6', async () => {
    expect(await guestGet(t, 'web1', addr.web2!)).toContain('web2');
    expect(await guestGet(t, 'web2', addr.web1!)).toContain('web1');
    expect(await guestGet(t, 'web2', addr.web16!)).toContain('web1');
  });

  it("answers the host by the guest's address and through the port forward", async () => {
    expect(await host.get(`http://${addr.web1}/`)).toBe('web1\n');
    expect(await host.get(`http://[${addr.web16}]/`)).toBe('web1\n');
    expect(await host.get('http://192.0.2.1:8080/')).toBe('web1\n');
    expect(await host.get('http://[fd47:1::1]:8080/')).toBe('web1\n');
    // the first thing users try: the host's loopback, which the bridge then routes for this forward
    expect(await host.get('http://127.0.0.1:8080/')).toBe('web1\n');
    expect(await localnet()).toBe('1');
    // the forward is web1's only: 8080 of another address is not redirected to web1
    expect(await host.get(`http://${addr.web2}:8080/`)).toBe('web2\n');
  });

  it('lets guests ping each other and themselves without NET_RAW', async () => {
    const ping = (g: string, ...args: string[]) => t.cli(['exec', g, '--', 'ping', '-c', '1', '-W', '5', ...args]);
    for (const [g, to] of [
      ['web1', addr.web2!],
      ['web2', addr.web1!],
      ['web1', addr.web26!],
      ['web2', '127.0.0.1'],
      ['web2', '::1'],
    ] as const) {
      const r = await ping(g, to);
      expect({ g, to, code: r.code, out: r.stdout }).toMatchObject({
        g,
        to,
        code: 0,
        out: expect.stringMatching(/1 packets transmitted, 1 received/),
      });
    }
    // echo sockets, not a raw socket: the guest still has no CAP_NET_RAW (bit 13)
    const eff = /^CapEff:\s*(\w+)$/m.exec(await t.ok(['exec', 'web1', '--', 'cat', '/proc/self/status']))![1]!;
    expect(BigInt(`0x${eff}`) & (1n << 13n)).toBe(0n);
    expect((await t.cli(['exec', 'web1', '--', 'busybox', 'ping', '-c', '1', '127.0.0.1'])).stderr).toMatch(/permission denied/);
    // an address nobody has: no reply, and ping says so with its exit code
    expect((await ping('web1', '10.47.9.9')).code).toBe(1);
  });

  it('masquerades outbound traffic of a guest with nat = true, and only of that guest', async () => {
    const via = await t.cli(['exec', 'web1', '--', 'sh', '-c', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 203.0.113.2 9000']);
    expect(via.stdout).toMatch(/outside 203\.0\.113\.1$/); // the host's address, not the guest's
    const direct = await t.cli(['exec', 'web2', '--', 'sh', '-c', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 203.0.113.2 9000']);
    expect(direct.stdout, direct.stderr).toMatch(/outside 10\.47\.0\.20$/); // it arrives, with its own address
  });

  it("provides the guest's hostname, hosts and resolv.conf read-only from the host", async () => {
    const files = await t.ok(['exec', 'web1', '--', 'cat', '/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);
    expect(files).toMatch(/^web1\n/);
    expect(files).toContain('10.47.0.100\tweb1');
    expect(files).toContain('fd47:1::64\tweb1');
    expect(files).toMatch(/^nameserver 192\.0\.2\.53$/m);
    expect((await t.cli(['exec', 'web1', '--', 'sh', '-c', 'echo x >> /etc/hosts'])).code).not.toBe(0);
    // the guest's own tree is untouched
    expect(readFileSync(join(t.paths.rootfs('web1'), 'etc/hosts'), 'utf8')).not.toContain('10.47.0.100');
  });

  it('refuses a duplicate address when the config is written and again at start, changing nothing', async () => {
    await httpGuest(t, 'web3');
    const before = await host.links();
    const r = await t.cli(['config', 'web3', 'interfaces', `[{mode="bridge", address="${addr.web2}"}]`]);
    expect(r.code).toBe(21);
    expect(r.stderr).toMatch(/interfaces\.0: address 10\.47\.0\.20 is in use by guest 'web2'/);
    // an auto address of a running guest is taken too
    const file = t.paths.guestConfig('web3');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n[[interfaces]]\nmode = "bridge"\naddress = "${addr.web1}"\n`);
    const s = await t.cli(['start', 'web3']);
    expect(s.code).toBe(21);
    expect(s.stderr).toMatch(/address 10\.47\.0\.100 is in use by guest 'web1'/);
    expect(await host.links()).toEqual(before);
    expect((await t.cli(['running', 'web3'])).code).toBe(1);
  });

  it('refuses bad addresses and modes with the key and what is allowed', async () => {
    const cases: [string, number, RegExp][] = [
      ['[{mode="tap"}]', 10, /key 'interfaces\.0\.mode' must be one of: none, host, bridge, macvlan, ipvlan, phys/],
      ['[{mode="bridge", address="10.47.0.300/16"}]', 10, /key 'interfaces\.0\.address' must be "auto" or an IPv4 address/],
      ['[{mode="bridge", address="10.48.0.5"}]', 10, /10\.48\.0\.5 is outside the bridge's subnet 10\.47\.0\.0\/16/],
    ];
    for (const [value, code, msg] of cases) {
      const r = await t.cli(['config', 'web3', 'interfaces', value]);
      expect({ value, code: r.code }).toEqual({ value, code });
      expect(r.stderr).toMatch(msg);
    }
  });

  it('leaves nothing behind when the start fails after the network was set up', async () => {
    const before = await host.links();
    writeFileSync(
      t.paths.guestConfig('web3'),
      'context = 150\ninit = "cmd"\ncmd = ["/no/such/init"]\n[[interfaces]]\nmode = "bridge"\nports = ["9090:80"]\n',
    );
    const r = await t.cli(['start', 'web3']);
    expect(r.code).toBe(13);
    expect(await host.links()).toEqual(before);
    expect(await host.nftTables()).toEqual([`inet vserver.${t.paths.instance}.web1`]);
    expect((await t.leaks()).filter((l) => l.includes('web3'))).toEqual([]);
  });

  it('cleans up after a guest killed behind its back, with gc reporting what it removed', async () => {
    const { pid } = JSON.parse(await t.ok(['status', 'web1', '--json']));
    process.kill(pid, 'SIGKILL');
    await until(async () => (await t.cli(['running', 'web1'])).code === 1, 'web1 to die');
    const gc = await t.ok(['gc']);
    // the veth dies with the guest's namespace, which nothing holds after its processes; gc removes
    // it only if the kernel has not yet got to it
    expect(gc).toMatch(
      new RegExp(
        `^web1: removed runtime state, bundle, .*?(veth v${t.paths.instance}-100-0, )?nftables table vserver\\.${t.paths.instance}\\.web1$`,
        'm',
      ),
    );
    expect(await host.nftTables()).toEqual([]);
    expect(await host.links()).not.toContain(`v${t.paths.instance}-100-0`);
    expect(await t.ok(['gc'])).toBe('nothing to clean up\n');
  });

  it("takes a guest's veth away on stop and gc while another process holds its network namespace", async () => {
    const dev = `v${t.paths.instance}-100-0`;
    const holdNetns = async () => {
      const { pid } = JSON.parse(await t.ok(['status', 'web1', '--json']));
      // a host process in the guest's namespace, outside its cgroup: the namespace outlives the guest
      const holder = spawn('nsenter', [`--net=/proc/${pid}/ns/net`, '--', 'sleep', '60'], { stdio: 'ignore' });
      const inside = async () => (await execFileAsync('nsenter', [`--net=/proc/${holder.pid}/ns/net`, '--', 'ip', '-br', 'link'])).stdout;
      await until(async () => (await inside()).includes('eth0'), 'the holder in the guest namespace');
      return { pid: pid as number, holder, inside };
    };
    await t.ok(['start', 'web1']);
    const a = await holdNetns();
    try {
      // the control: the guest killed behind vserver's back leaves the pair, as the namespace is held
      process.kill(a.pid, 'SIGKILL');
      await until(async () => (await t.cli(['running', 'web1'])).code === 1, 'web1 to die');
      await new Promise((r) => setTimeout(r, 1000));
      expect(await host.links()).toContain(dev);
      expect(await t.ok(['gc'])).toMatch(new RegExp(`^web1: removed .*veth ${dev}`, 'm'));
      expect(await host.links()).not.toContain(dev);
      expect(await a.inside()).not.toContain('eth0');
    } finally {
      a.holder.kill('SIGKILL');
    }
    await t.ok(['start', 'web1']);
    const b = await holdNetns();
    try {
      await t.ok(['stop', 'web1', '--timeout', '0']);
      expect(await host.links()).not.toContain(dev);
      expect(await b.inside()).not.toContain('eth0');
    } finally {
      b.holder.kill('SIGKILL');
    }
  });

  it('tears down everything on stop, the bridge with its last member', async () => {
    await t.ok(['start', 'web1']);
    expect(await localnet()).toBe('1');
    await t.ok(['stop', 'web1', '--timeout', '0']);
    expect(await host.links()).toContain('vsbr0'); // web2 is still on it
    expect(await localnet()).toBe('0'); // web2 forwards nothing from loopback
    await t.ok(['stop', 'web2', '--timeout', '0']);
    expect(await host.links()).toEqual(['lo', 'up0']);
    expect(await host.nftTables()).toEqual([]);
    expect(await t.leaks()).toEqual([]);
  });
});

describe.skipIf(!IS_ROOT)('bridged guests started at once', () => {
  const host = new TestNetns('brpar');
  const t = new TestRoot('brpar', { netns: host.name });
  const names = ['p1', 'p2', 'p3', 'p4'];

  beforeAll(async () => {
    await host.create();
    mkdirSync(t.paths.etc, { recursive: true });
    // a pool too small for pool + context, so that every guest takes the lowest free address
    writeFileSync(t.paths.hostConfig, '[network]\npool = "10.48.0.0/26"\n');
    for (const g of names) {
      await httpGuest(t, g);
      await t.ok(['config', g, 'interfaces', '[{mode="bridge"}]']);
    }
  });

  afterAll(() => cleanUpNetworkTest(t, [host]));

  it('never hand out one address twice, and each answers at its own', async () => {
    const infos = await Promise.all(names.map(async (g) => JSON.parse(await t.ok(['start', g, '--json']))));
    const addrs = infos.map((i) => i.interfaces[0].addresses[0]);
    expect([...addrs].sort()).toEqual(['10.48.0.2/26', '10.48.0.3/26', '10.48.0.4/26', '10.48.0.5/26']);
    for (const [n, g] of names.entries()) {
      const ip = addrs[n].split('/')[0];
      await until(async () => (await host.get(`http://${ip}/`)) === `${g}\n`, `${g} at ${ip}`);
    }
    await Promise.all(names.map((g) => t.ok(['stop', g, '--timeout', '0'])));
    expect(await host.links()).toEqual(['lo']);
    expect(await t.leaks()).toEqual([]);
  });
});
