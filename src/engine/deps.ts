// What the use cases are built from; each part is made on first use so that cheap verbs stay cheap.
import { GuestStore, readHostConfig } from '../guest/store.js';
import { TemplateStore } from '../guest/template-store.js';
import type { HostConfig } from '../guest/schema.js';
import { cgroupReader, type CgroupReader } from '../resources/cgroup.js';
import { selectRuntime } from '../runtime/select.js';
import type { Runtime } from '../runtime/types.js';
import { findStaticBusybox } from '../storage/busybox.js';
import { Paths } from '../util/paths.js';

export interface Deps {
  readonly paths: Paths;
  readonly store: GuestStore;
  readonly templates: TemplateStore;
  host(): HostConfig;
  runtime(): Promise<Runtime>;
  cgroups(): CgroupReader;
}

export interface DepsOverrides {
  runtime?: Runtime;
  cgroups?: CgroupReader;
  host?: HostConfig;
}

export function makeDeps(root: string, overrides: DepsOverrides = {}): Deps {
  const paths = new Paths(root);
  let host = overrides.host;
  let runtime: Promise<Runtime> | undefined = overrides.runtime ? Promise.resolve(overrides.runtime) : undefined;
  let cgroups = overrides.cgroups;
  const deps: Deps = {
    paths,
    store: new GuestStore(paths),
    templates: new TemplateStore(paths),
    host: () => (host ??= readHostConfig(paths)),
    runtime: () => (runtime ??= selectRuntime(paths, deps.host(), { probeBinary: findStaticBusybox() })),
    cgroups: () => (cgroups ??= cgroupReader()),
  };
  return deps;
}
