// What a tar member may be before it is written into a guest tree (pure): no absolute paths, no
// '..', nothing under a symlink, hard links only to earlier members, symlinks that stay inside.
export type EntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export const TYPE_OF: Record<string, EntryType> = {
  '0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

export class TarPolicyError extends Error {}

/** Splits a member name into components: './' and trailing slashes are dropped; undefined if it is unsafe. */
export function memberParts(name: string): string[] | { unsafe: string } {
  if (name.startsWith('/')) return { unsafe: 'is an absolute path' };
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return { unsafe: "contains '..'" };
  return parts;
}

/**
 * Whether a symlink at `linkParts` with `target` stays inside the tree when read as a path inside
 * the guest: an absolute target starts at the guest's root, a relative one at the link's directory.
 */
export function symlinkStaysInside(linkParts: readonly string[], target: string): boolean {
  if (target === '') return false;
  const stack = target.startsWith('/') ? [] : linkParts.slice(0, -1);
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (stack.length === 0) return false;
      stack.pop();
    } else stack.push(c);
  }
  return true;
}

function show(s: string): string {
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}...` : s);
}

/** Checks members in archive order; `under` is the directory every member must lie in ('' for none). */
export class TreePolicy {
  private readonly symlinks = new Set<string>();
  private readonly nonDirs = new Set<string>();
  private readonly under: string[];
  private readonly anyLinkTarget: boolean;

  /**
   * anyLinkTarget: keep symlinks whatever they point at (an export of a guest's own tree, whose
   * links are data); nothing can be written through one, since no member may lie under a symlink.
   */
  constructor(under = '', opts: { anyLinkTarget?: boolean } = {}) {
    this.under = under === '' ? [] : under.split('/');
    this.anyLinkTarget = opts.anyLinkTarget ?? false;
  }

  /** Throws TarPolicyError for a member that could write outside the tree; returns its components. */
  check(name: string, type: EntryType, linkname: string): string[] {
    const parts = this.place(name, 'member');
    // the tree's root itself: a link there would make every later member land outside
    if (this.under.length > 0 && parts.length === this.under.length && type !== 'dir') {
      throw new TarPolicyError(`member ${show(name)} is the root of the tree and must be a directory, not a ${type}`);
    }
    if (type === 'symlink' && !this.anyLinkTarget) {
      if (!symlinkStaysInside(parts.slice(this.under.length), linkname)) {
        throw new TarPolicyError(`member ${show(name)} is a symlink pointing out of the tree (to ${show(linkname)})`);
      }
    } else if (type === 'hardlink') {
      const target = this.place(linkname, 'hard link target').join('/');
      if (!this.nonDirs.has(target)) {
        throw new TarPolicyError(`member ${show(name)} is a hard link to ${show(linkname)}, which is not an earlier file of the archive`);
      }
    }
    const key = parts.join('/');
    if (this.symlinks.has(key)) throw new TarPolicyError(`member ${show(name)} replaces a symlink of the same archive`);
    if (type === 'symlink') this.symlinks.add(key);
    if (type === 'dir') this.nonDirs.delete(key);
    else this.nonDirs.add(key);
    return parts;
  }

  private place(name: string, what: string): string[] {
    const parts = memberParts(name);
    if (!Array.isArray(parts)) throw new TarPolicyError(`${what} ${show(name)} ${parts.unsafe}`);
    for (let i = 0; i < this.under.length; i++) {
      if (parts[i] !== this.under[i]) throw new TarPolicyError(`${what} ${show(name)} lies outside ${this.under.join('/')}/`);
    }
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (this.symlinks.has(prefix)) throw new TarPolicyError(`${what} ${show(name)} lies under the symlink ${show(prefix)}`);
      if (this.nonDirs.has(prefix)) throw new TarPolicyError(`${what} ${show(name)} lies under ${show(prefix)}, which is not a directory`);
    }
    return parts;
  }
}
