// A closing section of every test run: each skipped test with its reason, each test that checked
// less than it could (an annotation of type "partial"), and, without root, that only the pure
// parts of vserver were tested.
import type { Reporter, TestModule } from 'vitest/node';

export const PARTIAL = 'partial';

export default class SkipReport implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const skipped: string[] = [];
    const partial: string[] = [];
    let systemSkipped = 0;
    let systemTotal = 0;
    for (const m of modules) {
      const file = m.relativeModuleId;
      for (const test of m.children.allTests()) {
        const r = test.result();
        const system = test.project.name === 'system';
        if (system) systemTotal++;
        if (r.state === 'skipped') {
          if (system) systemSkipped++;
          if (r.note) skipped.push(`  ${file} > ${test.fullName}\n      ${r.note}`);
        }
        for (const a of test.annotations()) if (a.type === PARTIAL) partial.push(`  ${file} > ${test.fullName}\n      ${a.message}`);
      }
    }
    const out: string[] = [];
    if (skipped.length > 0) out.push(`Skipped, with the reason (${skipped.length}):`, ...skipped);
    if (partial.length > 0) out.push(`Tested in part, with the reason (${partial.length}):`, ...partial);
    if (process.getuid?.() !== 0 && systemSkipped > 0) {
      const bar = '!'.repeat(78);
      out.push(
        bar,
        `ONLY THE PURE PARTS WERE TESTED: ${systemSkipped} of ${systemTotal} system and security tests did not run.`,
        'They start real guests and need root. Run npm test as root (or bash .ci/run) to test vserver itself.',
        bar,
      );
    }
    if (out.length > 0) console.log(`\n${out.join('\n')}\n`);
  }
}
