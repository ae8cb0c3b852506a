// Cheap unique suffixes and a short stable hash, without loading node:crypto on the hot path.

let counter = 0;

/** Unique among the processes of this host now: pid, time and a counter. */
export function uniqueSuffix(): string {
  counter++;
  return `${process.pid.toString(36)}${Date.now().toString(36)}${counter.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
}

/** 32-bit FNV-1a of a string, as 8 hex digits: stable across runs and machines. */
export function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
