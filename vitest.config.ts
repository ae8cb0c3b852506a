import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // the default report, then every skip and partial test with its reason (and a warning without root)
    reporters: ['default', './tests/helpers/skip-report.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          setupFiles: ['tests/helpers/setup-env.ts'],
          // each installation a test makes claims id ranges under its own root, not the host's registry
          env: { VSERVER_ID_REGISTRY: 'var/lib/vserver/ranges' },
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'system',
          include: ['tests/system/**/*.test.ts', 'tests/security/**/*.test.ts'],
          // real guests on a small machine: a few files at a time, each file's tests in order
          maxWorkers: 2,
          setupFiles: ['tests/helpers/setup-env.ts', 'tests/helpers/setup-system.ts'],
          sequence: { groupOrder: 1 },
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
