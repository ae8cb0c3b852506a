import { describe, expect, it } from 'vitest';
import { parseGuestConfig, parseHostConfig, toToml } from '../../src/guest/config.js';
import { VsError } from '../../src/util/errors.js';

const FILE = '/etc/vserver/guests/web1.toml';

function configError(text: string): VsError {
  try {
    parseGuestConfig(FILE, text);
  } catch (e) {
    expect(e).toBeInstanceOf(VsError);
    expect((e as VsError).code).toBe('CONFIG_INVALID');
    return e as VsError;
  }
  throw new Error('no error');
}

describe('guest config', () => {
  it('fills in defaults', () => {
    expect(parseGuestConfig(FILE, 'context = 100\n')).toEqual({ context: 100, init: 'plain', backend: 'dir', privileged: false });
  });

  it('reads every key it knows', () => {
    const c = parseGuestConfig(
      FILE,
      [
        'context = 42',
        'hostname = "web1.example.org"',
        'init = "cmd"',
        'cmd = ["/bin/sh", "-c", "sleep 1"]',
        'stop_signal = "SIGTERM"',
        'stop_timeout = 5',
        'mark = "default"',
        'start_order = 10',
        '[env]',
        'FOO = "bar"',
      ].join('\n'),
    );
    expect(c).toMatchObject({ context: 42, init: 'cmd', cmd: ['/bin/sh', '-c', 'sleep 1'], env: { FOO: 'bar' } });
  });

  it('names the file, the key and what is allowed', () => {
    const e = configError('context = 100\ninit = "upstart"\n');
    expect(e.message).toContain(FILE);
    expect(e.message).toMatch(/key 'init' must be one of: plain, cmd, sysv, systemd, openrc/);
    expect(e.hint).toContain(FILE);
  });

  it('refuses unknown keys and lists the allowed ones', () => {
    const e = configError('context = 100\ncolour = "blue"\n');
    expect(e.message).toMatch(/unknown key 'colour'; allowed here: context, hostname, init/);
    expect(configError('context = 100\n[env]\n"1x" = "y"\n').message).toMatch(/env/);
  });

  it('checks ranges and types', () => {
    expect(configError('context = 1\n').message).toMatch(/key 'context' must be at least 2/);
    expect(configError('context = 49152\n').message).toMatch(/must be at most 49151/);
    expect(configError('context = 2.5\n').message).toMatch(/whole number/);
    expect(configError('context = "100"\n').message).toMatch(/key 'context': expected number, got string "100"/);
    expect(configError('hostname = "x"\n').message).toMatch(/key 'context' is missing/);
    expect(configError('context = 100\nhostname = "bad host"\n').message).toMatch(/key 'hostname' must be a host name/);
    expect(configError('context = 100\nstop_signal = "SIGFOO"\n').message).toMatch(/key 'stop_signal' must be a signal/);
  });

  it('wants cmd when init = "cmd"', () => {
    expect(configError('context = 100\ninit = "cmd"\n').message).toMatch(/key 'cmd' is required when init = "cmd"/);
  });

  it('reads interfaces, nameservers and search domains', () => {
    const c = parseGuestConfig(
      FILE,
      [
        'context = 100',
        'nameservers = ["192.0.2.53", "2001:db8::53"]',
        'search = ["example.org"]',
        '[[interfaces]]',
        'mode = "bridge"',
        'address = "auto"',
        'address6 = "fd47::5/64"',
        'nat = true',
        'ports = ["8080:80", "53/udp"]',
        '[[interfaces]]',
        'mode = "macvlan"',
        'parent = "eth1"',
        'address = "192.168.1.20/24"',
        'gateway = "192.168.1.1"',
        'mtu = 1400',
      ].join('\n'),
    );
    expect(c.interfaces).toHaveLength(2);
    expect(c.interfaces![1]).toEqual({ mode: 'macvlan', parent: 'eth1', address: '192.168.1.20/24', gateway: '192.168.1.1', mtu: 1400 });
    expect(c.nameservers).toEqual(['192.0.2.53', '2001:db8::53']);
  });

  it('refuses bad interfaces with the key and what is allowed', () => {
    const iface = (body: string) => configError(`context = 100\n[[interfaces]]\n${body}\n`).message;
    expect(iface('mode = "tap"')).toMatch(/key 'interfaces.0.mode' must be one of: none, host, bridge, macvlan, ipvlan, phys/);
    expect(iface('mode = "bridge"\naddress = "10.47.0.300/16"')).toMatch(/key 'interfaces.0.address' must be "auto" or an IPv4 address/);
    expect(iface('mode = "bridge"\naddress = "10.47.0.3/33"')).toMatch(/interfaces.0.address/);
    expect(iface('mode = "bridge"\naddress = "fd47::3/64"')).toMatch(/must be "auto" or an IPv4 address/);
    expect(iface('mode = "bridge"\naddress6 = "10.0.0.1"')).toMatch(/key 'interfaces.0.address6' must be "auto" or an IPv6 address/);
    expect(iface('mode = "bridge"\ngateway = "10.47.0.1/16"')).toMatch(/key 'interfaces.0.gateway' must be an IPv4 address without prefix/);
    expect(iface('mode = "bridge"\nports = ["80:80:80"]')).toMatch(/key 'interfaces.0.ports.0' must be "HOST_PORT/);
    expect(iface('mode = "macvlan"')).toMatch(/key 'interfaces.0.parent' is required with mode "macvlan"/);
    expect(iface('mode = "phys"\nparent = "eth1"\nnat = true')).toMatch(/key 'interfaces.0.nat' is not used with mode "phys"/);
    expect(iface('mode = "ipvlan"\nparent = "eth1"\naddress = "auto"')).toMatch(/"auto" works with mode "bridge" only/);
    expect(iface('mode = "host"\naddress = "10.0.0.1/8"')).toMatch(/key 'interfaces.0.address' is not used with mode "host"/);
    expect(iface('mode = "macvlan"\nparent = "eth1"\naddress = "10.0.0.5/24"\ngateway = "10.0.1.1"')).toMatch(
      /key 'interfaces.0.gateway' is not in the subnet of address \(10.0.0.0\/24\)/,
    );
    expect(iface('mode = "bridge"\nname = "this-name-is-too-long"')).toMatch(/must be a network interface name/);
    expect(iface('mode = "bridge"\ncolour = "red"')).toMatch(/unknown key 'interfaces.0.colour'; allowed here: mode, name, bridge, parent/);
  });

  it('refuses interfaces that contradict each other', () => {
    const two = (a: string, b: string) => configError(`context = 100\n[[interfaces]]\n${a}\n[[interfaces]]\n${b}\n`).message;
    expect(two('mode = "host"', 'mode = "bridge"')).toMatch(/key 'interfaces.0.mode': "host" must be the only interface/);
    expect(two('mode = "bridge"\naddress = "10.47.0.5"', 'mode = "bridge"\naddress = "10.47.0.5/16"')).toMatch(
      /key 'interfaces.1.address': repeats the address of interface 0/,
    );
    expect(two('mode = "bridge"\nname = "net"', 'mode = "bridge"\nname = "net"')).toMatch(/"net" is also the name of interface 0/);
    expect(two('mode = "bridge"\nports = ["80"]', 'mode = "bridge"\nports = ["80:8080"]')).toMatch(/forwards host port 80\/tcp twice/);
    expect(
      two(
        'mode = "macvlan"\nparent = "a"\naddress = "10.0.0.5/24"\ngateway = "10.0.0.1"',
        'mode = "macvlan"\nparent = "b"\naddress = "10.1.0.5/24"\ngateway = "10.1.0.1"',
      ),
    ).toMatch(/one default route per family/);
  });

  it('reports broken TOML with its line', () => {
    expect(configError('context = \n').message).toMatch(/not valid TOML \(line 1/);
  });

  it('round-trips through toToml', () => {
    const c = parseGuestConfig(FILE, 'context = 7\ninit = "cmd"\ncmd = ["/bin/true"]\n[env]\nA = "b"\n');
    expect(parseGuestConfig(FILE, toToml(c))).toEqual(c);
  });
});

describe('host config', () => {
  it('has defaults when the file is empty or missing', () => {
    expect(parseHostConfig('/etc/vserver/vserver.toml', '')).toEqual({
      runtime: 'auto',
      context_min: 100,
      stop_timeout: 30,
      lxcfs: 'auto',
      mirror: 'http://deb.debian.org/debian',
      network: { bridge: 'vsbr0', pool: '10.47.0.0/16' },
      guest_defaults: {},
      subid_files: ['/etc/subuid', '/etc/subgid'],
    });
  });

  it('takes guest defaults: any [limits] key and the /proc/sys/user counts, and says what is wrong', () => {
    const h = parseHostConfig(
      '/h',
      '[guest_defaults.limits]\npids.max = 100\nmemory.max = "1G"\n[guest_defaults.user]\nmax_inotify_instances = 8\n',
    );
    expect(h.guest_defaults).toEqual({ limits: { pids: { max: 100 }, memory: { max: 2 ** 30 } }, user: { max_inotify_instances: 8 } });
    expect(() => parseHostConfig('/h', '[guest_defaults.user]\nmax_inotify = 8\n')).toThrow(
      /unknown key 'guest_defaults.user.max_inotify'; allowed here: max_cgroup_namespaces/,
    );
    expect(() => parseHostConfig('/h', '[guest_defaults.user]\nmax_user_namespaces = -1\n')).toThrow(/must be at least 0/);
    expect(() => parseHostConfig('/h', '[guest_defaults.limits]\npids.max = "lots"\n')).toThrow(/guest_defaults.limits.pids.max/);
  });

  it('checks the network pools', () => {
    const h = parseHostConfig('/h', '[network]\nbridge = "br7"\npool = "192.168.50.0/24"\npool6 = "fd00:1::/64"\n');
    expect(h.network).toEqual({ bridge: 'br7', pool: '192.168.50.0/24', pool6: 'fd00:1::/64' });
    expect(() => parseHostConfig('/h', '[network]\npool = "10.47.0.0"\n')).toThrow(
      /key 'network.pool' must be an IPv4 network with its prefix/,
    );
    expect(() => parseHostConfig('/h', '[network]\npool = "10.47.0.0/31"\n')).toThrow(/network.pool/);
    expect(() => parseHostConfig('/h', '[network]\npool6 = "10.47.0.0/16"\n')).toThrow(/key 'network.pool6' must be an IPv6 network/);
    expect(() => parseHostConfig('/h', '[network]\nbridge = "a/b"\n')).toThrow(/must be a network interface name/);
  });

  it('refuses an unknown runtime', () => {
    expect(() => parseHostConfig('/etc/vserver/vserver.toml', 'runtime = "docker"\n')).toThrow(
      /key 'runtime' must be one of: auto, runc, crun/,
    );
  });
});
