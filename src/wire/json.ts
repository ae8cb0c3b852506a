// The API's JSON and wire types: where a figure is Infinity (no limit), JSON has no such number and "max" stands for it.

/** JSON of wire data, as the daemon answers and the CLI's --json prints it. */
export const wireJson = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) => (v === Infinity ? 'max' : v));

/** Keys whose "max" the daemon sends for Infinity (no limit), as `--json` prints them. */
const UNLIMITED = /^(memoryMax|memoryHigh|swapMax|cpuMaxCores|pidsMax|readBps|writeBps|readIops|writeIops|soft|hard)$/;
export const reviveJson = (text: string): unknown =>
  JSON.parse(text, (k, val: unknown) => (val === 'max' && UNLIMITED.test(k) ? Infinity : val));
