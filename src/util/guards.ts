// Type guards for what is read back from a cache file of our own: JSON that may be damaged.
export const isString = (v: unknown): v is string => typeof v === 'string';
export const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
