// Entry point: answers --version before anything else is loaded, then hands over to the CLI.
import { VERSION } from './version.js';

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`vserver ${VERSION}\n`);
} else {
  // files vserver makes (guest trees, the /etc files it provides, state) get the modes it asks for,
  // whatever umask the calling shell has
  process.umask(0o022);
  void import('./cli/main.js').then(async ({ main }) => {
    process.exitCode = await main(argv);
  });
}
