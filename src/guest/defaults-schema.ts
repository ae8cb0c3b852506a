// [guest_defaults] of vserver.toml: what every guest gets unless its own config says otherwise,
// so that no guest can use up what the other guests and the host need.
import * as v from 'valibot';
import { LimitsSchema, type Limits } from './limits-schema.js';

/**
 * The counts of /proc/sys/user, set in each guest's user namespace. The kernel also charges what a
 * guest holds to the user that made its namespace (host root), so each guest gets a share.
 */
export const USER_COUNTS = [
  'max_cgroup_namespaces',
  'max_fanotify_groups',
  'max_fanotify_marks',
  'max_inotify_instances',
  'max_inotify_watches',
  'max_ipc_namespaces',
  'max_mnt_namespaces',
  'max_net_namespaces',
  'max_pid_namespaces',
  'max_time_namespaces',
  'max_user_namespaces',
  'max_uts_namespaces',
] as const;
export type UserCount = (typeof USER_COUNTS)[number];

const NAMESPACES = 256;

export const BUILTIN_USER_COUNTS: Readonly<Record<UserCount, number>> = {
  max_cgroup_namespaces: NAMESPACES,
  max_fanotify_groups: 16,
  max_fanotify_marks: 8192,
  max_inotify_instances: 32,
  max_inotify_watches: 16384,
  max_ipc_namespaces: NAMESPACES,
  max_mnt_namespaces: NAMESPACES,
  max_net_namespaces: NAMESPACES,
  max_pid_namespaces: NAMESPACES,
  max_time_namespaces: NAMESPACES,
  max_user_namespaces: NAMESPACES,
  max_uts_namespaces: NAMESPACES,
};

/** Limits a guest gets unless vserver.toml or its own [limits] set them: no fork bomb takes all pids, no guest all message queues. */
export const BUILTIN_LIMITS: Limits = v.parse(LimitsSchema, { pids: { max: 4096 }, rlimits: { msgqueue: '256K' } });

const count = v.pipe(
  v.number(),
  v.integer('must be a whole number'),
  v.minValue(0, 'must be at least 0'),
  v.maxValue(2147483647, 'must be at most 2147483647'),
);

export const GuestDefaultsSchema = v.strictObject({
  /** Any key of a guest's [limits]; the guest's own value wins. */
  limits: v.optional(LimitsSchema),
  user: v.optional(
    v.strictObject(
      Object.fromEntries(USER_COUNTS.map((k) => [k, v.optional(count)])) as Record<UserCount, v.OptionalSchema<typeof count, undefined>>,
    ),
  ),
});

export type GuestDefaults = v.InferOutput<typeof GuestDefaultsSchema>;
