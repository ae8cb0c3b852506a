// An in-memory OCI runtime and cgroup reader, so that the engine's logic can be tested without root.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupEvents, CgroupLimits, CgroupReader, CgroupUsage, IoDeviceLimit } from '../../src/resources/cgroup.js';
import type { HostFacts } from '../../src/resources/limits.js';
import type { Lxcfs, LxcfsResult } from '../../src/resources/lxcfs.js';
import type { OciResources, OciSpec } from '../../src/oci/types.js';
import { VsError } from '../../src/util/errors.js';
import type { ExecIO, Runtime, RuntimeState } from '../../src/runtime/types.js';

export class FakeRuntime implements Runtime {
  readonly name = 'runc' as const;
  readonly path = '/fake/runc';
  containers = new Map<string, RuntimeState & { spec: OciSpec }>();
  calls: string[] = [];
  failRun?: string;
  /** The container's init exits at once: run succeeds, the state then reads stopped. */
  dieAtStart = false;
  /** delete fails with this message and leaves the container. */
  failDelete?: string;

  async run(id: string, bundleDir: string, _io: ExecIO): Promise<void> {
    this.calls.push(`run ${id}`);
    const spec = JSON.parse(readFileSync(join(bundleDir, 'config.json'), 'utf8')) as OciSpec;
    if (this.failRun) {
      // like a real runtime that got half-way: state is left behind for the caller to remove
      this.containers.set(id, { id, pid: 0, status: 'stopped', created: '', spec });
      throw new Error(this.failRun);
    }
    // the fake's "init" is this test process, which is certainly alive
    this.containers.set(id, {
      id,
      pid: process.pid,
      status: this.dieAtStart ? 'stopped' : 'running',
      bundle: bundleDir,
      created: new Date().toISOString(),
      spec,
    });
  }

  async create(id: string, bundleDir: string, io: ExecIO): Promise<void> {
    await this.run(id, bundleDir, io);
    this.calls[this.calls.length - 1] = `create ${id}`;
    const c = this.containers.get(id);
    if (c) c.status = 'created';
  }

  async start(id: string): Promise<void> {
    this.calls.push(`start ${id}`);
    const c = this.containers.get(id);
    if (c) c.status = 'running';
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
    if (this.failDelete) throw new VsError('RUNTIME_FAILED', this.failDelete, 'see the message');
    this.containers.delete(id);
  }

  async exec(id: string, argv: readonly string[]): Promise<number> {
    this.calls.push(`exec ${id} ${argv.join(' ')}`);
    return 0;
  }

  updates: OciResources[] = [];
  /** The next update fails with this message (the one after succeeds, as a revert would). */
  failNextUpdate?: string;

  async update(id: string, resources: OciResources): Promise<void> {
    this.calls.push(`update ${id}`);
    const fail = this.failNextUpdate;
    this.failNextUpdate = undefined;
    if (fail) throw new VsError('RUNTIME_FAILED', fail, 'see the message');
    this.updates.push(resources);
  }

  async pause(id: string): Promise<void> {
    this.calls.push(`pause ${id}`);
    const c = this.containers.get(id);
    if (c) c.status = 'paused';
  }

  async resume(id: string): Promise<void> {
    this.calls.push(`resume ${id}`);
    const c = this.containers.get(id);
    if (c?.status === 'paused') c.status = 'running';
  }
}

export class FakeCgroups implements CgroupReader {
  readonly layout = 'v2' as const;
  removed: string[] = [];
  ioWrites: IoDeviceLimit[][] = [];
  io: IoDeviceLimit[] = [];
  delegated: string[] = [];
  dirs(): string[] {
    return [];
  }
  delegate(name: string, uid: number): string[] {
    this.delegated.push(`${name} ${uid}`);
    return [];
  }
  /** None: whatever the engine does to a guest's processes must never reach a real process from a unit test. */
  pids(): number[] {
    return [];
  }
  firstPid(): number | undefined {
    return undefined;
  }
  list(): string[] {
    return [];
  }
  remove(name: string): string[] {
    this.removed.push(name);
    return [];
  }
  usage(): CgroupUsage {
    return { cpuUsec: 0, userUsec: 0, systemUsec: 0, memoryBytes: 0, memoryMax: Infinity, tasks: 1, ioReadBytes: 0, ioWriteBytes: 0 };
  }
  cpuTimes(): { userUsec: number; systemUsec: number } {
    return { userUsec: 0, systemUsec: 0 };
  }
  limits(): CgroupLimits {
    return { memoryMax: Infinity, memoryHigh: Infinity, cpuMaxCores: Infinity, pidsMax: Infinity, io: this.io };
  }
  events(): CgroupEvents {
    return { oomKills: 0, throttledUsec: 0, throttledPeriods: 0, pidsRefused: 0 };
  }
  limitCounters(): { oomKills: number; pidsRefused: number } {
    return { oomKills: 0, pidsRefused: 0 };
  }
  writeUnlimited(): void {
    /* the fake's limits are what update gave it */
  }

  writeIoLimits(_name: string, limits: readonly IoDeviceLimit[]): void {
    this.ioWrites.push([...limits]);
  }
}

/** A host with two CPUs, swap accounting, no BFQ, and one disk /dev/vda (254:0). */
export function fakeHostFacts(devices: readonly string[]): HostFacts {
  return {
    layout: 'v2',
    cpus: [0, 1],
    ioWeight: false,
    swapAccounting: true,
    devices: new Map(
      devices.map((d) => [
        d,
        d === '/dev/vda' || d === '254:0' ? { id: '254:0' } : { error: `names ${d}, which does not exist on this host` },
      ]),
    ),
  };
}

export class FakeLxcfs implements Lxcfs {
  readonly mode = 'auto' as const;
  prepared = 0;
  constructor(private readonly result: LxcfsResult = { reason: 'lxcfs is not installed (apt-get install lxcfs)' }) {}
  installed(): boolean {
    return 'mounts' in this.result;
  }
  async prepare(): Promise<LxcfsResult> {
    this.prepared++;
    return this.result;
  }
  shutdowns = 0;
  async shutdown(): Promise<void> {
    this.shutdowns++;
  }
}
