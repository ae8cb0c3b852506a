// Validates generated configs against the OCI runtime-spec JSON schema (draft-04) kept in the fixtures.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import AjvDraft04 from 'ajv-draft-04';

const DIR = join(__dirname, '../fixtures/oci-runtime-spec/schema');

type Validate = ((data: unknown) => boolean) & { errors?: unknown };
let cached: Validate | undefined;

export function ociValidator(): Validate {
  if (cached) return cached;
  const ajv = new AjvDraft04.default({ allErrors: true, strict: false }); // a CommonJS class seen from ESM
  for (const f of readdirSync(DIR).filter((x) => x.endsWith('.json'))) {
    ajv.addSchema(JSON.parse(readFileSync(join(DIR, f), 'utf8')) as object, f);
  }
  const v = ajv.getSchema('config-schema.json');
  if (!v) throw new Error('config-schema.json did not load');
  cached = v as Validate;
  return cached;
}
