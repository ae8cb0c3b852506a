// vserver __relay ROOT REMOTE HOST CMD...: not a verb for users. What migrate gives rsync as -e (and
// runs for the receive protocol): CMD on REMOTE's daemon, joined to our stdio; HOST, which rsync
// puts first, is ignored.
import { ApiClient } from '../remote/client.js';
import { relay } from '../remote/relay.js';
import { resolveRemote } from '../remote/store.js';
import { VsError } from '../util/errors.js';
import { Paths } from '../util/paths.js';

export async function relayCommand(argv: readonly string[]): Promise<number> {
  const [root, spec, , ...command] = argv;
  if (root === undefined || spec === undefined || command.length === 0)
    throw new VsError('USAGE', '__relay needs ROOT REMOTE HOST CMD...', 'vserver migrate runs it; it is not for use by hand');
  try {
    return await relay(new ApiClient(resolveRemote(new Paths(root), spec)), command);
  } finally {
    // stdin may still be open (rsync keeps it): nothing more goes, and no handle left keeps this process
    process.stdin.destroy();
    setTimeout(() => process.exit(), 1000).unref();
  }
}
