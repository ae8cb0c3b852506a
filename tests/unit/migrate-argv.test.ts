// What the daemon's migration route runs: the receive protocol, or rsync's server into an announced staging tree.
import { describe, expect, it } from 'vitest';
import { checkRelayCommand } from '../../src/daemon/migrate-argv.js';

const STAGING = '/r/var/lib/vserver/guests/.build-web-1/rootfs';
const staging = new Map<string, readonly string[]>([[STAGING, ['/opt/idmap-run', '0', '65536', '65536', '--', 'rsync']]]);
const server = (dest: string, ...opts: string[]) => [
  'rsync',
  '--server',
  '-lHogDtpAXrSe.iLsfxCIvu',
  '--log-format=%i',
  '--timeout=10',
  '--delete',
  '--numeric-ids',
  ...opts,
  '.',
  dest,
];

describe('checkRelayCommand', () => {
  it('runs rsync into an announced staging tree, under the command the receive chose', () => {
    expect(checkRelayCommand(server(`${STAGING}/`), staging)).toEqual({
      kind: 'rsync',
      dest: STAGING,
      argv: ['/opt/idmap-run', '0', '65536', '65536', '--', 'rsync', ...server('').slice(1, -1), `${STAGING}/`],
    });
    expect(checkRelayCommand(['receive', 'web'], staging)).toEqual({ kind: 'receive', name: 'web' });
  });

  it('refuses another directory, a path out of the staging tree, and options that name paths', () => {
    for (const bad of [
      server('/etc/'),
      server(`${STAGING}/../../../../etc/`),
      server(`${STAGING}/sub/`),
      server(`${STAGING}/`, '--log-file=/etc/x'),
      server(`${STAGING}/`, '--temp-dir=/tmp'),
      ['rsync', '--server', '--sender', '-lHogDtpAXrSe.iLsfxCIvu', '.', `${STAGING}/`],
      ['rsync', '--server', '-lHogDtpAXrSTe.iLsfxCIvu', '.', `${STAGING}/`],
      // keep-dirlinks and copy-links would write through a symlink a guest left in its tree
      ['rsync', '--server', '-lHogDtpAXrSKe.iLsfxCIvu', '.', `${STAGING}/`],
      ['rsync', '--server', '-LHogDtpAXrSe.iLsfxCIvu', '.', `${STAGING}/`],
      ['sh', '-c', 'id'],
      ['receive', 'web', 'extra'],
    ])
      expect(() => checkRelayCommand(bad, staging), JSON.stringify(bad)).toThrow(/the migration route does not run/);
    expect(() => checkRelayCommand(['receive', '../x'], staging)).toThrow();
    expect(() => checkRelayCommand('rsync', staging)).toThrow(/must be a JSON array/);
    // the control: the same shapes into the staging tree pass
    expect(checkRelayCommand(server(STAGING), staging).kind).toBe('rsync');
  });
});
