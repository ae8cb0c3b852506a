// An in-memory OCI runtime and cgroup reader, so that the engine's logic can be tested without root.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupReader } from '../../src/resources/cgroup.js';
import type { OciSpec } from '../../src/runtime/oci-types.js';
import type { ExecIO, Runtime, RuntimeState } from '../../src/runtime/types.js';

export class FakeRuntime implements Runtime {
  readonly name = 'runc' as const;
  readonly path = '/fake/runc';
  containers = new Map<string, RuntimeState & { spec: OciSpec }>();
  calls: string[] = [];
  failRun?: string;

  async run(id: string, bundleDir: string, _io: ExecIO): Promise<void> {
    this.calls.push(`run ${id}`);
    const spec = JSON.parse(readFileSync(join(bundleDir, 'config.json'), 'utf8')) as OciSpec;
    if (this.failRun) {
      // like a real runtime that got half-way: state is left behind for the caller to remove
      this.containers.set(id, { id, pid: 0, status: 'stopped', created: '', spec });
      throw new Error(this.failRun);
    }
    // the fake's "init" is this test process, which is certainly alive
    this.containers.set(id, { id, pid: process.pid, status: 'running', bundle: bundleDir, created: new Date().toISOString(), spec });
  }

  async state(id: string): Promise<RuntimeState | undefined> {
    return this.containers.get(id);
  }

  async list(): Promise<RuntimeState[]> {
    return [...this.containers.values()];
  }

  async kill(id: string, signal: number, opts: { all?: boolean } = {}): Promise<void> {
    this.calls.push(`kill ${id} ${signal}${opts.all ? ' all' : ''}`);
  }

  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    this.calls.push(`delete ${id}${opts.force ? ' force' : ''}`);
    this.containers.delete(id);
  }

  async exec(id: string, argv: readonly string[]): Promise<number> {
    this.calls.push(`exec ${id} ${argv.join(' ')}`);
    return 0;
  }

  async update(): Promise<void> {}
}

export class FakeCgroups implements CgroupReader {
  readonly layout = 'v2' as const;
  removed: string[] = [];
  dirs(): string[] { return []; }
  pids(): number[] { return [1]; }
  remove(name: string): string[] {
    this.removed.push(name);
    return [];
  }
}
