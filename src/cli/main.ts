// The CLI: parse, run one verb, print its result or its error; exit with the verb's status.
import { Engine } from '../engine/index.js';
import { isVsError, toVsError, VsError } from '../util/errors.js';
import { defaultRoot, Paths } from '../util/paths.js';
import { isNoSpace, noSpaceError } from '../util/space.js';
import { traceMark } from '../util/trace.js';
import { resolve } from 'node:path';
import { VERSION } from '../version.js';
import { parseArgv } from './argv.js';
import type { CliContext } from './context.js';
import { helpText, verbHelp } from './help.js';
import { VERB_MAP } from './verbs.js';

export async function main(argv: string[]): Promise<number> {
  traceMark('node start-up and loading the CLI');
  const json = argv.includes('--json');
  let root = defaultRoot();
  try {
    // migrate's link to a remote daemon, which rsync runs as its -e: no verb, and not in the help
    if (argv[0] === '__relay') return await (await import('./relay.js')).relayCommand(argv.slice(1));
    const args = parseArgv(argv, VERB_MAP);
    if (args.options.version) {
      process.stdout.write(`vserver ${VERSION}\n`);
      return 0;
    }
    if (!args.verb) {
      if (args.options.help || argv.length === 0) {
        process.stdout.write(helpText());
        return argv.length === 0 ? 2 : 0;
      }
      throw new VsError('USAGE', 'no command given', "run 'vserver --help' for the list of commands");
    }
    const verb = VERB_MAP.get(args.verb)!;
    if (args.options.help) {
      process.stdout.write(verbHelp(verb));
      return 0;
    }
    root = typeof args.options.root === 'string' ? args.options.root : defaultRoot();
    let engine: Engine | undefined;
    // --remote: the same verb through a daemon's API (token and remote manage the local files)
    const remoteSpec = typeof args.options.remote === 'string' ? args.options.remote : process.env.VSERVER_REMOTE || undefined;
    if (remoteSpec !== undefined && verb.name !== 'token' && verb.name !== 'remote') {
      const [{ remoteEngine }, { resolveRemote }] = await Promise.all([import('../remote/engine.js'), import('../remote/store.js')]);
      engine = remoteEngine(resolveRemote(new Paths(root), remoteSpec), verb.name);
    }
    const ctx: CliContext = {
      args,
      json,
      engine: () => (engine ??= new Engine(root)),
      out: (t) => process.stdout.write(t),
      err: (t) => process.stderr.write(t),
    };
    const mod = await verb.load();
    traceMark('verb loaded');
    const code = await mod.run(ctx);
    traceMark('verb done');
    return code;
  } catch (e) {
    // a write that found the disk full: unless the failure says where, it was under the root prefix
    return report(isNoSpace(e) ? noSpaceError(e, resolve(root)) : e, json);
  }
}

function report(e: unknown, json: boolean): number {
  const err = toVsError(e);
  if (json) process.stdout.write(`${JSON.stringify({ error: err.toJSON() })}\n`);
  else process.stderr.write(`vserver: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ''}`);
  if (process.env.VSERVER_DEBUG && !isVsError(e)) process.stderr.write(`${(e as Error).stack ?? ''}\n`);
  return err.exitCode;
}
