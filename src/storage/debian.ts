// Making a system tree fit to run as a guest: the text edits are pure, and they are written into
// the tree only through safe-tree (never following a link the tree holds).
import type { InitStyle } from '../guest/schema.js';
import type { Owner } from './safe-tree.js';
import type { TreeIO } from './tree-io.js';

const MARK = '# vserver:';

/**
 * sysvinit as a guest's PID 1 (as LXC does for Debian): no getty on consoles the guest does not
 * have, and SIGPWR (what `vserver stop` sends) leads to runlevel 0 through the rc scripts at once,
 * instead of Debian's "power is failing, shutdown in 2 minutes".
 */
export function adjustInittab(text: string): string {
  if (text.includes(`${MARK} SIGPWR`)) return text;
  const lines = text.split('\n').map((l) => {
    if (/^[^#:]*:[^:]*:respawn:\S*getty\b/.test(l)) return `#${l}`;
    if (/^[^#:]*::power(wait|failnow|okwait):/.test(l)) return `#${l}`;
    return l;
  });
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.push('', `${MARK} SIGPWR from 'vserver stop' halts the guest through its rc scripts`, 'p0::powerfail:/sbin/init 0', '');
  return lines.join('\n');
}

/** Locks root's password (as `passwd -l` does); an account without a password stays so. */
export function lockRootPassword(shadow: string): string {
  return shadow
    .split('\n')
    .map((l) => {
      const f = l.split(':');
      if (f[0] !== 'root' || f.length < 2) return l;
      if (!f[1]!.startsWith('!') && !f[1]!.startsWith('*')) f[1] = `!${f[1]}`;
      return f.join(':');
    })
    .join('\n');
}

/** /etc/hosts with the guest's name on 127.0.1.1, as Debian's installer writes it. */
export function hostsFor(hostname: string, old?: string): string {
  const short = hostname.split('.')[0]!;
  const names = short === hostname ? hostname : `${hostname} ${short}`;
  const mine = `127.0.1.1\t${names}`;
  if (old === undefined || old.trim() === '') {
    return `127.0.0.1\tlocalhost\n${mine}\n\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n`;
  }
  const lines = old.split('\n').filter((l) => !/^127\.0\.1\.1\s/.test(l));
  const at = lines.findIndex((l) => /^127\.0\.0\.1\s/.test(l));
  lines.splice(at < 0 ? 0 : at + 1, 0, mine);
  return lines.join('\n');
}

/** systemd units that would wait for terminals a guest does not have. */
export const SYSTEMD_MASKS = ['console-getty.service', 'getty@tty1.service', 'serial-getty@console.service', 'getty-static.service'];

export interface GuestIdentity {
  hostname: string;
  init: InitStyle;
  owner: Owner;
  /** A copy of another system (clone, template): forget its machine id so the guest makes its own. */
  newMachine?: boolean;
}

function editIn(t: TreeIO, rel: string, edit: (text: string) => string): void {
  const st = t.lstat(rel);
  const text = st?.isFile() ? t.read(rel) : undefined;
  if (text === undefined || !st) return;
  const next = edit(text);
  if (next !== text) t.write(rel, next, st.mode & 0o7777, { uid: st.uid, gid: st.gid });
}

/** Gives a tree its guest's identity: host name, hosts, machine id, and what its init style needs. */
export function applyIdentity(t: TreeIO, g: GuestIdentity): void {
  if (t.lstat('etc')?.isDirectory() !== true) return;
  t.write('etc/hostname', `${g.hostname}\n`, 0o644, g.owner);
  t.write('etc/hosts', hostsFor(g.hostname, t.read('etc/hosts')), 0o644, g.owner);
  // an empty machine-id tells systemd to make a new one at first boot
  if (g.newMachine && (t.read('etc/machine-id') ?? '') !== '') t.write('etc/machine-id', '', 0o444, g.owner);
  prepareInit(t, g.init, g.owner);
}

export function prepareInit(t: TreeIO, init: InitStyle, owner: Owner): void {
  if (init === 'sysv') editIn(t, 'etc/inittab', adjustInittab);
  if (init === 'systemd' && t.lstat('etc/systemd/system')?.isDirectory()) {
    for (const unit of SYSTEMD_MASKS) {
      if (t.lstat(`etc/systemd/system/${unit}`)?.isSymbolicLink() !== true) t.symlink(`etc/systemd/system/${unit}`, '/dev/null', owner);
    }
  }
}

/** What a fresh Debian tree gets once: a locked root password and both inits made guest-ready. */
export function prepareDebian(t: TreeIO, owner: Owner): void {
  editIn(t, 'etc/shadow', lockRootPassword);
  prepareInit(t, 'sysv', owner);
  prepareInit(t, 'systemd', owner);
  if ((t.read('etc/machine-id') ?? '') !== '') t.write('etc/machine-id', '', 0o444, owner);
}
