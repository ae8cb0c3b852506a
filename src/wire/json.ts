// The API's JSON read back into wire types: the daemon sends "max" where a figure is Infinity (no limit).

/** Keys whose "max" the daemon sends for Infinity (no limit), as `--json` prints them. */
const UNLIMITED = /^(memoryMax|memoryHigh|swapMax|cpuMaxCores|pidsMax|readBps|writeBps|readIops|writeIops|soft|hard)$/;
export const reviveJson = (text: string): unknown =>
  JSON.parse(text, (k, val: unknown) => (val === 'max' && UNLIMITED.test(k) ? Infinity : val));
