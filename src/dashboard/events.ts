// Lifecycle events from GET /1.0/events; when this daemon has no events route, the pages poll instead.
import { stream } from './api.js';
import { ApiError } from './api-errors.js';
import { SseParser } from './sse.js';
import type { LifecycleEvent } from '../wire/events.js';

export type EventsState = 'live' | 'polling' | 'reconnecting';

/** Follows the events until the returned function is called; reconnects after a drop. */
export function followEvents(query: string, onEvent: (e: LifecycleEvent) => void, onState: (s: EventsState) => void): () => void {
  const ctl = new AbortController();
  const loop = async () => {
    for (let attempt = 0; !ctl.signal.aborted; attempt++) {
      const parser = new SseParser();
      try {
        onState('live');
        await stream(
          `/1.0/events${query}`,
          (chunk) => {
            for (const data of parser.push(chunk)) {
              try {
                onEvent(JSON.parse(data) as LifecycleEvent);
              } catch {
                /* a comment or a foreign line */
              }
            }
          },
          ctl.signal,
        );
        attempt = 0;
      } catch (e) {
        if (e instanceof ApiError && (e.missingRoute || e.status === 404)) {
          onState('polling');
          return;
        }
      }
      if (ctl.signal.aborted) return;
      onState('reconnecting');
      await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** attempt, 15_000)));
    }
  };
  void loop();
  return () => ctl.abort();
}
