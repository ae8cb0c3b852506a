// The Engine's use cases over the API: what `vserver --remote` calls in place of the local engine,
// so that the verbs print the same and exit the same either way.
import { createReadStream, statSync } from 'node:fs';
import type {
  BuildOptions,
  BulkAction,
  BulkOptions,
  BulkResult,
  Engine,
  GuestInfo,
  LimitResult,
  Selection,
  TemplateInfo,
} from '../engine/index.js';
import type { LimitsInput } from '../guest/limits-schema.js';
import { getKey } from '../guest/config.js';
import type { ShownConfig } from '../guest/schema.js';
import { unknownKey } from '../engine/config.js';
import type { PsTable } from '../resources/ps.js';
import type { StatRow } from '../resources/stat.js';
import { limitKeyPath } from '../guest/limit-keys.js';
import type { ExecIO } from '../runtime/types.js';
import { VsError, errnoOf, type ErrorCode } from '../util/errors.js';
import { ApiClient, errorFrom } from './client.js';
import { envObject, remoteExec } from './exec.js';
import type { Remote } from './store.js';

interface OperationView {
  id: string;
  status: 'running' | 'success' | 'failure' | 'cancelled';
  progress?: { step: string; done?: number; total?: number; unit?: string };
  result?: unknown;
  error?: { error: string; code: string; hint?: string };
}

const g = (name: string) => `/1.0/guests/${encodeURIComponent(name)}`;

export class RemoteEngine {
  readonly client: ApiClient;

  constructor(remote: Remote) {
    this.client = new ApiClient(remote);
  }

  list(): Promise<GuestInfo[]> {
    return this.client.call('GET', '/1.0/guests');
  }

  status(name: string): Promise<GuestInfo> {
    return this.client.call('GET', g(name));
  }

  async running(name: string): Promise<boolean> {
    const s = (await this.status(name)).state;
    return s === 'running' || s === 'paused';
  }

  start(name: string): Promise<GuestInfo> {
    return this.client.call('PUT', `${g(name)}/state`, { action: 'start' });
  }

  async stop(name: string, opts: { timeoutS?: number } = {}): Promise<void> {
    await this.client.call('PUT', `${g(name)}/state`, {
      action: 'stop',
      ...(opts.timeoutS === undefined ? {} : { timeout: opts.timeoutS }),
    });
  }

  restart(name: string, opts: { timeoutS?: number } = {}): Promise<GuestInfo> {
    return this.client.call('PUT', `${g(name)}/state`, {
      action: 'restart',
      ...(opts.timeoutS === undefined ? {} : { timeout: opts.timeoutS }),
    });
  }

  async bulk(action: BulkAction, sel: Selection, opts: BulkOptions = {}): Promise<BulkResult[]> {
    const r = await this.client.call<{
      results: {
        name: string;
        ok: boolean;
        note?: string;
        state?: string;
        context?: number;
        error?: string;
        code?: string;
        hint?: string;
      }[];
    }>('PUT', '/1.0/guests/state', {
      action,
      ...(sel.names && sel.names.length > 0 ? { names: sel.names } : {}),
      ...(sel.all ? { all: true } : {}),
      ...(sel.mark ? { mark: sel.mark } : {}),
      ...(opts.jobs ? { jobs: opts.jobs } : {}),
      ...(opts.timeoutS === undefined ? {} : { timeout: opts.timeoutS }),
    });
    return r.results.map((x) => ({
      name: x.name,
      action,
      ok: x.ok,
      began: 0,
      ended: 0,
      ...(x.note ? { note: x.note } : {}),
      ...(x.ok && x.context !== undefined ? { info: { name: x.name, context: x.context, state: x.state as GuestInfo['state'] } } : {}),
      ...(x.ok ? {} : { error: errorFrom(500, { error: x.error, code: x.code as ErrorCode, hint: x.hint }, this.client.where) }),
    }));
  }

  async delete(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.client.call('DELETE', `${g(name)}${opts.force ? '?force=1' : ''}`);
  }

  /** Starts the build as an operation and follows it to the end, passing its progress on. */
  async build(name: string, opts: BuildOptions = {}): Promise<GuestInfo> {
    const src = opts.source;
    let op: { id: string };
    if (src?.kind === 'tarball') {
      try {
        if (!statSync(src.file).isFile())
          throw new VsError('INVALID_VALUE', `${src.file} is not a regular file`, 'give a .tar, .tar.gz, .tar.xz or .tar.zst file');
      } catch (e) {
        if (errnoOf(e) === 'ENOENT') throw new VsError('NOT_FOUND', `tarball ${src.file} not found`, 'check the path');
        throw e;
      }
      const q = new URLSearchParams({
        name,
        ...(opts.backend ? { backend: opts.backend } : {}),
        ...(opts.context !== undefined ? { context: String(opts.context) } : {}),
        ...(opts.hostname ? { hostname: opts.hostname } : {}),
        ...(opts.init ? { init: opts.init } : {}),
        ...(opts.privileged ? { privileged: '1' } : {}),
      });
      op = await this.client.call('POST', `/1.0/guests?${q.toString()}`, undefined, {
        stream: createReadStream(src.file),
        contentType: 'application/octet-stream',
      });
    } else {
      const source = src === undefined ? undefined : src.kind === 'template' && src.name === 'busybox' ? { kind: 'busybox' } : src;
      op = await this.client.call('POST', '/1.0/guests', {
        name,
        ...(source ? { source } : {}),
        ...(opts.backend ? { backend: opts.backend } : {}),
        ...(opts.isolated ? { isolated: true } : {}),
        ...(opts.context !== undefined ? { context: opts.context } : {}),
        ...(opts.hostname ? { hostname: opts.hostname } : {}),
        ...(opts.init ? { init: opts.init } : {}),
        ...(opts.cmd ? { cmd: opts.cmd } : {}),
        ...(opts.privileged ? { privileged: true } : {}),
      });
    }
    for (;;) {
      const v = await this.client.call<OperationView>('GET', `/1.0/operations/${op.id}/wait?timeout=1`);
      if (v.progress && opts.onProgress && v.progress.total !== undefined) {
        const unit = v.progress.unit === 'bytes' || v.progress.unit === 'packages' ? v.progress.unit : 'steps';
        opts.onProgress({ stage: v.progress.step, now: v.progress.done ?? 0, end: v.progress.total, unit });
      }
      if (v.status === 'success') return v.result as GuestInfo;
      if (v.status !== 'running') throw errorFrom(500, v.error, this.client.where);
    }
  }

  limits(name: string): Promise<LimitsInput> {
    return this.client.call('GET', `${g(name)}/limits`);
  }

  async setLimit(name: string, key: string, value: string): Promise<LimitResult> {
    const r = await this.client.call<{ name: string; limits: LimitsInput; live: boolean; warnings: string[]; version: string }>(
      'PATCH',
      `${g(name)}/limits`,
      { [key]: value },
    );
    const v = limitKeyPath(key)?.reduce<unknown>(
      (t, k) => (t && typeof t === 'object' ? (t as Record<string, unknown>)[k] : undefined),
      r.limits,
    );
    return { name, key, value: v, live: r.live, limits: r.limits, warnings: r.warnings, version: r.version };
  }

  config(name: string): Promise<ShownConfig> {
    return this.client.call('GET', `${g(name)}/config`, undefined, { headers: { accept: 'application/json' } });
  }

  async configKey(name: string, key: string): Promise<unknown> {
    const value = getKey((await this.config(name)) as unknown as Record<string, unknown>, key);
    if (value === undefined) throw unknownKey(key);
    return value;
  }

  async setConfig(name: string, key: string, value: unknown): Promise<ShownConfig> {
    await this.client.call('PATCH', `${g(name)}/config`, { set: { [key]: value ?? null } });
    return this.config(name);
  }

  stat(): Promise<StatRow[]> {
    return this.client.call('GET', '/1.0/stat');
  }

  ps(psOptions: readonly string[], first?: string): Promise<PsTable> {
    const q = new URLSearchParams({ options: psOptions.join(' '), ...(first ? { name: first } : {}) });
    return this.client.call('GET', `/1.0/ps?${q.toString()}`);
  }

  templateList(): Promise<TemplateInfo[]> {
    return this.client.call('GET', '/1.0/templates');
  }

  exec(name: string, argv: readonly string[], io: ExecIO): Promise<number> {
    return remoteExec(
      this.client,
      name,
      {
        command: [...argv],
        ...(io.env ? { env: envObject(io.env) } : {}),
        ...(io.cwd ? { cwd: io.cwd } : {}),
        ...(io.user ? { user: io.user } : {}),
      },
      io,
    );
  }

  enter(name: string, io: Omit<ExecIO, 'tty'>): Promise<number> {
    return remoteExec(
      this.client,
      name,
      { command: ['/bin/sh', '-l'], interactive: true, env: { TERM: process.env.TERM ?? 'xterm', ...envObject(io.env) } },
      io,
    );
  }
}

/** The remote engine where the CLI expects an Engine; a use case the API does not offer says so. */
export function remoteEngine(remote: Remote, verb: string): Engine {
  const impl = new RemoteEngine(remote);
  return new Proxy(impl, {
    get(target, prop, receiver) {
      if (prop in target) return Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'then') return undefined;
      return () => {
        throw new VsError(
          'UNSUPPORTED',
          `'vserver ${verb}' does not run through --remote`,
          'run it on the host itself, or without --remote',
        );
      };
    },
  }) as unknown as Engine;
}
