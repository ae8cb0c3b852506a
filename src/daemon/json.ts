// The API's JSON: no limit is Infinity, which JSON has not: "max", as the CLI's --json prints it.
export const toJson = (payload: unknown): string => JSON.stringify(payload, (_k, v: unknown) => (v === Infinity ? 'max' : v));
