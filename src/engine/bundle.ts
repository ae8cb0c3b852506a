// The config.json a running guest was started with, read back through a schema: exec takes its
// rlimits and root from it, and `vserver limit` writes new rlimits into it.
import { join } from 'node:path';
import * as v from 'valibot';
import { readIfExists } from '../util/fs.js';
import { checkJson } from '../util/json.js';
import type { Deps } from './deps.js';

/** The parts vserver reads; everything else is kept as it is when the file is written back. */
const BundleSpecSchema = v.looseObject({
  root: v.optional(v.looseObject({ path: v.optional(v.string()) })),
  process: v.looseObject({ rlimits: v.optional(v.array(v.unknown())) }),
  linux: v.optional(
    v.looseObject({
      uidMappings: v.optional(v.array(v.looseObject({ containerID: v.number(), hostID: v.number(), size: v.number() }))),
    }),
  ),
});
export type BundleSpec = v.InferOutput<typeof BundleSpecSchema>;

export const bundleFile = (deps: Deps, name: string): string => join(deps.paths.bundle(name), 'config.json');

/** The guest's bundle spec; undefined when it has none (not running), or why the file is damaged. */
export function readBundleSpec(deps: Deps, name: string): { ok: true; value: BundleSpec } | { ok: false; why: string } | undefined {
  const text = readIfExists(bundleFile(deps, name));
  return text === undefined ? undefined : parseBundleSpec(text);
}

export const parseBundleSpec = (text: string): { ok: true; value: BundleSpec } | { ok: false; why: string } =>
  checkJson(BundleSpecSchema, text);

/** Whether the host's root is among a guest's user ids: no user namespace, or a mapping that holds host uid 0. */
export function hostRootMapped(spec: BundleSpec): boolean {
  const maps = spec.linux?.uidMappings;
  return maps === undefined || maps.some((m) => m.hostID <= 0 && m.hostID + m.size > 0);
}
