// Two hosts on one machine for migration tests: a source and a target installation, each in a
// network namespace of its own, joined by a veth pair with private addresses. The target runs sshd
// with a host key and an authorized key made for the test, and, when asked, vserverd with its TLS
// listener on the target's address; nothing of it leaves the namespaces.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, runOk, sleep } from '../../src/util/proc.js';
import { CLI, IS_ROOT, TestRoot } from './host.js';
import { TestNetns } from './netns.js';
import { startTlsDaemon, stopDaemon } from './tls-daemon.js';

const SOURCE_ADDR = '10.251.7.1';
const TARGET_ADDR = '10.251.7.2';
const PORT = 2222;
const API_PORT = 8443;

export class TwoHosts {
  readonly srcNs: TestNetns;
  readonly dstNs: TestNetns;
  readonly source: TestRoot;
  readonly target: TestRoot;
  readonly dir: string;
  private sshd: ChildProcess | undefined;
  daemon: ChildProcess | undefined;
  private madeRunSshd = false;

  constructor(tag: string) {
    this.srcNs = new TestNetns(`${tag}s`);
    this.dstNs = new TestNetns(`${tag}d`);
    this.source = new TestRoot(`${tag}-src`, { netns: this.srcNs.name });
    this.target = new TestRoot(`${tag}-dst`, { netns: this.dstNs.name });
    this.dir = IS_ROOT ? mkdtempSync('/tmp/vst-ssh-') : '/tmp/vst-ssh-not-made';
  }

  get dest(): string {
    return `ssh://root@${TARGET_ADDR}:${PORT}`;
  }

  /** The ssh options and target vserver a migration of this pair takes. */
  migrateOptions(): string[] {
    return [
      '--ssh-option',
      `IdentityFile=${join(this.dir, 'client')}`,
      '--ssh-option',
      'IdentitiesOnly=yes',
      '--ssh-option',
      `UserKnownHostsFile=${join(this.dir, 'known_hosts')}`,
      '--ssh-option',
      'StrictHostKeyChecking=yes',
      '--remote-vserver',
      join(this.dir, 'vserver-target'),
    ];
  }

  migrateArgs(name: string, ...extra: string[]): string[] {
    return ['migrate', name, this.dest, ...this.migrateOptions(), ...extra];
  }

  async setup(): Promise<void> {
    await this.srcNs.create();
    await this.dstNs.create();
    await this.srcNs.vethTo(this.dstNs, 'mig0', 'mig1', `${SOURCE_ADDR}/30`, `${TARGET_ADDR}/30`);
    await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(this.dir, 'host_key')]);
    await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(this.dir, 'client')]);
    writeFileSync(join(this.dir, 'authorized_keys'), readFileSync(join(this.dir, 'client.pub')), { mode: 0o600 });
    writeFileSync(join(this.dir, 'known_hosts'), `[${TARGET_ADDR}]:${PORT} ${readFileSync(join(this.dir, 'host_key.pub'), 'utf8')}`);
    writeFileSync(
      join(this.dir, 'sshd_config'),
      [
        `Port ${PORT}`,
        `ListenAddress ${TARGET_ADDR}`,
        `HostKey ${join(this.dir, 'host_key')}`,
        `AuthorizedKeysFile ${join(this.dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        `PidFile ${join(this.dir, 'sshd.pid')}`,
        'ClientAliveInterval 2',
        'ClientAliveCountMax 3',
        '',
      ].join('\n'),
    );
    // the target's vserver: its own root and id registry, as the installed one would have its own host
    writeFileSync(
      join(this.dir, 'vserver-target'),
      [
        '#!/bin/sh',
        `export VSERVER_ROOT='${this.target.root}' VSERVER_ID_REGISTRY=var/lib/vserver/ranges`,
        `exec '${process.execPath}' '${CLI}' "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    if (!existsSync('/run/sshd')) {
      mkdirSync('/run/sshd', { mode: 0o755 });
      this.madeRunSshd = true;
    }
    this.sshd = spawn('nsenter', [`--net=${this.dstNs.path}`, '--', '/usr/sbin/sshd', '-D', '-e', '-f', join(this.dir, 'sshd_config')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    this.sshd.stderr!.on('data', (b: Buffer) => {
      log += b.toString();
    });
    for (let i = 0; ; i++) {
      const r = await this.ssh(['true']);
      if (r.code === 0) return;
      if (i > 50) throw new Error(`sshd in the target namespace did not answer: ${r.stderr} ${log}`);
      await sleep(100);
    }
  }

  /** Starts the target's vserverd on its address; the source's remote `name` then reaches it (token, pinned certificate). */
  async startDaemon(name: string): Promise<void> {
    this.daemon = await startTlsDaemon(this.target, name, { host: TARGET_ADDR, port: API_PORT, client: this.source });
  }

  async stopDaemon(): Promise<void> {
    await stopDaemon(this.daemon);
  }

  /** A command on the target through ssh, from the source namespace. */
  ssh(argv: string[]): ReturnType<typeof run> {
    const opts = ['-i', join(this.dir, 'client'), '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${join(this.dir, 'known_hosts')}`];
    return this.srcNs.exec(
      'ssh',
      ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=3', ...opts, '-p', String(PORT), `root@${TARGET_ADDR}`, '--', ...argv],
      10_000,
    );
  }

  linkDown(): Promise<string> {
    return this.srcNs.ip('link', 'set', 'dev', 'mig0', 'down');
  }

  linkUp(): Promise<string> {
    return this.srcNs.ip('link', 'set', 'dev', 'mig0', 'up');
  }

  /** Staging directories (.build-*) in the target's guest and template directories. */
  targetStaging(): string[] {
    const out: string[] = [];
    for (const d of [this.target.paths.guestsDir, this.target.paths.templatesDir]) {
      try {
        for (const e of readdirSync(d)) if (e.startsWith('.build-')) out.push(join(d, e));
      } catch {
        /* not made yet */
      }
    }
    return out;
  }

  /** Removes sshd and its sessions, the guests and roots of both sides, the namespaces and the keys. */
  async cleanup(): Promise<void> {
    try {
      await stopDaemon(this.daemon);
      if (this.sshd?.pid !== undefined) {
        this.sshd.kill('SIGKILL');
        // its sessions (and the receivers they run) are in the target namespace: end them too
        await run('ip', ['netns', 'pids', this.dstNs.name]).then(async (r) => {
          for (const p of r.stdout.split('\n').filter((l) => /^\d+$/.test(l))) {
            try {
              process.kill(Number(p), 'SIGKILL');
            } catch {
              /* gone */
            }
          }
        });
      }
      await this.source.cleanup();
      await this.target.cleanup();
    } finally {
      await this.srcNs.remove();
      await this.dstNs.remove();
      rmSync(this.dir, { recursive: true, force: true });
      if (this.madeRunSshd)
        try {
          rmdirSync('/run/sshd');
        } catch {
          /* in use */
        }
    }
  }
}
