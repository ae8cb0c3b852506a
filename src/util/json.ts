// JSON that vserver reads back (state, caches, locks, exports), checked against a valibot schema.
import * as v from 'valibot';
import { VsError, type ErrorCode } from './errors.js';

/** The value, or why the text is not what the schema wants: the first problem, with its field. */
export function checkJson<S extends v.GenericSchema>(
  schema: S,
  text: string,
): { ok: true; value: v.InferOutput<S> } | { ok: false; why: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { ok: false, why: `it is not JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  const r = v.safeParse(schema, data);
  if (r.success) return { ok: true, value: r.output };
  const issue = r.issues[0];
  const path = v.getDotPath(issue);
  return { ok: false, why: `${path ? `'${path}': ` : ''}${issue.message}` };
}

/** Parses a file's text that vserver wrote; a mismatch is an error naming the file and the field. */
export function parseJsonFile<S extends v.GenericSchema>(
  schema: S,
  text: string,
  file: string,
  hint: string,
  code: ErrorCode = 'CONFIG_INVALID',
): v.InferOutput<S> {
  const r = checkJson(schema, text);
  if (!r.ok) throw new VsError(code, `${file} is damaged: ${r.why}`, hint);
  return r.value;
}
