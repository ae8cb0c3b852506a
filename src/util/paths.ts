// Every file of an installation lives under one root prefix (--root / VSERVER_ROOT).
import { shortHash } from './unique.js';
import { join, resolve } from 'node:path';

export class Paths {
  readonly root: string;
  /** '' for the system installation, else a short tag that keeps host-wide names apart. */
  readonly instance: string;

  // the directories a listing of every guest looks into, joined once: path.join per guest adds up
  readonly etc: string;
  readonly guestConfigDir: string;
  readonly run: string;
  /** What was set up for a guest's network, so that it can be taken down even after a crash. */
  readonly netStateDir: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.instance = this.root === '/' ? '' : shortHash(this.root).slice(0, 6);
    this.etc = join(this.root, 'etc/vserver');
    this.guestConfigDir = join(this.etc, 'guests');
    this.run = join(this.root, 'run/vserver');
    this.netStateDir = join(this.run, 'net');
  }

  get hostConfig(): string {
    return join(this.etc, 'vserver.toml');
  }
  /** NAME is a checked guest name (no slash, no dot): no joining needed. */
  guestConfig(name: string): string {
    return `${this.guestConfigDir}/${name}.toml`;
  }

  get lib(): string {
    return join(this.root, 'var/lib/vserver');
  }
  get guestsDir(): string {
    return join(this.lib, 'guests');
  }
  guestDir(name: string): string {
    return join(this.guestsDir, name);
  }
  rootfs(name: string): string {
    return join(this.guestDir(name), 'rootfs');
  }
  /** An overlay guest's own changes, and overlayfs's work directory beside them. */
  upper(name: string): string {
    return join(this.guestDir(name), 'upper');
  }
  work(name: string): string {
    return join(this.guestDir(name), 'work');
  }
  /** A change of the tree's id range in progress: written before the first file moves, removed after the config. */
  reownJournal(name: string): string {
    return join(this.guestDir(name), 'reown.json');
  }
  /** Snapshots of a guest's own tree: snapshots/NAME/SNAP/ with tree/ and snapshot.json. */
  get snapshotsDir(): string {
    return join(this.lib, 'snapshots');
  }
  snapshots(name: string): string {
    return join(this.snapshotsDir, name);
  }
  snapshot(name: string, snap: string): string {
    return join(this.snapshots(name), snap);
  }
  /** Present while a snapshot holds the guest frozen: gc thaws a guest whose snapshot died. */
  frozenMark(name: string): string {
    return join(this.run, 'frozen', name);
  }
  get templatesDir(): string {
    return join(this.lib, 'templates');
  }
  template(name: string): string {
    return join(this.templatesDir, name);
  }
  templateRootfs(name: string): string {
    return join(this.template(name), 'rootfs');
  }
  templateMeta(name: string): string {
    return join(this.template(name), 'template.toml');
  }
  /** '@' keeps template locks apart from guest locks: no guest name starts with it. */
  templateLock(name: string): string {
    return join(this.locks, `@template-${name}.lock`);
  }
  get debootstrapCache(): string {
    return join(this.root, 'var/cache/vserver/debootstrap');
  }

  get logDir(): string {
    return join(this.root, 'var/log/vserver');
  }
  log(name: string): string {
    return join(this.logDir, `${name}.log`);
  }

  get locks(): string {
    return join(this.run, 'locks');
  }
  lock(name: string): string {
    return join(this.locks, `${name}.lock`);
  }
  /** Held while a context number is picked or changed, installation-wide. */
  get contextsLock(): string {
    return join(this.locks, '.contexts');
  }
  runtimeRoot(runtime: string): string {
    return join(this.run, runtime);
  }
  /** Bundle (config.json) the runtime was started with; lives on tmpfs, gone after reboot. */
  bundle(name: string): string {
    return join(this.run, 'bundles', name);
  }
  /** What list, stat, ps and top need of each guest's config (a cache of etc/vserver/guests). */
  get guestIndex(): string {
    return join(this.run, 'guests.json');
  }
  get runtimeCache(): string {
    return join(this.run, 'runtime.json');
  }
  /** Where this installation mounts its own lxcfs when the host runs none. */
  get lxcfsDir(): string {
    return join(this.run, 'lxcfs');
  }
  get lxcfsPidfile(): string {
    return join(this.run, 'lxcfs.pid');
  }
  get lxcfsLog(): string {
    return join(this.logDir, 'lxcfs.log');
  }
  /** Network namespaces of the guests (bind mounts of nsfs), kept until the guest is cleaned up. */
  get netnsDir(): string {
    return join(this.run, 'netns');
  }
  netns(name: string): string {
    return join(this.netnsDir, name);
  }
  /** A sysfs of the guest's network namespace, which the runtime binds at the guest's /sys. */
  get sysfsDir(): string {
    return join(this.run, 'sysfs');
  }
  sysfs(name: string): string {
    return join(this.sysfsDir, name);
  }
  /** Marks a limit change on a running guest from before the kernel gets it until the config is saved. */
  limitChange(name: string): string {
    return join(this.run, 'limits', `${name}.changing`);
  }
  netState(name: string): string {
    return `${this.netStateDir}/${name}.json`;
  }
  /** What every guest's recorded start holds on the network, kept between runs (a cache). */
  get netHolds(): string {
    return join(this.run, 'holds', 'states.json');
  }
  /** A new value at every change of the recorded starts, made under the network lock. */
  get netGeneration(): string {
    return join(this.run, 'holds', 'generation');
  }
  /** What a listing shows of every guest's recorded start, kept between runs (a cache). */
  get netShown(): string {
    return join(this.run, 'holds', 'interfaces.json');
  }

  /** Name of the guest's cgroup, unique on the host across installations. */
  cgroupName(name: string): string {
    return this.instance === '' ? `vserver-${name}` : `vserver-${this.instance}-${name}`;
  }

  /** Marks host-wide network objects (device aliases, nftables tables) as this installation's. */
  get netTag(): string {
    return this.instance === '' ? 'vserver' : `vserver.${this.instance}`;
  }

  /** Prefix shared by all cgroups of this installation. */
  get cgroupPrefix(): string {
    return this.instance === '' ? 'vserver-' : `vserver-${this.instance}-`;
  }
}

export function defaultRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.VSERVER_ROOT && env.VSERVER_ROOT !== '' ? env.VSERVER_ROOT : '/';
}
