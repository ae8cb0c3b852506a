// The seccomp filter every guest gets: allow by default, deny the calls that lead out.
import type { OciSeccomp } from '../runtime/oci-types.js';

const EPERM = 1;

/** Syscalls a guest is refused. open_by_handle_at: with DAC_READ_SEARCH it opens any host file ("shocker"). */
export const DENIED_SYSCALLS = ['open_by_handle_at'] as const;

export function seccompArchitectures(arch: string = process.arch): string[] {
  switch (arch) {
    case 'x64': return ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];
    case 'arm64': return ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'];
    case 'ia32': return ['SCMP_ARCH_X86'];
    case 'arm': return ['SCMP_ARCH_ARM'];
    case 'ppc64': return ['SCMP_ARCH_PPC64LE'];
    case 's390x': return ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390'];
    case 'riscv64': return ['SCMP_ARCH_RISCV64'];
    default: return [];
  }
}

export function defaultSeccomp(arch?: string): OciSeccomp {
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: seccompArchitectures(arch),
    syscalls: [{ names: [...DENIED_SYSCALLS], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM }],
  };
}
