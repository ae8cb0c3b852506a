// Lifecycle events: what happened to a guest, when. The engine emits them after each change it
// made; the daemon adds what it learns from the files, the runtime and the kernel (died, oom).
import type { EventEmitter } from 'node:events';
import type { LifecycleEvent, LifecycleEventType } from '../wire/events.js';

export type { LifecycleEvent, LifecycleEventType };

export function lifecycleEvent(type: LifecycleEventType, guest: string, detail?: Record<string, unknown>): LifecycleEvent {
  return { type, guest, time: new Date().toISOString(), ...(detail === undefined ? {} : { detail }) };
}

/** Emits 'event' on the emitter; a listener that throws must not fail the change already made. */
export function emitEvent(events: EventEmitter, ev: LifecycleEvent): void {
  try {
    events.emit('event', ev);
  } catch {
    /* the guest changed; a broken listener is that listener's problem */
  }
}
