// Entry point: answers --version before anything else is loaded, then hands over to the CLI.
import { VERSION } from './version.js';

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`vserver ${VERSION}\n`);
} else {
  // a reader that stopped reading (vserver ps | head) is no failure of ours: the rest of the output
  // is dropped, and the command still finishes what it changes (a start half done would be worse)
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  }
  let finished = false;
  // a wait that nothing will ever end lets Node exit quietly with 0: never let a command end that way
  process.on('beforeExit', () => {
    if (finished) return;
    finished = true;
    process.stderr.write(
      'vserver: the command stopped before it finished (nothing was left to wait for)\n' +
        '  this is a bug; rerun with VSERVER_DEBUG=1 and report what it printed\n',
    );
    process.exitCode = 1;
  });
  void import('./cli/main.js').then(async ({ main }) => {
    process.exitCode = await main(argv);
    finished = true;
  });
}
