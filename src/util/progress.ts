// How far a long step has come, as builders report it and the CLI draws it.
export interface Progress {
  /** What debootstrap does now, in its own words ("Unpacking required packages"). */
  stage: string;
  now: number;
  end: number;
  /** Whether now/end count bytes (downloads) or packages. */
  unit: 'bytes' | 'packages' | 'steps';
}
