// The files the host provides to a guest: /etc/hostname, /etc/hosts and /etc/resolv.conf.
import { parseCidr, parseIp } from '../util/ip.js';

export interface EtcInput {
  hostname: string;
  /** The guest's addresses (ADDRESS/PREFIX), first of each family named in /etc/hosts. */
  addresses: readonly string[];
  nameservers?: readonly string[];
  search?: readonly string[];
  /** The host's /etc/resolv.conf, and systemd-resolved's upstream file if there is one. */
  hostResolv?: string;
  upstreamResolv?: string;
  /** The guest shares the host's network stack (mode host), so the host's loopback resolvers work. */
  hostNetwork: boolean;
}

export interface EtcFile {
  /** Where the file appears inside the guest. */
  path: string;
  text: string;
}

const HEADER = '# provided by vserver; set nameservers and search in the guest config to change it\n';

export function etcFiles(input: EtcInput): EtcFile[] {
  return [
    { path: '/etc/hostname', text: `${input.hostname}\n` },
    { path: '/etc/hosts', text: hostsFile(input) },
    { path: '/etc/resolv.conf', text: resolvConf(input) },
  ];
}

function hostsFile(input: EtcInput): string {
  const short = input.hostname.split('.')[0]!;
  const names = short === input.hostname ? input.hostname : `${input.hostname} ${short}`;
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  const own = [4, 6].map((f) => input.addresses.find((a) => parseCidr(a)?.family === f)).filter((a): a is string => a !== undefined);
  if (own.length === 0) lines.push(`127.0.1.1\t${names}`);
  for (const a of own) lines.push(`${a.split('/')[0]}\t${names}`);
  return `${lines.join('\n')}\n`;
}

const isLoopback = (ns: string) => {
  const ip = parseIp(ns);
  return ip !== undefined && (ip.family === 4 ? ip.value >> 24n === 127n : ip.value === 1n);
};

function servers(text: string | undefined): string[] {
  return (text ?? '')
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((s): s is string => s !== undefined);
}

function resolvConf(input: EtcInput): string {
  const search = input.search && input.search.length > 0 ? `search ${input.search.join(' ')}\n` : '';
  if (input.nameservers && input.nameservers.length > 0) {
    return HEADER + search + input.nameservers.map((s) => `nameserver ${s}\n`).join('');
  }
  let text = input.hostResolv ?? '';
  // a local stub resolver (systemd-resolved's 127.0.0.53) cannot be reached from another network namespace
  if (!input.hostNetwork && servers(text).length > 0 && servers(text).every(isLoopback) && input.upstreamResolv) {
    text = input.upstreamResolv;
  }
  const kept = text.split('\n').filter((l) => {
    if (/^\s*(#|;|$)/.test(l)) return false;
    const ns = /^\s*nameserver\s+(\S+)/.exec(l)?.[1];
    if (ns !== undefined) return input.hostNetwork || !isLoopback(ns);
    return !(search !== '' && /^\s*(search|domain)\s/.test(l));
  });
  return HEADER + search + kept.map((l) => `${l}\n`).join('');
}
