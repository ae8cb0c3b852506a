// Guest names: also file names, cgroup and runtime ids, so they are kept strict.
import { VsError } from '../util/errors.js';

export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function checkName(name: string, what = 'guest'): string {
  if (!NAME_PATTERN.test(name)) {
    const why =
      name === ''
        ? 'it is empty'
        : name.length > 63
          ? `it is ${name.length} characters long (63 at most)`
          : /[A-Z]/.test(name)
            ? 'it contains upper-case letters'
            : name.startsWith('-')
              ? 'it starts with a dash'
              : 'it contains characters other than a-z, 0-9 and -';
    throw new VsError(
      'INVALID_NAME',
      `invalid ${what} name '${printable(name)}': ${why}`,
      `use 1 to 63 characters: lower-case letters, digits and '-', starting with a letter or digit`,
    );
  }
  return name;
}

/** Makes untrusted input safe to echo in a one-line message. */
export function printable(s: string, max = 80): string {
  const clean = JSON.stringify(s).slice(1, -1);
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}
