// vserver build NAME [--template T | --debootstrap SUITE | --tarball FILE | --clone GUEST] [--backend dir|overlay] ...
import type { BuildSource } from '../engine/index.js';
import { INIT_STYLES, type InitStyle } from '../guest/schema.js';
import { VsError } from '../util/errors.js';
import { intOpt, nameArg, stringOpt, type CliContext } from './context.js';
import { progressPrinter } from './progress.js';
import { printInfo } from './show.js';

/** The one source named on the command line (shared with `template create`). */
export function sourceOf(ctx: CliContext, kinds: BuildSource['kind'][]): BuildSource | undefined {
  const given: BuildSource[] = [];
  const t = stringOpt(ctx, 'template');
  const d = stringOpt(ctx, 'debootstrap');
  const f = stringOpt(ctx, 'tarball');
  const c = stringOpt(ctx, 'clone');
  if (t !== undefined && kinds.includes('template')) given.push({ kind: 'template', name: t });
  if (d !== undefined) {
    const include = stringOpt(ctx, 'include')
      ?.split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    given.push({ kind: 'debootstrap', suite: d, mirror: stringOpt(ctx, 'mirror'), variant: stringOpt(ctx, 'variant'), include });
  } else if (stringOpt(ctx, 'mirror') !== undefined || stringOpt(ctx, 'variant') !== undefined || stringOpt(ctx, 'include') !== undefined) {
    throw new VsError(
      'USAGE',
      '--mirror, --variant and --include go with --debootstrap',
      'for example: --debootstrap bookworm --mirror http://deb.debian.org/debian',
    );
  }
  if (f !== undefined) given.push({ kind: 'tarball', file: f });
  if (c !== undefined && kinds.includes('clone')) given.push({ kind: 'clone', guest: c });
  if (given.length > 1) {
    throw new VsError('USAGE', `give one source, not ${given.map((g) => `--${g.kind}`).join(' and ')}`, 'a tree comes from one place');
  }
  return given[0];
}

export async function run(ctx: CliContext): Promise<number> {
  const init = stringOpt(ctx, 'init');
  if (init !== undefined && !(INIT_STYLES as readonly string[]).includes(init)) {
    throw new VsError('USAGE', `unknown init style '${init}'`, `use one of: ${INIT_STYLES.join(', ')}`);
  }
  if (init === 'cmd' && ctx.args.rest.length === 0) {
    throw new VsError(
      'USAGE',
      '--init cmd needs the command after --',
      'for example: vserver build job1 --init cmd -- /bin/sh -c "sleep 1000"',
    );
  }
  const backend = stringOpt(ctx, 'backend');
  if (backend !== undefined && backend !== 'dir' && backend !== 'overlay') {
    throw new VsError('USAGE', `unknown backend '${backend}'`, 'use dir or overlay');
  }
  const progress = progressPrinter(ctx);
  let info;
  try {
    info = await ctx.engine().build(nameArg(ctx), {
      source: sourceOf(ctx, ['template', 'debootstrap', 'tarball', 'clone']),
      backend,
      isolated: ctx.args.options.isolated === true,
      context: intOpt(ctx, 'context'),
      hostname: stringOpt(ctx, 'hostname'),
      init: init as InitStyle | undefined,
      cmd: ctx.args.rest.length > 0 ? ctx.args.rest : undefined,
      privileged: ctx.args.options.privileged === true,
      onProgress: progress.update,
    });
  } finally {
    progress.done();
  }
  if (ctx.json) ctx.out(`${JSON.stringify(info)}\n`);
  else {
    ctx.out(`built guest ${info.name} (context ${info.context})\n`);
    printInfo(ctx, info, false);
  }
  return 0;
}
