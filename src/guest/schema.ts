// The one schema of the configuration files; the TypeScript types are derived from it.
import * as v from 'valibot';
import { isCapabilityName } from '../oci/capabilities.js';
import { parseSignal } from '../util/proc.js';
import { GuestDefaultsSchema } from './defaults-schema.js';
import { LimitsSchema, type LimitsInput } from './limits-schema.js';
import { ApiSchema } from './api-schema.js';
import { guestNetEntries, HostNetworkSchema } from './net-schema.js';

export const CONTEXT_MIN = 2;
export const CONTEXT_MAX = 49151;
export const INIT_STYLES = ['plain', 'cmd', 'sysv', 'systemd', 'openrc'] as const;
export type InitStyle = (typeof INIT_STYLES)[number];
export const BACKENDS = ['dir', 'overlay'] as const;
export const RUNTIMES = ['auto', 'runc', 'crun'] as const;
export const LXCFS_MODES = ['auto', 'off'] as const;

const int = (min: number, max: number) =>
  v.pipe(
    v.number(),
    v.integer('must be a whole number'),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );

const hostname = v.pipe(
  v.string(),
  v.regex(
    /^(?=.{1,64}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
    'must be a host name: letters, digits, dashes and dots, 64 characters at most',
  ),
);

const signal = v.pipe(
  v.string(),
  v.check((s) => parseSignal(s) !== undefined, 'must be a signal name or number, for example "SIGPWR", "RTMIN+3" or "15"'),
);

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

const capability = v.pipe(
  v.string(),
  v.check(
    isCapabilityName,
    (i) => `has ${JSON.stringify(i.input)}, which is not a Linux capability; write names like "NET_RAW" or "CAP_SYS_TIME"`,
  ),
);

const absolutePath = v.pipe(v.string(), v.startsWith('/', 'must be an absolute path'));

const SecuritySchema = v.strictObject({
  capabilities: v.optional(
    v.strictObject({
      add: v.optional(v.array(capability)),
      drop: v.optional(v.array(capability)),
    }),
  ),
  seccomp_profile: v.optional(absolutePath),
});

export const GuestConfigSchema = v.pipe(
  v.strictObject({
    context: int(CONTEXT_MIN, CONTEXT_MAX),
    hostname: v.optional(hostname),
    init: v.optional(v.picklist(INIT_STYLES, `must be one of: ${INIT_STYLES.join(', ')}`), 'plain'),
    cmd: v.optional(
      v.pipe(
        v.array(v.string('each argument must be a string')),
        v.minLength(1, 'must name the program to run, for example ["/bin/sh", "-c", "..."]'),
      ),
    ),
    stop_signal: v.optional(signal),
    stop_timeout: v.optional(int(0, 86400)),
    backend: v.optional(v.picklist(BACKENDS, `must be one of: ${BACKENDS.join(', ')}`), 'dir'),
    template: v.optional(v.string()),
    mark: v.optional(v.string()),
    start_order: v.optional(int(0, 1_000_000)),
    env: v.optional(v.record(v.pipe(v.string(), v.regex(envName, 'environment names are letters, digits and _')), v.string())),
    /** true: no user namespace, guest root is host root (weaker; status warns). */
    privileged: v.optional(v.boolean(), false),
    /** true: the guest has an id range of its own even though it was built from a shared template. */
    isolated: v.optional(v.boolean()),
    security: v.optional(SecuritySchema),
    limits: v.optional(LimitsSchema),
    ...guestNetEntries,
  }),
  v.forward(
    v.check((c) => c.init !== 'cmd' || c.cmd !== undefined, 'is required when init = "cmd"'),
    ['cmd'],
  ),
  v.forward(
    v.check((c) => c.backend !== 'overlay' || c.template !== undefined, 'must name the template whose tree an overlay guest shares'),
    ['template'],
  ),
  v.forward(
    v.check(
      (c) => c.backend !== 'overlay' || !c.privileged,
      'cannot be true for an overlay guest: it shares the ids of its template; build a dir guest instead',
    ),
    ['privileged'],
  ),
  v.forward(
    v.check(
      (c) => c.backend !== 'overlay' || c.isolated !== true,
      'cannot be true for an overlay guest: an own id range needs an own copy of the tree (backend = "dir")',
    ),
    ['isolated'],
  ),
);

export type GuestConfig = v.InferOutput<typeof GuestConfigSchema>;
/** A guest config as the user wrote it (the TOML document): what the tools write back to the file. */
export type GuestDocument = v.InferInput<typeof GuestConfigSchema>;
/** A checked config whose limits are in the user's own words: what is shown. */
export type ShownConfig = Omit<GuestConfig, 'limits'> & { limits?: LimitsInput };

export const HostConfigSchema = v.strictObject({
  runtime: v.optional(v.picklist(RUNTIMES, `must be one of: ${RUNTIMES.join(', ')}`), 'auto'),
  runtime_path: v.optional(absolutePath),
  context_min: v.optional(int(CONTEXT_MIN, CONTEXT_MAX), 100),
  stop_timeout: v.optional(int(0, 86400), 30),
  /** auto: guests see their own figures in /proc through lxcfs when it is installed; off: never. */
  lxcfs: v.optional(v.picklist(LXCFS_MODES, `must be one of: ${LXCFS_MODES.join(', ')}`), 'auto'),
  /** Debian mirror for debootstrap builds. */
  mirror: v.optional(
    v.pipe(v.string(), v.regex(/^(https?|file):\/\/\S+$/, 'must be an http://, https:// or file:// URL')),
    'http://deb.debian.org/debian',
  ),
  /** Where debootstrap keeps downloaded packages between builds (default: var/cache/vserver/debootstrap under the root). */
  debootstrap_cache: v.optional(absolutePath),
  /** Host id ranges claimed by the installations of this host; all of them must name the same directory. */
  id_registry: v.optional(absolutePath),
  /** Subordinate ids given to users; a context whose range overlaps one is never used. */
  subid_files: v.optional(v.array(absolutePath), ['/etc/subuid', '/etc/subgid']),
  network: v.optional(HostNetworkSchema, {}),
  /** Limits and /proc/sys/user counts of every guest that does not set its own. */
  guest_defaults: v.optional(GuestDefaultsSchema, {}),
  /** The daemon's HTTPS listener, its trusted client certificates and its body limit. */
  api: v.optional(ApiSchema),
});

export type HostConfig = v.InferOutput<typeof HostConfigSchema>;

export const TEMPLATE_SOURCES = ['debootstrap', 'tarball', 'guest'] as const;

/** templates/NAME/template.toml: written once when the template is made. */
export const TemplateMetaSchema = v.strictObject({
  /** The context number whose id range owns the template's files (and its overlay guests' processes). */
  context: int(CONTEXT_MIN, CONTEXT_MAX),
  source: v.picklist(TEMPLATE_SOURCES),
  /** What the source was: the suite, the tarball's path or the guest's name. */
  from: v.string(),
  /** Init style that guests built from it get unless told otherwise. */
  init: v.optional(v.picklist(INIT_STYLES), 'plain'),
  created: v.string(),
});

export type TemplateMeta = v.InferOutput<typeof TemplateMetaSchema>;
