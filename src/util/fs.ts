// Small file helpers shared by the parts.
import { lstatSync, readdirSync, readFileSync, type Stats } from 'node:fs';
import { errnoOf } from './errors.js';

/** The file's text, or undefined if it does not exist; other errors are thrown. */
export function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** The entries of a directory, or none if it does not exist (yet). */
export function readdirIfExists(path: string): string[] {
  try {
    return readdirSync(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw e;
  }
}

/** lstat, or undefined if the path does not exist; other errors are thrown. */
export function lstatIfExists(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw e;
  }
}
