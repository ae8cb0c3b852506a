// Snapshot names: the default, and what is refused.
import { describe, expect, it } from 'vitest';
import { checkSnapName, defaultSnapName } from '../../src/engine/snapshot-store.js';

describe('snapshot names', () => {
  it('names a snapshot by the UTC time by default, and refuses names that could leave its directory', () => {
    expect(defaultSnapName(new Date('2026-12-02T03:15:00.123Z'))).toBe('20261202-031500');
    for (const ok of ['a', 'before-upgrade', 'v1.2_rc', '20261202-031500']) expect(checkSnapName(ok)).toBe(ok);
    for (const bad of ['', '.', '..', '.new-x', '../x', 'a/b', 'x'.repeat(65), 'a b'])
      expect(() => checkSnapName(bad), bad).toThrow(/invalid snapshot name/);
  });
});
