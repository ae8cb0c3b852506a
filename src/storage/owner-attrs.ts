// What a change of owner would lose or leave behind: the kernel drops file capabilities on chown,
// and ACL entries name host ids that the move does not touch. Both are saved before a tree is
// re-owned and put back after, the ACLs' ids moved to the new range (getfacl/setfacl and
// getfattr/setfattr, one run of each).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IdRange } from '../guest/idmap.js';
import { VsError } from '../util/errors.js';
import { run, runOk } from '../util/proc.js';
import { which } from '../util/which.js';

export interface SavedAttrs {
  /** Files with ACLs and with capabilities. */
  acls: number;
  caps: number;
  /** Tools that were missing, so that those attributes could not be kept. */
  missing: string[];
  restore(): Promise<void>;
}

function shift(id: number, from: IdRange, to: IdRange): number {
  return id >= from.base && id < from.base + from.size ? id - from.base + to.base : id;
}

/** getfacl's dump with every numeric id (owners and named entries) moved from one range to the other. */
export function shiftAclDump(dump: string, from: IdRange, to: IdRange): string {
  return dump
    .split('\n')
    .map((l) => {
      const owner = /^# (owner|group): (\d+)$/.exec(l);
      if (owner) return `# ${owner[1]}: ${shift(Number(owner[2]), from, to)}`;
      return l.replace(/^((?:default:)?(?:user|group):)(\d+):/, (_m, p: string, id: string) => `${p}${shift(Number(id), from, to)}:`);
    })
    .join('\n');
}

async function dump(file: string, args: string[], what: string): Promise<string> {
  const r = await run(file, args);
  if (r.code !== 0 && r.stdout === '')
    throw new VsError('INTERNAL', `cannot read the ${what} under the tree: ${r.stderr.trim().split('\n').pop()}`);
  return r.stdout;
}

/** Reads ACLs and capabilities under root (no link followed); scratch holds the dumps until restore. */
export async function saveOwnerAttrs(root: string, from: IdRange, to: IdRange, scratch: string): Promise<SavedAttrs> {
  const missing = ['getfacl', 'setfacl', 'getfattr', 'setfattr'].filter((t) => !which(t));
  const tag = `${process.pid}-${Date.now()}`;
  const files: string[] = [];
  const steps: [string, string[]][] = [];
  let acls = 0;
  let caps = 0;
  if (which('getfacl') && which('setfacl')) {
    const text = await dump('getfacl', ['-R', '-P', '-n', '-s', '--absolute-names', '--', root], 'ACLs');
    acls = (text.match(/^# file: /gm) ?? []).length;
    if (acls > 0) {
      const f = join(scratch, `acl-${tag}`);
      writeFileSync(f, shiftAclDump(text, from, to), { mode: 0o600 });
      files.push(f);
      steps.push(['setfacl', ['-P', `--restore=${f}`]]);
    }
  }
  if (which('getfattr') && which('setfattr')) {
    const text = await dump(
      'getfattr',
      ['-R', '-P', '-h', '-d', '-m', '^security\\.capability$', '-e', 'hex', '--absolute-names', '--', root],
      'file capabilities',
    );
    caps = (text.match(/^security\.capability=/gm) ?? []).length;
    if (caps > 0) {
      const f = join(scratch, `caps-${tag}`);
      writeFileSync(f, text, { mode: 0o600 });
      files.push(f);
      // after the ACLs: restoring those sets owners again, which would drop capabilities
      steps.push(['setfattr', ['-h', `--restore=${f}`]]);
    }
  }
  return {
    acls,
    caps,
    missing,
    restore: async () => {
      try {
        for (const [file, args] of steps) await runOk(file, args);
      } finally {
        for (const f of files) rmSync(f, { force: true });
      }
    },
  };
}
