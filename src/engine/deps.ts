// What the use cases are built from; each part is made on first use so that cheap verbs stay cheap.
import { GuestStore, readHostConfig } from '../guest/store.js';
import { TemplateStore } from '../guest/template-store.js';
import type { HostConfig } from '../guest/schema.js';
import { cgroupReader, detectLayout, unifiedControllers, type CgroupReader } from '../resources/cgroup.js';
import { readHostFacts } from '../resources/host-facts.js';
import type { HostFacts } from '../resources/limits.js';
import { LxcfsDaemon, type Lxcfs } from '../resources/lxcfs.js';
import { selectRuntime, type RuntimeSettings } from '../runtime/select.js';
import type { Runtime } from '../runtime/types.js';
import { findStaticBusybox } from '../storage/busybox.js';
import { Paths } from '../util/paths.js';
import { join } from 'node:path';

export interface Deps {
  readonly paths: Paths;
  readonly store: GuestStore;
  readonly templates: TemplateStore;
  host(): HostConfig;
  runtime(): Promise<Runtime>;
  cgroups(): CgroupReader;
  /** The host's CPUs, swap accounting, I/O weights, and the block devices named (for limits). */
  hostFacts(devices: readonly string[]): HostFacts;
  lxcfs(): Lxcfs;
}

export interface DepsOverrides {
  runtime?: Runtime;
  cgroups?: CgroupReader;
  host?: HostConfig;
  hostFacts?: (devices: readonly string[]) => HostFacts;
  lxcfs?: Lxcfs;
}

const FACTS_FOR_MS = 2000;

export function makeDeps(root: string, overrides: DepsOverrides = {}): Deps {
  const paths = new Paths(root);
  let host = overrides.host;
  let runtime: Promise<Runtime> | undefined = overrides.runtime ? Promise.resolve(overrides.runtime) : undefined;
  let cgroups = overrides.cgroups;
  let lxcfs = overrides.lxcfs;
  // read once for the many guests of a bulk run; briefly, since a daemon lives on while disks come and go
  const facts = new Map<string, { at: number; facts: HostFacts }>();
  const deps: Deps = {
    paths,
    store: new GuestStore(paths),
    templates: new TemplateStore(paths),
    host: () => (host ??= readHostConfig(paths)),
    runtime: () => (runtime ??= selectRuntime(paths, runtimeSettings(deps.host()), { probeBinary: () => findStaticBusybox() })),
    cgroups: () => (cgroups ??= cgroupReader()),
    hostFacts: (devices) => {
      if (overrides.hostFacts) return overrides.hostFacts(devices);
      const key = devices.join('\n');
      const hit = facts.get(key);
      if (hit && performance.now() - hit.at < FACTS_FOR_MS) return hit.facts;
      const f = readHostFacts(deps.cgroups().layout, devices);
      facts.set(key, { at: performance.now(), facts: f });
      return f;
    },
    lxcfs: () =>
      (lxcfs ??= new LxcfsDaemon(deps.host().lxcfs, {
        mountpoint: paths.lxcfsDir,
        pidfile: paths.lxcfsPidfile,
        log: paths.lxcfsLog,
        lock: join(paths.locks, '.lxcfs'),
      })),
  };
  return deps;
}

/** The runtime's part of the host settings: all that choosing a runtime needs. */
function runtimeSettings(host: HostConfig): RuntimeSettings {
  const cgroupLayout = detectLayout();
  const left = cgroupLayout === 'hybrid' ? unifiedControllers() : undefined;
  return { runtime: host.runtime, runtime_path: host.runtime_path, cgroupLayout, ...(left ? { unifiedControllers: left } : {}) };
}
