// The one schema of the configuration files; the TypeScript types are derived from it.
import * as v from 'valibot';
import { parseSignal } from '../util/proc.js';
import { guestNetEntries, HostNetworkSchema } from './net-schema.js';

export const CONTEXT_MIN = 2;
export const CONTEXT_MAX = 49151;
export const INIT_STYLES = ['plain', 'cmd', 'sysv', 'systemd', 'openrc'] as const;
export const BACKENDS = ['dir', 'overlay'] as const;
export const RUNTIMES = ['auto', 'runc', 'crun'] as const;

const int = (min: number, max: number) =>
  v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`));

const hostname = v.pipe(v.string(),
  v.regex(/^(?=.{1,64}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
    'must be a host name: letters, digits, dashes and dots, 64 characters at most'));

const signal = v.pipe(v.string(), v.check((s) => parseSignal(s) !== undefined,
  'must be a signal name or number, for example "SIGPWR", "RTMIN+3" or "15"'));

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const GuestConfigSchema = v.pipe(
  v.strictObject({
    context: int(CONTEXT_MIN, CONTEXT_MAX),
    hostname: v.optional(hostname),
    init: v.optional(v.picklist(INIT_STYLES, `must be one of: ${INIT_STYLES.join(', ')}`), 'plain'),
    cmd: v.optional(v.pipe(v.array(v.string('each argument must be a string')),
      v.minLength(1, 'must name the program to run, for example ["/bin/sh", "-c", "..."]'))),
    stop_signal: v.optional(signal),
    stop_timeout: v.optional(int(0, 86400)),
    backend: v.optional(v.picklist(BACKENDS, `must be one of: ${BACKENDS.join(', ')}`), 'dir'),
    template: v.optional(v.string()),
    mark: v.optional(v.string()),
    start_order: v.optional(int(0, 1_000_000)),
    env: v.optional(v.record(v.pipe(v.string(), v.regex(envName, 'environment names are letters, digits and _')), v.string())),
    ...guestNetEntries,
  }),
  v.forward(v.check((c) => c.init !== 'cmd' || c.cmd !== undefined, 'is required when init = "cmd"'), ['cmd']),
);

export type GuestConfig = v.InferOutput<typeof GuestConfigSchema>;
export type GuestConfigInput = v.InferInput<typeof GuestConfigSchema>;

export const HostConfigSchema = v.strictObject({
  runtime: v.optional(v.picklist(RUNTIMES, `must be one of: ${RUNTIMES.join(', ')}`), 'auto'),
  runtime_path: v.optional(v.pipe(v.string(), v.startsWith('/', 'must be an absolute path'))),
  context_min: v.optional(int(CONTEXT_MIN, CONTEXT_MAX), 100),
  stop_timeout: v.optional(int(0, 86400), 30),
  network: v.optional(HostNetworkSchema, {}),
});

export type HostConfig = v.InferOutput<typeof HostConfigSchema>;
