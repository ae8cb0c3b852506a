// The seccomp filter every guest gets: allow by default, deny the calls that lead out of a guest
// or that a guest never needs. Each denied call names the reason, which the escape suite prints.
import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import type { OciSeccomp, OciSyscallRule } from '../oci/types.js';
import { VsError } from '../util/errors.js';
import { checkJson } from '../util/json.js';

const EPERM = 1;
const ENOSYS = 38;
const CLONE_NEWUSER = 0x10000000;

/** Denied system calls, grouped by why. */
export const DENIED: Record<string, readonly string[]> = {
  'kernel modules': ['init_module', 'finit_module', 'delete_module', 'create_module', 'query_module', 'get_kernel_syms'],
  kexec: ['kexec_load', 'kexec_file_load'],
  // with DAC_READ_SEARCH it opens any file of the host's filesystem by handle ("shocker")
  'file handles': ['open_by_handle_at'],
  'kernel keyring': ['keyctl', 'add_key', 'request_key'],
  'bpf and perf': ['bpf', 'perf_event_open'],
  userfaultfd: ['userfaultfd'],
  swap: ['swapon', 'swapoff'],
  'system clock': ['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'adjtimex', 'clock_adjtime', 'clock_adjtime64'],
  'kernel log': ['syslog'],
  'process accounting and quotas': ['acct', 'quotactl', 'quotactl_fd'],
  'raw I/O ports': ['iopl', 'ioperm', 'pciconfig_read', 'pciconfig_write', 'pciconfig_iobase'],
  'new mount API': ['fsopen', 'fsconfig', 'fsmount', 'fspick', 'open_tree', 'move_mount', 'mount_setattr'],
  // a frequent source of kernel bugs, and nothing a guest system depends on
  io_uring: ['io_uring_setup', 'io_uring_enter', 'io_uring_register'],
  obsolete: ['lookup_dcookie', 'nfsservctl', 'uselib', 'vm86', 'vm86old', '_sysctl', 'sysfs', 'ustat'],
};

/** The group a denied syscall belongs to, for reports. */
export function denialReason(syscall: string): string | undefined {
  for (const [why, names] of Object.entries(DENIED)) if (names.includes(syscall)) return why;
  if (syscall === 'unshare' || syscall === 'clone' || syscall === 'clone3') return 'nested user namespaces';
  return undefined;
}

export function seccompArchitectures(arch: string = process.arch): string[] {
  switch (arch) {
    case 'x64':
      return ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];
    case 'arm64':
      return ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'];
    case 'ia32':
      return ['SCMP_ARCH_X86'];
    case 'arm':
      return ['SCMP_ARCH_ARM'];
    case 'ppc64':
      return ['SCMP_ARCH_PPC64LE'];
    case 's390x':
      return ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390'];
    case 'riscv64':
      return ['SCMP_ARCH_RISCV64'];
    default:
      return [];
  }
}

/**
 * A user namespace made inside a guest hands its creator every capability within it, which
 * reopens the kernel surface the bounding set closed; so unshare and clone may not ask for one.
 * clone3 passes its flags in memory that seccomp cannot read: it answers ENOSYS, and the C
 * library falls back to clone, which is checked.
 */
function noNestedUserNamespaces(): OciSyscallRule[] {
  const newUser = { index: 0, value: CLONE_NEWUSER, valueTwo: CLONE_NEWUSER, op: 'SCMP_CMP_MASKED_EQ' };
  return [
    { names: ['unshare'], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM, args: [newUser] },
    { names: ['clone'], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM, args: [newUser] },
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
  ];
}

export function defaultSeccomp(arch?: string): OciSeccomp {
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: seccompArchitectures(arch),
    syscalls: [{ names: Object.values(DENIED).flat(), action: 'SCMP_ACT_ERRNO', errnoRet: EPERM }, ...noNestedUserNamespaces()],
  };
}

/** A guest's own profile: the `linux.seccomp` object of an OCI config, as JSON. */
export function loadSeccompProfile(file: string): OciSeccomp {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new VsError(
      'CONFIG_INVALID',
      `seccomp profile ${file} cannot be read: ${e instanceof Error ? e.message : String(e)}`,
      'give security.seccomp_profile the path of a JSON file in the OCI linux.seccomp format',
    );
  }
  const r = checkJson(SeccompSchema, text);
  if (!r.ok) {
    throw new VsError(
      'CONFIG_INVALID',
      `seccomp profile ${file} is not an OCI seccomp object: ${r.why}`,
      'see the linux.seccomp section of the OCI runtime specification (it needs "defaultAction": "SCMP_ACT_...")',
    );
  }
  return r.value;
}

const action = v.pipe(v.string(), v.regex(/^SCMP_ACT_/, 'must be an action such as "SCMP_ACT_ERRNO"'));

/** OCI's linux.seccomp; fields of newer runtimes that vserver does not know are passed on as given. */
const SeccompSchema: v.GenericSchema<OciSeccomp> = v.looseObject({
  defaultAction: action,
  defaultErrnoRet: v.optional(v.number()),
  architectures: v.optional(v.array(v.string())),
  syscalls: v.optional(
    v.array(
      v.looseObject({
        names: v.array(v.string()),
        action,
        errnoRet: v.optional(v.number()),
        args: v.optional(
          v.array(v.looseObject({ index: v.number(), value: v.number(), valueTwo: v.optional(v.number()), op: v.string() })),
        ),
      }),
    ),
  ),
});
