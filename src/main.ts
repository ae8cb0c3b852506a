// Entry point: answers --version before anything else is loaded, then hands over to the CLI.
import { VERSION } from './version.js';

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`vserver ${VERSION}\n`);
} else {
  void import('./cli/main.js').then(async ({ main }) => {
    process.exitCode = await main(argv);
  });
}
