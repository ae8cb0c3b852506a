// Templates on disk: var/lib/vserver/templates/NAME/{rootfs,template.toml}, read-only once made.
import { parse as parseToml } from 'smol-toml';
import { writeFileAtomic } from '../util/atomic.js';
import { VsError } from '../util/errors.js';
import { readdirIfExists, readIfExists } from '../util/fs.js';
import type { Paths } from '../util/paths.js';
import { toToml, validate } from './config.js';
import { checkName, NAME_PATTERN } from './name.js';
import { TemplateMetaSchema, type TemplateMeta } from './schema.js';

/** Built into the tools rather than stored: made afresh for each guest. */
export const BUILTIN_TEMPLATES = ['busybox'] as const;

export class TemplateStore {
  constructor(private readonly paths: Paths) {}

  names(): string[] {
    return readdirIfExists(this.paths.templatesDir)
      .filter((n) => NAME_PATTERN.test(n) && readIfExists(this.paths.templateMeta(n)) !== undefined)
      .sort();
  }

  exists(name: string): boolean {
    return readIfExists(this.paths.templateMeta(checkName(name, 'template'))) !== undefined;
  }

  read(name: string): TemplateMeta {
    const file = this.paths.templateMeta(checkName(name, 'template'));
    const text = readIfExists(file);
    if (text === undefined) {
      throw new VsError(
        'NOT_FOUND',
        `template '${name}' not found`,
        `run 'vserver template list' to see the templates (built in: ${BUILTIN_TEMPLATES.join(', ')})`,
      );
    }
    let raw: unknown;
    try {
      raw = parseToml(text);
    } catch (e) {
      throw new VsError(
        'CONFIG_INVALID',
        `${file}: not valid TOML (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`,
        `fix or remove ${file}`,
      );
    }
    return validate(file, TemplateMetaSchema, raw);
  }

  /** Written into the template's build directory, before it is moved into place. */
  writeInto(file: string, meta: TemplateMeta): void {
    writeFileAtomic(file, toToml(meta as unknown as Record<string, unknown>));
  }
}
