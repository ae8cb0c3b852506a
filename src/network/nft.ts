// nftables: applying a script in one transaction, and listing the tables.
import { VsError } from '../util/errors.js';
import { run } from '../util/proc.js';

export async function nftApply(script: string): Promise<void> {
  if (script === '') return;
  const r = await run('nft', ['-f', '-'], { input: script });
  if (r.code !== 0) {
    throw new VsError(
      'NETWORK_FAILED',
      `nftables refused the rules: ${r.stderr.trim().split('\n').slice(0, 3).join('; ')}`,
      'check that the kernel has nftables NAT (nft_nat, nft_masq, nft_fib); nothing was kept',
    );
  }
}

/** Names of the inet tables; none when nft is not installed, since then none of ours can exist. */
export async function nftInetTables(): Promise<string[]> {
  let r;
  try {
    r = await run('nft', ['-j', 'list', 'tables']);
  } catch (e) {
    if (e instanceof VsError && e.code === 'DEPENDENCY_MISSING') return [];
    throw e;
  }
  if (r.code !== 0) return [];
  const items = (JSON.parse(r.stdout) as { nftables: { table?: { family: string; name: string } }[] }).nftables;
  return items
    .map((i) => i.table)
    .filter((t) => t?.family === 'inet')
    .map((t) => t!.name);
}
