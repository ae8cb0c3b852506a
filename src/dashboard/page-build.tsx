// The build page: a new guest from busybox, a template, debootstrap (with its progress) or a clone.
import { useEffect, useState } from 'preact/hooks';
import { get, send } from './api.js';
import { ApiError, errorText, missingText } from './api-errors.js';
import { buildBody, progressText, type BuildForm } from './build-form.js';
import type { GuestInfo } from '../wire/guest.js';

interface Operation {
  id: string;
  status: string;
  progress?: { step?: string; done?: number; total?: number };
  error?: string | { error?: string };
}

const EMPTY: BuildForm = {
  name: '',
  source: 'busybox',
  template: '',
  suite: 'bookworm',
  mirror: '',
  clone: '',
  backend: '',
  init: '',
  hostname: '',
};

export function BuildPage() {
  const [f, setF] = useState<BuildForm>(EMPTY);
  const [templates, setTemplates] = useState<{ name: string }[]>([]);
  const [guests, setGuests] = useState<GuestInfo[]>([]);
  const [problem, setProblem] = useState<{ field?: string; text: string } | undefined>();
  const [op, setOp] = useState<Operation | undefined>();
  const [done, setDone] = useState<string | undefined>();
  useEffect(() => {
    get<{ name: string; builtin?: boolean }[]>('/1.0/templates').then(
      (t) => setTemplates(t.filter((x) => !x.builtin)),
      () => undefined,
    );
    get<GuestInfo[]>('/1.0/guests').then(setGuests, () => undefined);
  }, []);
  const set = (k: keyof BuildForm) => (e: { currentTarget: { value: string } }) => setF({ ...f, [k]: e.currentTarget.value });

  const submit = async (e: Event) => {
    e.preventDefault();
    setProblem(undefined);
    setDone(undefined);
    const r = buildBody(f);
    if ('error' in r) {
      setProblem({ field: r.field, text: r.error });
      return;
    }
    try {
      const started = await send<{ id: string; operation: string } | GuestInfo>('POST', '/1.0/guests', r.body);
      if (!('operation' in started)) {
        setDone(f.name.trim());
        return;
      }
      for (;;) {
        const o = await get<Operation>(started.operation);
        setOp(o);
        if (o.status === 'success') {
          setDone(f.name.trim());
          return;
        }
        if (o.status !== 'running') {
          setProblem({ text: typeof o.error === 'string' ? o.error : (o.error?.error ?? `the build ended: ${o.status}`) });
          return;
        }
        await new Promise((res) => setTimeout(res, 1000));
      }
    } catch (err) {
      setProblem({ text: err instanceof ApiError && err.missingRoute ? missingText('Building from the dashboard') : errorText(err) });
    }
  };
  const err = (field: string) => (problem?.field === field ? { 'aria-invalid': true, 'aria-describedby': 'build-problem' } : {});
  return (
    <section aria-labelledby="build-h">
      <h1 id="build-h">Build a guest</h1>
      <form class="form" onSubmit={(e) => void submit(e)}>
        <label>
          Name <input required value={f.name} onInput={set('name')} {...err('name')} placeholder="web1" />
        </label>
        <fieldset>
          <legend>Source</legend>
          {(['busybox', 'template', 'debootstrap', 'clone'] as const).map((s) => (
            <label class="inline">
              <input type="radio" name="source" value={s} checked={f.source === s} onChange={() => setF({ ...f, source: s })} /> {s}
            </label>
          ))}
        </fieldset>
        {f.source === 'template' ? (
          <label>
            Template{' '}
            <select value={f.template} onChange={set('template')} {...err('template')}>
              <option value="">choose…</option>
              {templates.map((t) => (
                <option value={t.name}>{t.name}</option>
              ))}
            </select>
          </label>
        ) : null}
        {f.source === 'debootstrap' ? (
          <>
            <label>
              Suite <input value={f.suite} onInput={set('suite')} {...err('suite')} />
            </label>
            <label>
              Mirror <input value={f.mirror} onInput={set('mirror')} {...err('mirror')} placeholder="default: vserver.toml mirror" />
            </label>
          </>
        ) : null}
        {f.source === 'clone' ? (
          <label>
            Guest to copy{' '}
            <select value={f.clone} onChange={set('clone')} {...err('clone')}>
              <option value="">choose…</option>
              {guests
                .filter((g) => g.state === 'stopped')
                .map((g) => (
                  <option value={g.name}>{g.name}</option>
                ))}
            </select>
          </label>
        ) : null}
        <label>
          Backend{' '}
          <select value={f.backend} onChange={set('backend')}>
            <option value="">default</option>
            <option value="dir">dir (own copy)</option>
            <option value="overlay">overlay (shares a template)</option>
          </select>
        </label>
        <label>
          Init{' '}
          <select value={f.init} onChange={set('init')}>
            <option value="">default</option>
            {['plain', 'sysv', 'systemd', 'openrc'].map((i) => (
              <option value={i}>{i}</option>
            ))}
          </select>
        </label>
        <label>
          Hostname <input value={f.hostname} onInput={set('hostname')} placeholder="default: the name" />
        </label>
        <div class="toolbar">
          <button type="submit" disabled={op?.status === 'running'}>
            Build
          </button>
        </div>
      </form>
      {op?.status === 'running' ? (
        <p role="status">
          <progress max={op.progress?.total} value={op.progress?.done} /> {progressText(op.progress)}
        </p>
      ) : null}
      {problem ? (
        <p id="build-problem" class="fail" role="alert">
          {problem.text}
        </p>
      ) : null}
      {done ? (
        <p class="ok" role="status">
          Built <a href={`#/guest/${encodeURIComponent(done)}`}>{done}</a>.
        </p>
      ) : null}
    </section>
  );
}
