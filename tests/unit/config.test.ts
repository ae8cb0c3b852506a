import { describe, expect, it } from 'vitest';
import { parseGuestConfig, parseHostConfig, toToml } from '../../src/guest/config.js';
import { VsError } from '../../src/util/errors.js';

const FILE = '/etc/vserver/guests/web1.toml';

function configError(text: string): VsError {
  try {
    parseGuestConfig(FILE, text);
  } catch (e) {
    expect(e).toBeInstanceOf(VsError);
    expect((e as VsError).code).toBe('CONFIG_INVALID');
    return e as VsError;
  }
  throw new Error('no error');
}

describe('guest config', () => {
  it('fills in defaults', () => {
    expect(parseGuestConfig(FILE, 'context = 100\n')).toEqual({ context: 100, init: 'plain', backend: 'dir', privileged: false });
  });

  it('reads every key it knows', () => {
    const c = parseGuestConfig(FILE, [
      'context = 42', 'hostname = "web1.example.org"', 'init = "cmd"', 'cmd = ["/bin/sh", "-c", "sleep 1"]',
      'stop_signal = "SIGTERM"', 'stop_timeout = 5', 'mark = "default"', 'start_order = 10', '[env]', 'FOO = "bar"',
    ].join('\n'));
    expect(c).toMatchObject({ context: 42, init: 'cmd', cmd: ['/bin/sh', '-c', 'sleep 1'], env: { FOO: 'bar' } });
  });

  it('names the file, the key and what is allowed', () => {
    const e = configError('context = 100\ninit = "upstart"\n');
    expect(e.message).toContain(FILE);
    expect(e.message).toMatch(/key 'init' must be one of: plain, cmd, sysv, systemd, openrc/);
    expect(e.hint).toContain(FILE);
  });

  it('refuses unknown keys and lists the allowed ones', () => {
    const e = configError('context = 100\ncolour = "blue"\n');
    expect(e.message).toMatch(/unknown key 'colour'; allowed here: context, hostname, init/);
    expect(configError('context = 100\n[env]\n"1x" = "y"\n').message).toMatch(/env/);
  });

  it('checks ranges and types', () => {
    expect(configError('context = 1\n').message).toMatch(/key 'context' must be at least 2/);
    expect(configError('context = 49152\n').message).toMatch(/must be at most 49151/);
    expect(configError('context = 2.5\n').message).toMatch(/whole number/);
    expect(configError('context = "100"\n').message).toMatch(/key 'context': expected number, got string "100"/);
    expect(configError('hostname = "x"\n').message).toMatch(/key 'context' is missing/);
    expect(configError('context = 100\nhostname = "bad host"\n').message).toMatch(/key 'hostname' must be a host name/);
    expect(configError('context = 100\nstop_signal = "SIGFOO"\n').message).toMatch(/key 'stop_signal' must be a signal/);
  });

  it('wants cmd when init = "cmd"', () => {
    expect(configError('context = 100\ninit = "cmd"\n').message).toMatch(/key 'cmd' is required when init = "cmd"/);
  });

  it('reports broken TOML with its line', () => {
    expect(configError('context = \n').message).toMatch(/not valid TOML \(line 1/);
  });

  it('round-trips through toToml', () => {
    const c = parseGuestConfig(FILE, 'context = 7\ninit = "cmd"\ncmd = ["/bin/true"]\n[env]\nA = "b"\n');
    expect(parseGuestConfig(FILE, toToml(c))).toEqual(c);
  });
});

describe('host config', () => {
  it('has defaults when the file is empty or missing', () => {
    expect(parseHostConfig('/etc/vserver/vserver.toml', '')).toEqual({ runtime: 'auto', context_min: 100, stop_timeout: 30, lxcfs: 'auto', mirror: 'http://deb.debian.org/debian' });
  });

  it('refuses an unknown runtime', () => {
    expect(() => parseHostConfig('/etc/vserver/vserver.toml', 'runtime = "docker"\n')).toThrow(/key 'runtime' must be one of: auto, runc, crun/);
  });
});
