import { describe, expect, it } from 'vitest';
import { etcFiles, type EtcInput } from '../../src/network/etc.js';

type Etc = Record<'/etc/hostname' | '/etc/hosts' | '/etc/resolv.conf', string>;

const files = (input: Partial<EtcInput>): Etc =>
  Object.fromEntries(
    etcFiles({ hostname: 'web1.example.org', addresses: [], hostNetwork: false, ...input }).map((f) => [f.path, f.text]),
  ) as Etc;

describe('files the host provides to a guest', () => {
  it('names the guest in /etc/hostname and /etc/hosts, with its own addresses', () => {
    const f = files({ addresses: ['10.47.0.100/16', 'fd47::64/64', '10.47.0.101/16'] });
    expect(f['/etc/hostname']).toBe('web1.example.org\n');
    expect(f['/etc/hosts']).toBe(
      '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' +
        '10.47.0.100\tweb1.example.org web1\nfd47::64\tweb1.example.org web1\n',
    );
    expect(files({ hostname: 'g1' })['/etc/hosts']).toContain('127.0.1.1\tg1\n');
  });

  it('uses the configured nameservers and search domains', () => {
    const r = files({ nameservers: ['192.0.2.53', '2001:db8::53'], search: ['example.org'], hostResolv: 'nameserver 1.1.1.1\n' })[
      '/etc/resolv.conf'
    ];
    expect(r).toMatch(/^# provided by vserver/);
    expect(r.split('\n').slice(1)).toEqual(['search example.org', 'nameserver 192.0.2.53', 'nameserver 2001:db8::53', '']);
  });

  it("copies the host's resolvers, but not loopback ones a guest with its own network cannot reach", () => {
    const host = '# comment\nnameserver 127.0.0.1\nnameserver 192.0.2.53\nsearch lan\noptions edns0\n';
    expect(files({ hostResolv: host })['/etc/resolv.conf'].split('\n').slice(1)).toEqual([
      'nameserver 192.0.2.53',
      'search lan',
      'options edns0',
      '',
    ]);
    expect(files({ hostResolv: host, hostNetwork: true })['/etc/resolv.conf']).toContain('nameserver 127.0.0.1');
    expect(
      files({ hostResolv: host, search: ['corp'] })
        ['/etc/resolv.conf'].split('\n')
        .slice(1),
    ).toEqual(['search corp', 'nameserver 192.0.2.53', 'options edns0', '']);
  });

  it("follows systemd-resolved's stub to the upstream servers", () => {
    const stub = 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n';
    const upstream = 'nameserver 198.51.100.1\nnameserver ::1\n';
    expect(files({ hostResolv: stub, upstreamResolv: upstream })['/etc/resolv.conf'].split('\n').slice(1)).toEqual([
      'nameserver 198.51.100.1',
      '',
    ]);
    expect(files({ hostResolv: stub, upstreamResolv: upstream, hostNetwork: true })['/etc/resolv.conf']).toContain('nameserver 127.0.0.53');
  });
});
