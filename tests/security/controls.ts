// Positive controls for the escape suite: the guest's own OCI config, with some of its protections
// taken out, run by the raw runtime (the one the guest runs under) on the guest's own tree. An attempt that gets through here and is
// refused in the guest was refused by what was taken out.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OciSpec } from '../../src/oci/types.js';
import { USER_COUNTS_SCRIPT } from '../../src/resources/user-counts.js';
import { WIRE_SCRIPT } from '../../src/network/hook.js';
import { ALL_CAPABILITIES } from '../../src/oci/capabilities.js';
import { run } from '../../src/util/proc.js';
import type { TestRoot } from '../helpers/host.js';

export const PROTECTIONS = [
  'seccomp',
  'capabilities',
  'user namespace',
  'pid namespace',
  'uts namespace',
  'cgroup namespace',
  'read-only and masked paths',
  'device cgroup',
] as const;
export type Protection = (typeof PROTECTIONS)[number];

const dropNs = (spec: OciSpec, type: string) => {
  spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== type);
};

/** How each protection is taken out of a config. */
const REMOVE: Record<Protection, (spec: OciSpec) => void> = {
  seccomp: (s) => {
    delete s.linux.seccomp;
  },
  capabilities: (s) => {
    const all = hostCapabilities();
    s.process.capabilities = { bounding: all, effective: all, permitted: all, inheritable: all };
  },
  'user namespace': (s) => {
    dropNs(s, 'user');
    delete s.linux.uidMappings;
    delete s.linux.gidMappings;
    // the hook that sets the counts of the guest's user namespace has none to enter; the network's
    // hook, which sets them when there is one, keeps only its first arguments (those before the counts)
    const create = s.hooks?.createRuntime
      ?.filter((h) => !h.args?.includes(USER_COUNTS_SCRIPT))
      .map((h) => (h.args?.includes(WIRE_SCRIPT) ? { ...h, args: h.args.slice(0, 8) } : h));
    if (s.hooks && create) s.hooks.createRuntime = create;
  },
  'pid namespace': (s) => dropNs(s, 'pid'),
  'uts namespace': (s) => {
    dropNs(s, 'uts');
    delete s.hostname;
  },
  'cgroup namespace': (s) => dropNs(s, 'cgroup'),
  'read-only and masked paths': (s) => {
    delete s.linux.maskedPaths;
    delete s.linux.readonlyPaths;
    for (const m of s.mounts) if (m.type === 'sysfs' || m.type === 'cgroup') m.options = m.options?.filter((o) => o !== 'ro');
  },
  'device cgroup': (s) => {
    s.linux.resources = { ...s.linux.resources, devices: [{ allow: true, access: 'rwm' }] };
  },
};

/** Every capability this process may hand on (its bounding set): a runtime cannot give more. */
function hostCapabilities(): string[] {
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]!;
  const bits = BigInt(`0x${hex}`);
  return ALL_CAPABILITIES.filter((_, i) => (bits >> BigInt(i)) & 1n); // the list is in kernel bit order
}

/** Whether a guest's config has the protection at all (a privileged guest has no user namespace). */
export function present(spec: OciSpec, p: Protection): boolean {
  if (p === 'user namespace') return spec.linux.namespaces.some((n) => n.type === 'user');
  return true;
}

export function guestSpec(t: TestRoot, guest: string): OciSpec {
  return JSON.parse(readFileSync(join(t.paths.bundle(guest), 'config.json'), 'utf8')) as OciSpec;
}

let serial = 0;

/**
 * Runs argv as root in a copy of a running guest's container without `removed`; returns what it
 * printed. Its runtime state, cgroup and bundle are gone when this returns, also on failure.
 */
export async function runControl(
  t: TestRoot,
  guest: string,
  removed: readonly Protection[],
  argv: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const runtime = t.runtimePath(); // the one the guest itself runs under
  const id = `control-${process.pid}-${++serial}`;
  const own = t.paths.bundle(guest);
  const bundle = join(t.root, 'controls', id);
  const state = join(t.root, 'controls', 'state');
  mkdirSync(state, { recursive: true });
  // the files the guest's config binds (hostname, hosts) come along, as the bundle is the guest's
  cpSync(own, bundle, { recursive: true });
  const spec = guestSpec(t, guest);
  for (const m of spec.mounts) if (m.source?.startsWith(`${own}/`)) m.source = bundle + m.source.slice(own.length);
  for (const p of removed) REMOVE[p](spec);
  spec.process.args = argv;
  spec.linux.cgroupsPath = `/${t.paths.cgroupName(id)}`;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  try {
    return await run(runtime, ['--root', state, 'run', '--bundle', bundle, id], { timeoutMs: 60_000 });
  } finally {
    await run(runtime, ['--root', state, 'delete', '--force', id]);
    rmSync(bundle, { recursive: true, force: true });
  }
}
