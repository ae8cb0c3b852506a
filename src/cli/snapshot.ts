// vserver snapshot NAME [SNAP];  snapshot list NAME;  snapshot restore NAME SNAP [--discard];  snapshot delete NAME SNAP
import { VsError } from '../util/errors.js';
import type { CliContext } from './context.js';
import { table } from './format.js';

const ACTIONS = ['list', 'restore', 'delete', 'create'];

function methodText(method: string): string {
  if (method === 'reflink') return 'reflink (blocks shared with the guest until either changes)';
  if (method === 'copy') return 'full copy (this filesystem cannot share blocks)';
  return 'moved (the tree itself)';
}

export async function run(ctx: CliContext): Promise<number> {
  const pos = ctx.args.positionals;
  // a guest named like an action is snapshotted with 'snapshot create NAME'
  const action = ACTIONS.includes(pos[0]!) ? pos[0]! : 'create';
  if (action !== 'create' && pos.length < 2) {
    throw new VsError(
      'USAGE',
      `'snapshot ${action}' needs NAME`,
      `for example: vserver snapshot ${action} web1${action === 'list' ? '' : ' before-upgrade'}`,
    );
  }
  const [name, snap] = action === 'create' && pos[0] !== 'create' ? pos : pos.slice(1);
  const engine = ctx.engine();
  const needSnap = () => {
    if (snap === undefined)
      throw new VsError(
        'USAGE',
        `'snapshot ${action}' needs NAME and SNAP`,
        `for example: vserver snapshot ${action} ${name} before-upgrade`,
      );
    return snap;
  };
  if (ctx.args.options.discard === true && action !== 'restore') {
    throw new VsError('USAGE', '--discard goes with snapshot restore only', `for example: vserver snapshot restore ${name} SNAP --discard`);
  }
  switch (action) {
    case 'list': {
      if (pos.length > 2)
        throw new VsError(
          'USAGE',
          `'snapshot list' takes one guest name, got '${pos.slice(2).join(' ')}' too`,
          `usage: vserver snapshot list ${name}`,
        );
      const all = await engine.snapshotList(name!);
      if (ctx.json) ctx.out(`${JSON.stringify(all)}\n`);
      else
        ctx.out(
          table(
            ['SNAPSHOT', 'CREATED', 'METHOD', 'BACKEND', 'FROZEN'],
            all.map((s) => [s.name, s.created.replace(/\.\d+Z$/, 'Z'), s.method, s.backend, s.frozen ? `${s.frozenMs ?? 0} ms` : '-']),
          ),
        );
      return 0;
    }
    case 'delete':
      await engine.snapshotDelete(name!, needSnap());
      ctx.out(ctx.json ? `${JSON.stringify({ name, snapshot: snap, deleted: true })}\n` : `deleted snapshot ${snap} of guest ${name}\n`);
      return 0;
    case 'restore': {
      const r = await engine.snapshotRestore(name!, needSnap(), { discard: ctx.args.options.discard === true });
      if (ctx.json) ctx.out(`${JSON.stringify(r)}\n`);
      else {
        ctx.out(`restored guest ${name} to snapshot ${snap} (${r.restored.created})\n`);
        ctx.out(r.kept ? `  the tree it had is kept as snapshot ${r.kept.name}\n` : '  the tree it had is discarded\n');
        if (r.shifted > 0) ctx.out(`  ${r.shifted} files moved to the guest's current id range\n`);
      }
      return 0;
    }
    default: {
      if (pos.length > (pos[0] === 'create' ? 3 : 2))
        throw new VsError(
          'USAGE',
          `unknown snapshot action '${pos[0]}'`,
          'use: vserver snapshot NAME [SNAP] | list NAME | restore NAME SNAP [--discard] | delete NAME SNAP',
        );
      const s = await engine.snapshotCreate(name!, snap);
      if (ctx.json) ctx.out(`${JSON.stringify(s)}\n`);
      else {
        ctx.out(`made snapshot ${s.name} of guest ${name}\n  method  ${methodText(s.method)}\n`);
        ctx.out(
          s.frozen
            ? `  frozen  ${s.frozenMs} ms while its ${s.backend === 'overlay' ? 'upper layer' : 'tree'} was copied\n`
            : '  frozen  no (the guest was stopped)\n',
        );
      }
      return 0;
    }
  }
}
