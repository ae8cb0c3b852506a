// iproute2: reading the host's links and running batches of changes, one process per batch.
import { readFileSync } from 'node:fs';
import { VsError } from '../util/errors.js';
import { run, runOk } from '../util/proc.js';
import type { BatchLine } from './script.js';
import type { LinkFact } from './types.js';

interface IpLink {
  ifname: string;
  master?: string;
  ifalias?: string;
  flags?: string[];
  mtu?: number;
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}

/** The links of `ip -json -details address show`. */
export function parseLinks(json: string): LinkFact[] {
  return linkFacts(JSON.parse(json === '' ? '[]' : json) as unknown[]);
}

export function linkFacts(list: readonly unknown[]): LinkFact[] {
  return (list as IpLink[]).map((l) => ({
    name: l.ifname,
    kind: l.linkinfo?.info_kind,
    master: l.master,
    alias: l.ifalias,
    up: l.flags?.includes('UP') ?? false,
    mtu: l.mtu ?? 1500,
    addresses: (l.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`),
  }));
}

export async function readLinks(): Promise<LinkFact[]> {
  return parseLinks((await runOk('ip', ['-json', '-details', 'address', 'show'])).stdout);
}

/** Names of the links in this process's network namespace, from /proc/net/dev: no process, no JSON. */
export function linkNames(text = readFileSync('/proc/net/dev', 'utf8')): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon > 0) out.add(line.slice(0, colon).trim());
  }
  return out;
}

/**
 * Why batch lines failed, from ip's "Command failed FILE:N" lines and the error text before each;
 * `lines` are those of the batch read from stdin ("-"), `files` those of batch files.
 */
export function batchFailures(stderr: string, lines: readonly BatchLine[], files: Record<string, readonly BatchLine[]> = {}): string[] {
  const out: string[] = [];
  let reason: string[] = [];
  let named = false;
  for (const l of stderr.split('\n')) {
    const m = /^Command failed (.+):(\d+)$/.exec(l);
    if (!m) {
      if (l.trim() !== '') reason.push(l.trim().replace(/^Error: /, ''));
      continue;
    }
    named = true;
    const line = (m[1] === '-' ? lines : (files[m[1]!] ?? []))[Number(m[2]) - 1];
    // absent before ip looked, or taken by the kernel between ip's look and the removal
    if (line?.goneIsDone && reason.some((r) => /^(Cannot find device |RTNETLINK answers: No such device$)/.test(r))) {
      reason = [];
      continue;
    }
    out.push(`${line?.what ?? 'ip'}: '${line?.cmd ?? '?'}' failed: ${reason.join('; ') || 'no reason given'}`);
    reason = [];
  }
  if (!named && stderr.trim() !== '') out.push(stderr.trim());
  return out;
}

/** Help for failures whose cause is the host rather than the config. */
function hintFor(problem: string): string {
  if (/Unknown device type/i.test(problem) && /ipvlan/.test(problem)) {
    return 'this kernel has no ipvlan support (CONFIG_IPVLAN): load it with modprobe ipvlan, or use mode = "macvlan"';
  }
  if (/Unknown device type/i.test(problem)) return 'this kernel lacks that device type; load its module (modprobe) and try again';
  return "nothing was kept; the message above is iproute2's own";
}

/**
 * Runs the lines as one `ip -batch`, inside the network namespace at `netns` if given. With `force`
 * every line is tried and the failures are returned; without, the first failure throws.
 */
export async function ipBatch(lines: readonly BatchLine[], opts: { netns?: string; force?: boolean } = {}): Promise<string[]> {
  if (lines.length === 0) return [];
  const ip = [...(opts.force ? ['-force'] : []), '-batch', '-'];
  const [file, args] = opts.netns ? ['nsenter', [`--net=${opts.netns}`, '--', 'ip', ...ip]] : ['ip', ip];
  const r = await run(file, args, { input: lines.map((l) => `${l.cmd}\n`).join('') });
  if (r.code === 0) return [];
  const problems = batchFailures(r.stderr, lines);
  if (opts.force) return problems;
  throw batchError(problems);
}

export function batchError(problems: readonly string[]): VsError {
  return new VsError('NETWORK_FAILED', `setting up the network failed: ${problems.join('; ')}`, hintFor(problems.join(' ')));
}
