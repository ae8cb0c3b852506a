import { chmodSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseGuestConfig } from '../../src/guest/config.js';
import type { GuestConfig } from '../../src/guest/schema.js';
import { withoutPrivilege } from '../../src/guest/trust.js';
import { buildSpec } from '../../src/runtime/spec.js';
import { capabilitySet, DEFAULT_CAPABILITIES, isCapabilityName, normalizeCapability } from '../../src/oci/capabilities.js';
import { contextRange, idMappings, ownerRange } from '../../src/guest/idmap.js';
import { defaultSeccomp, denialReason, loadSeccompProfile } from '../../src/security/seccomp.js';
import { shiftOwnership } from '../../src/storage/shift.js';
import { ociValidator } from '../helpers/oci-schema.js';

const tmps: string[] = [];
afterEach(() => {
  for (const t of tmps.splice(0)) rmSync(t, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'vss-'));
  tmps.push(d);
  return d;
};
const isRoot = process.getuid?.() === 0;

describe('capabilities', () => {
  it('accepts names with or without CAP_, in any case', () => {
    expect(normalizeCapability('net_raw')).toBe('CAP_NET_RAW');
    expect(isCapabilityName('CAP_SYS_TIME')).toBe(true);
    expect(isCapabilityName('SYS_TIME')).toBe(true);
    expect(isCapabilityName('FLY')).toBe(false);
  });

  it('adds to and drops from the default set', () => {
    const set = capabilitySet({ add: ['NET_RAW'], drop: ['CAP_SYS_PTRACE', 'mknod'] });
    expect(set).toContain('CAP_NET_RAW');
    expect(set).not.toContain('CAP_SYS_PTRACE');
    expect(set).not.toContain('CAP_MKNOD');
    expect(new Set(capabilitySet())).toEqual(new Set(DEFAULT_CAPABILITIES));
  });

  it('refuses an unknown capability name in the config instead of ignoring it', () => {
    expect(() => parseGuestConfig('/g.toml', 'context = 5\n[security]\ncapabilities = { add = ["NET_RAW", "FLY"] }\n')).toThrow(
      /key 'security.capabilities.add.1' has "FLY", which is not a Linux capability/,
    );
  });
});

describe('user namespace ids', () => {
  it('maps guest root to context * 65536, 65536 ids', () => {
    expect(contextRange(100)).toEqual({ base: 6553600, size: 65536 });
    expect(idMappings(contextRange(2))).toEqual([{ containerID: 0, hostID: 131072, size: 65536 }]);
    expect(ownerRange(100, true)).toEqual({ base: 0, size: 65536 });
  });

  it('puts a user namespace with the mappings into a valid spec', () => {
    const spec = buildSpec({
      name: 'g',
      context: 7,
      rootfs: '/r',
      hostname: 'g',
      args: ['/sbin/init'],
      cgroupsPath: '/vserver-g',
      capabilities: DEFAULT_CAPABILITIES,
      seccomp: defaultSeccomp('x64'),
      idMappings: idMappings(contextRange(7)),
    });
    expect(spec.linux.namespaces.map((n) => n.type)).toContain('user');
    expect(spec.linux.uidMappings).toEqual([{ containerID: 0, hostID: 458752, size: 65536 }]);
    expect(spec.linux.gidMappings).toEqual(spec.linux.uidMappings);
    expect(ociValidator()(spec)).toBe(true);
  });
});

describe('seccomp', () => {
  const p = defaultSeccomp('x64');
  const denied = p.syscalls!.filter((r) => !r.args).flatMap((r) => r.names);

  it('denies modules, kexec, shocker, keys, bpf, perf, userfaultfd, swap and the clock', () => {
    for (const s of [
      'init_module',
      'finit_module',
      'delete_module',
      'kexec_load',
      'kexec_file_load',
      'open_by_handle_at',
      'keyctl',
      'add_key',
      'request_key',
      'bpf',
      'perf_event_open',
      'userfaultfd',
      'swapon',
      'swapoff',
      'settimeofday',
      'clock_settime',
      'adjtimex',
    ]) {
      expect(denied, s).toContain(s);
    }
    expect(denialReason('bpf')).toBe('bpf and perf');
    expect(denialReason('getpid')).toBeUndefined();
  });

  it('refuses new user namespaces by flag and clone3 with ENOSYS', () => {
    const unshare = p.syscalls!.find((r) => r.names.includes('unshare'))!;
    expect(unshare.args).toEqual([{ index: 0, value: 0x10000000, valueTwo: 0x10000000, op: 'SCMP_CMP_MASKED_EQ' }]);
    expect(p.syscalls!.find((r) => r.names.includes('clone3'))?.errnoRet).toBe(38);
  });

  it('loads a custom profile and refuses a file that is not one', () => {
    const d = tmp();
    writeFileSync(
      join(d, 'ok.json'),
      JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] }),
    );
    expect(loadSeccompProfile(join(d, 'ok.json')).defaultAction).toBe('SCMP_ACT_ERRNO');
    writeFileSync(join(d, 'bad.json'), '{"hello": 1}');
    expect(() => loadSeccompProfile(join(d, 'bad.json'))).toThrow(/is not an OCI seccomp object/);
    expect(() => loadSeccompProfile(join(d, 'none.json'))).toThrow(/cannot be read/);
  });
});

describe('ownership shift', () => {
  beforeEach((ctx) => {
    if (!isRoot) ctx.skip('needs root: it changes owners of files');
  });
  it('moves owners into the range, keeps set-id bits, changes links without following them', () => {
    const root = tmp();
    const outside = tmp();
    writeFileSync(join(outside, 'host-file'), 'x');
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc/passwd'), 'root');
    writeFileSync(join(root, 'su'), '');
    chmodSync(join(root, 'su'), 0o4755);
    writeFileSync(join(root, 'www'), '');
    lchownSync(join(root, 'www'), 33, 33);
    symlinkSync(join(outside, 'host-file'), join(root, 'escape'));
    const n = shiftOwnership(root, { base: 0, size: 65536 }, contextRange(3));
    expect(n).toBe(6);
    expect(lstatSync(join(root, 'etc/passwd')).uid).toBe(196608);
    expect(lstatSync(join(root, 'www')).gid).toBe(196608 + 33);
    expect(lstatSync(join(root, 'su')).mode & 0o7777).toBe(0o4755);
    expect(lstatSync(join(root, 'escape')).uid).toBe(196608);
    expect(lstatSync(join(outside, 'host-file')).uid).toBe(0); // the link's target is untouched
    // repeating it, or shifting back, works on what is in range only
    expect(shiftOwnership(root, { base: 0, size: 65536 }, contextRange(3))).toBe(0);
    shiftOwnership(root, contextRange(3), contextRange(4));
    expect(lstatSync(join(root, 'etc/passwd')).uid).toBe(262144);
  });
});

describe('an imported config without privilege', () => {
  const base = { context: 200, init: 'plain', backend: 'dir', privileged: false } as GuestConfig;

  it('keeps a config that asks for nothing more, untouched', () => {
    const cfg = { ...base, security: { capabilities: { drop: ['NET_RAW'] } }, interfaces: [{ mode: 'bridge' as const }] };
    expect(withoutPrivilege(cfg)).toEqual({ config: cfg, dropped: [] });
  });

  it('drops privileged mode, added capabilities, a seccomp profile and host or phys interfaces, and names each', () => {
    const cfg = {
      ...base,
      privileged: true,
      hostname: 'kept',
      security: { seccomp_profile: '/etc/x.json', capabilities: { add: ['SYS_ADMIN'], drop: ['NET_RAW'] } },
      interfaces: [{ mode: 'bridge' as const }, { mode: 'phys' as const, parent: 'eth1' }],
    };
    const r = withoutPrivilege(cfg);
    expect(r.dropped).toEqual([
      'privileged = true',
      'security.capabilities.add = ["SYS_ADMIN"]',
      'security.seccomp_profile = "/etc/x.json"',
      'interfaces.1 (mode = "phys", parent = "eth1")',
    ]);
    expect(r.config).toEqual({
      ...base,
      hostname: 'kept',
      security: { capabilities: { drop: ['NET_RAW'] } },
      interfaces: [{ mode: 'bridge' }],
    });
  });

  it('leaves no empty security table or interface list behind', () => {
    const r = withoutPrivilege({ ...base, security: { capabilities: { add: ['NET_ADMIN'] } }, interfaces: [{ mode: 'host' }] });
    expect(r.config).toEqual(base);
  });
});
