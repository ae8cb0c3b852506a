// A util-vserver guest configuration directory translated to a guest TOML (pure). Every file gets
// one line in the report: translated (to a key), covered (nothing needed here), or not translated
// (with what to do instead). The format is util-vserver's documented one, the "flower page":
// doc/configuration.xml in util-vserver's source (nongnu.org/util-vserver/doc/conf/configuration.html).
import { getKey, setPath } from './config.js';
import { CONTEXT_MAX, CONTEXT_MIN } from './schema.js';
import { translateBcaps, translateCcaps, translateCgroup, translateCpuset, translateFlags, translateRlimits } from './legacy-limits.js';
import { translateInit } from './legacy-init.js';
import type { LegacyEntry } from './legacy-read.js';
import type { LegacyItem, Sink } from './legacy-types.js';
import { parseCidr, parseIp } from '../util/ip.js';

export type { LegacyItem } from './legacy-types.js';

export interface LegacyPlan {
  /** The guest TOML without context (the importer picks it). */
  config: Record<string, unknown>;
  /** From the `context` file, if it holds a valid one. */
  context?: number;
  /** From the `name` file. */
  name?: string;
  /** Target of the `vdir` link, as written (relative to the configuration directory when relative). */
  vdir?: string;
  items: LegacyItem[];
}

/** Files that need nothing here, and why. */
const COVERED: Record<string, string> = {
  cache: "the old tools' cache; nothing to keep",
  run: "the old tools' record of a running guest; nothing to keep",
  namespace: 'every guest has its own mount namespace',
  nonamespace: "every guest has its own mount namespace; there is no sharing the host's",
  'namespace-cleanup': "the guest's mount namespace holds only its own mounts",
  'namespace-cleanup-skip': "the guest's mount namespace holds only its own mounts",
  spaces: 'the guest gets every namespace of its own',
  ncontext: 'the guest has a network namespace of its own instead of a network context',
  nflags: 'network flags of the old kernel; the guest has its own network namespace',
  'uts/context': 'set by the old tools themselves',
};

/** Files with no counterpart, and what to do instead. */
const NOT: Record<string, string> = {
  nice: 'start priority: give the guest a CPU share with limits.cpu.weight instead',
  personality: 'personalities are not set per guest; run the program with setarch inside the guest',
  shell: 'vserver enter runs /bin/sh; run another shell with vserver exec NAME -- /bin/bash',
  schedule: 'the token bucket scheduler: limit CPU with limits.cpu.max (cores) and limits.cpu.weight',
  badness: "set oom_score_adj of the guest's services inside the guest instead",
  capabilities: 'capabilities of 2.4 kernels; bcapabilities is what counts',
  ncapabilities: 'network capabilities of the old kernel; give NET_ADMIN or NET_RAW with security.capabilities.add if needed',
  nocgroup: 'every guest has a cgroup here',
  noncontext: 'every guest has its own network namespace; for the host\'s network use interfaces = [{mode = "host"}]',
  nonetns: 'every guest has its own network namespace; for the host\'s network use interfaces = [{mode = "host"}]',
  'fstab.remote': "extra mounts are not made by vserver; mount them from the guest's init or bind-mount from the host",
  tag: "disk tagging of the old kernel; vserver du counts each guest's tree",
};

export function makeSink(items: LegacyItem[], config: Record<string, unknown>): Sink {
  const setBy = new Map<string, { file: string; value: unknown }>();
  return {
    set: (file, key, value, note) => {
      const before = setBy.get(key);
      // two files that say the same thing differently: the later one wins, and the report says so
      if (before && before.file !== file && JSON.stringify(before.value) !== JSON.stringify(value) && !key.startsWith('interfaces')) {
        items.push({
          file: before.file,
          status: 'not-translated',
          note: `its ${key} = ${JSON.stringify(before.value)} gave way to ${file}'s ${JSON.stringify(value)}; set the one meant with vserver limit or vserver config`,
        });
      }
      setBy.set(key, { file, value });
      setPath(config, key.split('.'), value);
      items.push({ file, status: 'translated', key, value, note });
    },
    add: (file, key, values, note) => {
      const had = getKey(config, key);
      const list = [...new Set([...(Array.isArray(had) ? (had as string[]) : []), ...values])];
      setPath(config, key.split('.'), list);
      items.push({ file, status: 'translated', key, value: values, note });
    },
    covered: (file, note) => items.push({ file, status: 'covered', note }),
    not: (file, note) => items.push({ file, status: 'not-translated', note }),
    note: (file, note) => items.push({ file, status: 'not-translated', note }),
  };
}

export function translateLegacy(entries: readonly LegacyEntry[]): LegacyPlan {
  const items: LegacyItem[] = [];
  const config: Record<string, unknown> = {};
  const sink = makeSink(items, config);
  const plan: LegacyPlan = { config, items };
  const text = new Map<string, string>();
  for (const e of entries) if (e.kind === 'file') text.set(e.path, e.text ?? '');
  const group = (prefix: string) => new Map([...text].filter(([f]) => f.startsWith(prefix)));
  const done = new Set<string>();
  const take = (files: Iterable<string>) => {
    for (const f of files) done.add(f);
  };

  for (const e of entries) {
    if (e.kind === 'link' && e.path === 'vdir') {
      plan.vdir = e.target!;
      items.push({ file: 'vdir', status: 'translated', note: `the guest's tree (${e.target})` });
      done.add('vdir');
    } else if (e.kind === 'link') {
      sink.covered(e.path, `a link (to ${e.target}) the old tools used; nothing to keep`);
      done.add(e.path);
    } else if (e.kind === 'file' && e.text === undefined) {
      sink.not(e.path, 'too big to be a configuration file; it was not read');
      done.add(e.path);
    } else if (e.kind === 'other') {
      sink.not(e.path, 'not a file or link; it was not read');
      done.add(e.path);
    }
  }

  const first = (f: string) => text.get(f)?.trim().split('\n')[0]?.trim() ?? '';
  if (text.has('context')) {
    const n = Number(first('context'));
    if (Number.isInteger(n) && n >= CONTEXT_MIN && n <= CONTEXT_MAX) {
      plan.context = n;
      items.push({
        file: 'context',
        status: 'translated',
        key: 'context',
        value: n,
        note: 'kept if it is free here, else the importer picks another and says so',
      });
    } else sink.not('context', `'${first('context')}' is not a context number (${CONTEXT_MIN}-${CONTEXT_MAX}); a free one is picked`);
    done.add('context');
  }
  if (text.has('name')) {
    plan.name = first('name');
    items.push({ file: 'name', status: 'translated', note: `the guest's name (${plan.name}) unless --name gives another` });
    done.add('name');
  }
  if (text.has('uts/nodename')) {
    const host = first('uts/nodename');
    if (/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(host)) sink.set('uts/nodename', 'hostname', host, "the guest's host name");
    else sink.not('uts/nodename', `'${host}' is not a host name; set one with vserver config NAME hostname HOST`);
    done.add('uts/nodename');
  }
  for (const f of ['uts/sysname', 'uts/release', 'uts/version', 'uts/machine', 'uts/domainname']) {
    if (!text.has(f)) continue;
    sink.not(
      f,
      f === 'uts/domainname'
        ? 'set the NIS domain inside the guest (domainname in its init)'
        : "the kernel's own name and release are what the guest sees; this cannot be faked per guest",
    );
    done.add(f);
  }

  translateInterfaces(group('interfaces/'), sink);
  take(group('interfaces/').keys());
  translateInit(group('apps/init/'), sink);
  take(group('apps/init/').keys());
  translateRlimits(group('rlimits/'), sink);
  take(group('rlimits/').keys());
  translateCgroup(group('cgroup/'), sink);
  take(group('cgroup/').keys());
  translateCpuset(group('cpuset/'), sink);
  take(group('cpuset/').keys());
  if (text.has('bcapabilities')) translateBcaps(text.get('bcapabilities')!, sink);
  if (text.has('ccapabilities')) translateCcaps(text.get('ccapabilities')!, sink);
  for (const f of ['flags', 'cflags']) if (text.has(f)) translateFlags(f, text.get(f)!, sink);
  if (text.has('fstab')) translateFstab(text.get('fstab')!, sink);
  take(['bcapabilities', 'ccapabilities', 'flags', 'cflags', 'fstab']);

  for (const [file, body] of text) {
    if (done.has(file)) continue;
    const top = file.split('/')[0]!;
    if (COVERED[file] ?? COVERED[top]) sink.covered(file, (COVERED[file] ?? COVERED[top])!);
    else if (NOT[file] ?? NOT[top]) sink.not(file, (NOT[file] ?? NOT[top])!);
    else if (top === 'scripts')
      sink.not(
        file,
        "scripts around start and stop are not run by vserver; do their work in the guest's init, or around vserver start on the host",
      );
    else if (top === 'sched') sink.not(file, 'the token bucket scheduler: limit CPU with limits.cpu.max (cores) and limits.cpu.weight');
    else if (top === 'dlimits')
      sink.not(file, "disk limits: use project quotas of the host's filesystem; vserver du shows what each guest uses");
    else if (top === 'sysctl')
      sink.not(file, `a sysctl (${body.trim().split('\n')[0]}) is set inside the guest (its /etc/sysctl.conf) where its namespace allows`);
    else if (top === 'ulimits') sink.not(file, 'ulimits of 2.4 kernels; rlimits is what counts');
    else if (top === 'apps') sink.not(file, "a setting of util-vserver's helper programs; vserver has no such helper");
    else sink.not(file, "not part of util-vserver's documented configuration; nothing was done with it");
  }
  return plan;
}

/** interfaces/IFACE/{ip,prefix,mask,dev,name,disabled,...}, with interfaces/{dev,prefix,mask} as defaults. */
function translateInterfaces(files: Map<string, string>, sink: Sink): void {
  const val = (f: string) => files.get(f)?.trim().split('\n')[0]?.trim();
  const ifaces = [...new Set([...files.keys()].filter((f) => f.split('/').length === 3).map((f) => f.split('/')[1]!))].sort();
  const list: Record<string, unknown>[] = [];
  for (const f of ['interfaces/dev', 'interfaces/prefix', 'interfaces/mask'])
    if (files.has(f)) sink.covered(f, 'the default of each interface below');
  for (const f of ['interfaces/bcast', 'interfaces/scope'])
    if (files.has(f)) sink.covered(f, 'worked out from each address and its prefix');
  for (const f of ['interfaces/vlandev', 'interfaces/novlandev'])
    if (files.has(f)) sink.not(f, "VLAN devices are made on the host; give the VLAN device as the interface's parent");
  for (const id of ifaces) {
    const at = (k: string) => `interfaces/${id}/${k}`;
    const own = [...files.keys()].filter((f) => f.startsWith(`interfaces/${id}/`));
    if (files.has(at('disabled'))) {
      for (const f of own) sink.covered(f, 'a disabled interface: left out, as util-vserver did');
      continue;
    }
    const ipText = val(at('ip'));
    const dev = val(at('dev')) ?? val('interfaces/dev');
    const prefix = val(at('prefix')) ?? maskPrefix(val(at('mask'))) ?? val('interfaces/prefix') ?? maskPrefix(val('interfaces/mask'));
    const ip = ipText === undefined ? undefined : parseIp(ipText.split('/')[0]!);
    if (ip === undefined || dev === undefined) {
      const why = ip === undefined ? `no valid address in ${at('ip')}` : 'no device (dev) for it, here or in interfaces/dev';
      for (const f of own) sink.not(f, `${why}; add the interface with vserver config NAME interfaces.N.address`);
      continue;
    }
    const bits = ipText!.includes('/') ? ipText!.split('/')[1] : (prefix ?? (ip.family === 4 ? '32' : '128'));
    const cidr = parseCidr(`${ipText!.split('/')[0]}/${bits}`);
    if (!cidr) {
      for (const f of own) sink.not(f, `prefix '${bits}' does not fit the address; add the interface with vserver config`);
      continue;
    }
    const n = list.length;
    const entry: Record<string, unknown> = {
      mode: 'macvlan',
      parent: dev,
      [ip.family === 4 ? 'address' : 'address6']: `${ipText!.split('/')[0]}/${bits}`,
    };
    list.push(entry);
    const key = `interfaces.${n}`;
    sink.set(
      at('ip'),
      `${key}.${ip.family === 4 ? 'address' : 'address6'}`,
      entry[ip.family === 4 ? 'address' : 'address6'],
      'on a macvlan device of its own over the host NIC, as the address sat on that NIC before (the host itself cannot reach it over macvlan; use mode "bridge" for that)',
    );
    if (files.has(at('dev'))) sink.set(at('dev'), `${key}.parent`, dev, 'the host NIC the guest shares');
    for (const k of ['prefix', 'mask']) if (files.has(at(k))) sink.covered(at(k), `the prefix /${bits} of the address`);
    for (const k of ['bcast', 'scope']) if (files.has(at(k))) sink.covered(at(k), 'worked out from the address and its prefix');
    if (files.has(at('name')))
      sink.covered(at('name'), `the label '${val(at('name'))}' of the address on the host NIC; inside the guest the device is eth${n}`);
    if (files.has(at('nodev'))) sink.covered(at('nodev'), 'the guest gets a device of its own; nothing is assumed to exist');
    for (const k of ['vlandev', 'novlandev'])
      if (files.has(at(k))) sink.not(at(k), 'VLAN devices are made on the host; give the VLAN device as parent');
    for (const f of own) {
      const k = f.split('/')[2]!;
      if (!['ip', 'dev', 'prefix', 'mask', 'bcast', 'scope', 'name', 'nodev', 'vlandev', 'novlandev'].includes(k))
        sink.not(f, 'not an interface setting util-vserver documents');
    }
    sink.note(
      at('ip'),
      `util-vserver guests used the host's routes; add a default route with vserver config NAME ${key}.gateway ROUTER if the guest must reach beyond its subnet`,
    );
  }
  // the list replaces the keys set one by one above, in the order of the directories
  if (list.length > 0) sink.set('interfaces', 'interfaces', list, `${list.length} interface${list.length === 1 ? '' : 's'}`);
}

function maskPrefix(mask: string | undefined): string | undefined {
  if (mask === undefined) return undefined;
  const ip = parseIp(mask);
  if (ip?.family !== 4) return undefined;
  const bits = mask
    .split('.')
    .map((p) => Number(p).toString(2).padStart(8, '0'))
    .join('');
  return /^1*0*$/.test(bits) ? String(bits.indexOf('0') < 0 ? 32 : bits.indexOf('0')) : undefined;
}

/** fstab: proc, sysfs and devpts the runtime mounts itself; other lines are listed to be done by hand. */
function translateFstab(text: string, sink: Sink): void {
  for (const line of text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))) {
    const [, target, type] = line.split(/\s+/);
    if (type === 'proc' || type === 'sysfs' || type === 'devpts' || (type === 'tmpfs' && target === '/dev/shm')) {
      sink.covered('fstab', `'${line}': the runtime mounts ${target} itself`);
    } else {
      sink.not('fstab', `'${line}': vserver makes no extra mounts; mount it from the guest's init (tmpfs) or bind-mount it from the host`);
    }
  }
}
