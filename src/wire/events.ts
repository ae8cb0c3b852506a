// What happened to a guest, when: the records of the event stream the daemon serves.

export type LifecycleEventType = 'built' | 'started' | 'stopped' | 'deleted' | 'config-changed' | 'limit-changed' | 'died' | 'oom';

export type LifecycleEvent = {
  type: LifecycleEventType;
  guest: string;
  /** ISO 8601 */
  time: string;
  detail?: Record<string, unknown>;
};
