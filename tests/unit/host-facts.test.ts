// The host's bridges and addresses a start reads: kept by a process for a second while only its own
// starts changed the network records, and read again after another process's change, after this
// process changed a bridge itself, and after the second.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeDeps } from '../../src/engine/deps.js';
import { forgetHostFacts, hostFacts } from '../../src/engine/host-facts.js';
import { recordChanged } from '../../src/engine/net-view.js';
import type { IpSession } from '../../src/network/ip-session.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vshf-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

describe("a start's facts of the host", () => {
  it("are kept while only this process changed the records, and read again after another's change, its own bridge change, or a second", async () => {
    const root = join(dir, 'root');
    mkdirSync(join(root, 'etc/vserver'), { recursive: true });
    const mine = makeDeps(root);
    const other = makeDeps(root); // another process
    mkdirSync(mine.paths.netStateDir, { recursive: true });
    let asked = 0;
    const session = {
      bridgesAndAddresses: async () => {
        asked++;
        return { bridges: [{ name: 'vsbr0', kind: 'bridge', up: true, mtu: 1500, addresses: [`10.47.0.${asked}/16`] }], local: [] };
      },
    } as unknown as IpSession;
    const ip = () => session;
    const facts = async () => (await hostFacts(mine, ip)).bridges[0]!.addresses[0];
    // no generation yet: nothing to tell another process's change by, so ip is asked each time
    expect(await facts()).toBe('10.47.0.1/16');
    expect(await facts()).toBe('10.47.0.2/16');
    recordChanged(mine, 'a', undefined);
    expect(await facts()).toBe('10.47.0.3/16');
    expect(await facts()).toBe('10.47.0.3/16');
    // this process's own starts keep them
    recordChanged(mine, 'b', undefined);
    recordChanged(mine, 'c', undefined);
    expect(await facts()).toBe('10.47.0.3/16');
    // the control: another process's change (which may have made or removed a bridge) is seen
    recordChanged(other, 'd', undefined);
    expect(await facts()).toBe('10.47.0.4/16');
    expect(await facts()).toBe('10.47.0.4/16');
    // this process changed a bridge itself
    forgetHostFacts(mine);
    expect(await facts()).toBe('10.47.0.5/16');
    // a second later, whatever changed
    const now = performance.now();
    vi.spyOn(performance, 'now').mockReturnValue(now + 1500);
    expect(await facts()).toBe('10.47.0.6/16');
    expect(asked).toBe(6);
  });
});
