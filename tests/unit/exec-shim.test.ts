// How `runc exec` is asked to put back the soft open-files limit runc loses: the exec shim from fd 3
// in a guest whose root is not the host's, the guest's shell otherwise (a privileged guest, whose
// root could write to a host program run in it; a terminal relay, whose fd 3 is its control pipe).
import { afterEach, describe, expect, it } from 'vitest';
import { hostRootMapped, parseBundleSpec } from '../../src/engine/bundle.js';
import { OciCli } from '../../src/runtime/oci-cli.js';
import type { ExecIO } from '../../src/runtime/types.js';
import { Programs } from '../helpers/programs.js';

const LIMITS = [{ type: 'RLIMIT_NOFILE' as const, soft: 16, hard: 32 }];
const IO: ExecIO = {
  stdin: 'pipe',
  stdout: 'pipe',
  stderr: 'pipe',
  rlimits: LIMITS,
  guestShell: true,
  hostRootMapped: false,
  onSpawn: (child) => child.stdin?.end(), // the double answers once its input has ended
};

let programs: Programs | undefined;
afterEach(() => programs?.dispose());

async function execArgv(name: 'runc' | 'crun', io: Partial<ExecIO>): Promise<string> {
  programs = new Programs(() => ({ code: 0 }));
  await new OciCli(name, `/usr/sbin/${name}`, '/run/state').exec('g1', ['ls', '-l'], { ...IO, ...io });
  const [call] = programs.argv();
  programs.dispose();
  return call!.replace(/\n/g, ' ');
}

describe('exec shim', () => {
  it('runs the command through the shim from fd 3 in an unprivileged guest', async () => {
    expect(await execArgv('runc', {})).toBe('/usr/sbin/runc --root /run/state exec --preserve-fds 1 g1 /proc/self/fd/3 16 ls -l');
  });

  it("uses the guest's shell in a privileged guest, behind a relay, and nothing when no soft limit is lost", async () => {
    expect(await execArgv('runc', { hostRootMapped: true })).toMatch(
      /^\/usr\/sbin\/runc --root \/run\/state exec g1 \/bin\/sh -c .* 16 ls -l$/,
    );
    expect(await execArgv('runc', { hostRootMapped: undefined })).not.toMatch(/preserve-fds/);
    const relay = { relay: '/x/pty-relay', socket: '/x/s', pidFile: '/x/p' };
    expect(await execArgv('runc', { tty: true, console: relay })).toMatch(/--detach --pid-file \/x\/p g1 \/bin\/sh -c .* 16 ls -l$/);
    expect(await execArgv('runc', { rlimits: [{ type: 'RLIMIT_NOFILE', soft: 32, hard: 32 }] })).toBe(
      '/usr/sbin/runc --root /run/state exec g1 ls -l',
    );
    // crun needs no shim: its exec runs under exactly the guest's limits, which it passes on
    expect(await execArgv('crun', {})).toBe('prlimit --nofile=16:32 -- /usr/sbin/crun --root /run/state exec g1 ls -l');
  });

  it("tells a guest whose root is the host's from its bundle", () => {
    const spec = (linux: object) => {
      const r = parseBundleSpec(JSON.stringify({ process: {}, linux }));
      if (!r.ok) throw new Error(r.why);
      return r.value;
    };
    expect(hostRootMapped(spec({}))).toBe(true);
    expect(hostRootMapped(spec({ uidMappings: [{ containerID: 0, hostID: 6553600, size: 65536 }] }))).toBe(false);
    expect(hostRootMapped(spec({ uidMappings: [{ containerID: 0, hostID: 0, size: 1 }] }))).toBe(true);
    expect(
      hostRootMapped(
        spec({
          uidMappings: [
            { containerID: 1, hostID: 100000, size: 10 },
            { containerID: 0, hostID: 0, size: 1 },
          ],
        }),
      ),
    ).toBe(true);
  });
});
