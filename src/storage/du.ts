// Disk use of a tree, like vdu: allocated bytes and inodes, each hard-linked inode counted once,
// links never followed, other filesystems never entered.
import { walkTree } from './safe-tree.js';

export interface Usage {
  bytes: number;
  inodes: number;
}

export function treeUsage(root: string, seen: Set<string> = new Set()): Usage {
  const u: Usage = { bytes: 0, inodes: 0 };
  walkTree(root, ({ st }) => {
    const key = `${st.dev}:${st.ino}`;
    if (st.nlink > 1 && !st.isDirectory()) {
      if (seen.has(key)) return;
      seen.add(key);
    }
    u.inodes++;
    u.bytes += st.blocks * 512;
  });
  return u;
}
