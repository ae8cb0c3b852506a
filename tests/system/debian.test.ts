// A real Debian 12 (minbase) template made with debootstrap, and sysvinit and systemd guests
// built from it: they boot, run services, and shut down through their own init.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, IS_ROOT, TestRoot } from '../helpers/host.js';
import { sleep } from '../../src/util/proc.js';

/** Downloaded packages are kept here between runs (CI may cache it); the build itself always runs. */
const CACHE = '/var/cache/vserver-test/debootstrap';

const HEARTBEAT = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          heartbeat
# Required-Start:    $local_fs
# Required-Stop:     $local_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: writes the time every second
### END INIT INFO
case "$1" in
  start) start-stop-daemon --start --background --make-pidfile --pidfile /run/heartbeat.pid --exec /bin/sh -- -c 'while :; do date +%s > /run/heartbeat; sleep 1; done'
         echo "started by rc" >> /var/log/heartbeat.state ;;
  stop)  start-stop-daemon --stop --pidfile /run/heartbeat.pid --remove-pidfile
         echo "stopped by rc" >> /var/log/heartbeat.state ;;
esac
exit 0
`;

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

describe.skipIf(!IS_ROOT)('Debian guests', () => {
  const t = new TestRoot('deb');
  /** sysvinit's rc scripts run after start returns (bootclean empties /tmp): wait for them as a user would */
  const reachesRunlevel2 = async (name: string) =>
    (
      await until(
        'runlevel 2',
        async () => {
          const r = await t.cli(['exec', name, '--', 'runlevel']);
          return r.stdout.trim() === 'N 2' ? r.stdout : undefined;
        },
        30_000,
      )
    ).trim();
  let ttyOutput = '';
  afterAll(() => t.cleanup());
  // each test stops its guests; when one fails halfway, its guest must not be running for the next
  afterEach(async () => {
    for (const g of ['sv1', 'sd1']) if ((await t.cli(['running', g])).code === 0) await t.cli(['stop', g, '--timeout', '5']);
  });

  beforeAll(async () => {
    mkdirSync(CACHE, { recursive: true });
    mkdirSync(t.paths.etc, { recursive: true });
    writeFileSync(t.paths.hostConfig, `debootstrap_cache = "${CACHE}"\n`);
    // on a terminal (script gives it one), so that the progress bar is drawn
    ttyOutput = execFileSync(
      'script',
      ['-q', '-e', '-c', `${process.execPath} ${CLI} template create deb12 --debootstrap bookworm`, '/dev/null'],
      { env: t.env(), maxBuffer: 1 << 26, timeout: 900_000 },
    ).toString();
  }, 900_000);

  it('draws a progress bar with stage and package count on a terminal', () => {
    expect(ttyOutput).toMatch(/\r\x1b\[K\[#+\.*\] +\d+% \(\d+\/\d+ packages\) [A-Z][a-z]+ /);
    expect(ttyOutput).toMatch(/made template deb12 \(context \d+, from debootstrap bookworm\)/);
  });

  it('runs sysvinit to its runlevel, starts services from the rc scripts and stops through them', async () => {
    await t.ok(['build', 'sv1', '--template', 'deb12']);
    const root = t.paths.rootfs('sv1');
    const info = JSON.parse((await t.cli(['status', 'sv1', '--json'])).stdout);
    expect(info.init).toBe('sysv');
    await t.ok(['start', 'sv1']);
    // the service is installed the Debian way, then the guest restarts to start it at boot
    await t.ok(
      ['exec', 'sv1', '--', 'sh', '-c', 'cat > /etc/init.d/heartbeat && chmod 755 /etc/init.d/heartbeat && update-rc.d heartbeat defaults'],
      { input: HEARTBEAT },
    );
    await t.ok(['restart', 'sv1']);
    expect(await reachesRunlevel2('sv1')).toBe('N 2');
    const beat1 = await until(
      'the heartbeat',
      async () => {
        const r = await t.cli(['exec', 'sv1', '--', 'cat', '/run/heartbeat']);
        return r.code === 0 ? Number(r.stdout) : undefined;
      },
      30_000,
    );
    await sleep(2200);
    expect(Number((await t.ok(['exec', 'sv1', '--', 'cat', '/run/heartbeat'])).trim())).toBeGreaterThan(beat1);
    expect((await t.ok(['exec', 'sv1', '--', 'hostname'])).trim()).toBe('sv1');
    expect((await t.ok(['exec', 'sv1', '--', 'cat', '/etc/hostname'])).trim()).toBe('sv1');
    expect((await t.ok(['exec', 'sv1', '--', 'passwd', '-S', 'root'])).split(' ')[1]).toBe('L');
    // no getty: the guest has no consoles
    const cmdlines = await t.ok(['exec', 'sv1', '--', 'sh', '-c', 'cat /proc/[0-9]*/cmdline | tr "\\0" " "']);
    expect(cmdlines).not.toMatch(/getty/);
    const t0 = Date.now();
    await t.ok(['stop', 'sv1']);
    const took = Date.now() - t0;
    expect(took).toBeLessThan(20_000); // init halted on its own, long before the 30 s timeout
    expect(readFileSync(join(root, 'var/log/heartbeat.state'), 'utf8')).toMatch(/started by rc\n(.*\n)*stopped by rc\n$/);
  });

  it('lets apt-get and dpkg work inside the guest', async () => {
    await t.ok(['start', 'sv1']);
    try {
      expect(await reachesRunlevel2('sv1')).toBe('N 2');
      await t.ok(['exec', 'sv1', '--', 'apt-get', 'check']);
      // a local package: apt resolves, unpacks and configures it with no network at all, and
      // installs nothing else (apt's whole output is in the error if it wants to download anything)
      const out = await t.ok([
        'exec',
        'sv1',
        '--',
        'sh',
        '-c',
        [
          'set -e; d=/var/tmp/pkg; mkdir -p $d/DEBIAN $d/usr/share/vst',
          'printf "Package: vst-hello\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: t <t@example.org>\\nDescription: test\\n" > $d/DEBIAN/control',
          'echo hi > $d/usr/share/vst/hello; chmod 644 $d/DEBIAN/control; dpkg-deb --build $d /var/tmp/vst-hello.deb >/dev/null',
          'chmod 644 /var/tmp/vst-hello.deb; apt-get install -y -q --no-install-recommends /var/tmp/vst-hello.deb 2>&1',
        ].join('; '),
      ]);
      expect(out).toMatch(/^0 upgraded, 1 newly installed, 0 to remove/m);
      expect(await t.ok(['exec', 'sv1', '--', 'dpkg-query', '-W', '-f', '${Status}', 'vst-hello'])).toBe('install ok installed');
      expect(await t.ok(['exec', 'sv1', '--', 'cat', '/usr/share/vst/hello'])).toBe('hi\n');
      await t.ok(['exec', 'sv1', '--', 'apt-get', 'remove', '-y', '-q', 'vst-hello']);
    } finally {
      // a failure here must not leave sv1 running for the tests after it
      await t.cli(['stop', 'sv1', '--timeout', '10']);
    }
    // the package went into the guest's own layer, not into the template
    expect(existsSync(join(t.paths.templateRootfs('deb12'), 'usr/share/vst'))).toBe(false);
  });

  it('boots systemd to multi-user.target and stops it with SIGRTMIN+3', async () => {
    await t.ok(['build', 'sd1', '--template', 'deb12', '--init', 'systemd']);
    await t.ok(['start', 'sd1']);
    const state = await until(
      'systemd to finish booting',
      async () => {
        const r = await t.cli(['exec', 'sd1', '--', 'systemctl', 'is-system-running']);
        const s = r.stdout.trim();
        return s === 'running' || s === 'degraded' ? s : undefined;
      },
      90_000,
    );
    const failed = await t.ok(['exec', 'sd1', '--', 'systemctl', 'list-units', '--failed', '--plain', '--no-legend']);
    expect({ state, failed: failed.trim() }).toEqual({ state: 'running', failed: '' });
    expect((await t.ok(['exec', 'sd1', '--', 'systemctl', 'is-active', 'multi-user.target'])).trim()).toBe('active');
    expect((await t.ok(['exec', 'sd1', '--', 'cat', '/proc/1/comm'])).trim()).toBe('systemd');
    expect((await t.ok(['exec', 'sd1', '--', 'hostname'])).trim()).toBe('sd1');
    const units = await t.ok([
      'exec',
      'sd1',
      '--',
      'systemctl',
      'list-units',
      '--type=service',
      '--state=running',
      '--plain',
      '--no-legend',
    ]);
    expect(units).not.toMatch(/getty/);
    // systemd runs a service the usual way
    await t.ok(['exec', 'sd1', '--', 'systemd-run', '--unit', 'vst-sleeper', '/bin/sleep', '300']);
    expect((await t.ok(['exec', 'sd1', '--', 'systemctl', 'is-active', 'vst-sleeper'])).trim()).toBe('active');
    const t0 = Date.now();
    await t.ok(['stop', 'sd1']);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(await t.leaks()).toEqual([]);
  });

  it('refuses an unknown suite and an unreachable mirror, keeping nothing', async () => {
    const r = await t.cli(['template', 'create', 'nope', '--debootstrap', 'no-such-suite']);
    expect(r.code).toBe(17);
    expect(r.stderr).toMatch(/unknown suite 'no-such-suite'/);
    // a closed port on loopback: nothing leaves the machine
    const m = await t.cli(['build', 'nope', '--debootstrap', 'bookworm', '--mirror', 'http://127.0.0.1:9/debian']);
    expect(m.code).toBe(14);
    expect(m.stderr).toMatch(/debootstrap cannot fetch bookworm from http:\/\/127\.0\.0\.1:9\/debian/);
    expect(m.stderr).toMatch(/^debootstrap: Downloading Release file$/m);
    expect(readdirSync(t.paths.guestsDir).filter((e) => e !== 'sv1' && e !== 'sd1')).toEqual([]);
    expect(readdirSync(t.paths.templatesDir)).toEqual(['deb12']);
  });

  it('deletes the guests and then the template, leaving no mount', async () => {
    expect((await t.cli(['template', 'delete', 'deb12'])).code).toBe(18);
    await t.ok(['delete', 'sv1']);
    await t.ok(['delete', 'sd1']);
    await t.ok(['template', 'delete', 'deb12']);
    expect(t.allMounts()).toEqual([]);
    expect(await t.leaks()).toEqual([]);
  });
});
