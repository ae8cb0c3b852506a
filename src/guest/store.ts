// The guest configs on disk: etc/vserver/guests/NAME.toml, and the host's vserver.toml.
import { unlinkSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';
import { VsError, errnoOf } from '../util/errors.js';
import { FileCache } from '../util/file-cache.js';
import { readdirIfExists, readIfExists } from '../util/fs.js';
import type { Paths } from '../util/paths.js';
import { parseGuestConfig, parseHostConfig, toToml, validate } from './config.js';
import { checkName, NAME_PATTERN } from './name.js';
import { GuestConfigSchema, type GuestConfig, type HostConfig } from './schema.js';

type ReadResult = { config: GuestConfig; error?: undefined } | { config?: undefined; error: VsError };

export class GuestStore {
  /** readAll's parses: a bulk run asks for every guest once per guest it starts. */
  private readonly parsed = new FileCache<ReadResult>();

  constructor(private readonly paths: Paths) {}

  names(): string[] {
    return readdirIfExists(this.paths.guestConfigDir)
      .filter((f) => f.endsWith('.toml'))
      .map((f) => f.slice(0, -5))
      .filter((n) => NAME_PATTERN.test(n))
      .sort();
  }

  exists(name: string): boolean {
    return readIfExists(this.paths.guestConfig(checkName(name))) !== undefined;
  }

  read(name: string): GuestConfig {
    const file = this.paths.guestConfig(checkName(name));
    const text = readIfExists(file);
    if (text === undefined) {
      throw new VsError('NOT_FOUND', `guest '${name}' not found (no ${file})`, "run 'vserver list' to see the guests, or 'vserver build' to make one");
    }
    return parseGuestConfig(file, text);
  }

  /**
   * Reads every guest; a broken file is reported as such instead of hiding the others. The configs
   * are shared with later calls while their files are unchanged: callers only read them.
   */
  readAll(): { name: string; config?: GuestConfig; error?: VsError }[] {
    const out: { name: string; config?: GuestConfig; error?: VsError }[] = [];
    for (const name of this.names()) {
      const file = this.paths.guestConfig(name);
      const r = this.parsed.get(file, (text): ReadResult => {
        try {
          return { config: parseGuestConfig(file, text) };
        } catch (e) {
          if (e instanceof VsError) return { error: e };
          throw e;
        }
      });
      // gone since the directory was listed
      if (r) out.push({ name, ...r });
    }
    return out;
  }

  write(name: string, config: GuestConfig): void {
    const file = this.paths.guestConfig(checkName(name));
    validate(file, GuestConfigSchema, config);
    writeFileAtomic(file, toToml(config as unknown as Record<string, unknown>));
  }

  remove(name: string): void {
    try {
      unlinkSync(this.paths.guestConfig(checkName(name)));
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw e;
    }
  }
}

export function readHostConfig(paths: Paths): HostConfig {
  const text = readIfExists(paths.hostConfig);
  return parseHostConfig(paths.hostConfig, text ?? '');
}
