// The guest's TOML, edited whole: saved with If-Match, so a concurrent change is shown, never
// overwritten; a validation error is shown next to its line and nothing is saved.
import { useEffect, useRef, useState } from 'preact/hooks';
import { request } from './api.js';
import { ApiError, errorText, missingText } from './api-errors.js';
import { annotate, errorLine } from './config-errors.js';

type Outcome =
  | { kind: 'saved' }
  | { kind: 'invalid'; message: string; line?: number }
  | { kind: 'conflict'; message: string }
  | { kind: 'error'; message: string };

export function ConfigEditor({ name }: { name: string }) {
  const path = `/1.0/guests/${encodeURIComponent(name)}/config`;
  const [text, setText] = useState<string | undefined>();
  const [etag, setEtag] = useState<string | undefined>();
  const [outcome, setOutcome] = useState<Outcome | undefined>();
  const [loadError, setLoadError] = useState<string | undefined>();
  const [saving, setSaving] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);

  const load = async () => {
    try {
      const r = await request<string>('GET', path, { headers: { accept: 'application/toml' } });
      setText(r.data ?? '');
      setEtag(r.headers.get('etag') ?? undefined);
      setOutcome(undefined);
      setLoadError(undefined);
    } catch (e) {
      setLoadError(e instanceof ApiError && e.missingRoute ? missingText('Editing the configuration') : errorText(e));
    }
  };
  useEffect(() => {
    void load();
  }, [name]);

  const save = async (e: Event) => {
    e.preventDefault();
    if (text === undefined || etag === undefined) return;
    setSaving(true);
    try {
      const r = await request<{ version?: string }>('PUT', path, { text, type: 'application/toml', headers: { 'if-match': etag } });
      setEtag(r.headers.get('etag') ?? (r.data?.version ? `"${r.data.version}"` : etag));
      setOutcome({ kind: 'saved' });
    } catch (err) {
      if (err instanceof ApiError && (err.status === 412 || err.body.code === 'CONFLICT')) {
        setOutcome({
          kind: 'conflict',
          message: `${err.body.error}. Someone changed this guest's configuration since you opened it; your text was not saved.`,
        });
      } else if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 403) {
        const line = errorLine(text, err.body);
        setOutcome({ kind: 'invalid', message: errorText(err), ...(line === undefined ? {} : { line }) });
        if (line !== undefined && area.current) {
          // put the cursor on the erring line, so a keyboard user lands there
          const start =
            text
              .split('\n')
              .slice(0, line - 1)
              .join('\n').length + (line > 1 ? 1 : 0);
          area.current.focus();
          area.current.setSelectionRange(start, start);
        }
      } else {
        setOutcome({ kind: 'error', message: errorText(err) });
      }
    } finally {
      setSaving(false);
    }
  };

  if (loadError)
    return (
      <p class="error" role="alert">
        {loadError}
      </p>
    );
  if (text === undefined) return <p class="muted">Loading…</p>;
  const bad = outcome?.kind === 'invalid' ? outcome.line : undefined;
  // the erring line with three lines either side
  const lines =
    bad === undefined || outcome?.kind !== 'invalid'
      ? undefined
      : annotate(text, bad, outcome.message).filter((l) => Math.abs(l.n - bad) <= 3);
  return (
    <form class="config" onSubmit={(e) => void save(e)} aria-labelledby="config-h">
      <h2 id="config-h">
        Configuration <span class="muted">etc/vserver/guests/{name}.toml</span>
      </h2>
      <label for="config-text" class="sr-only">
        TOML configuration of {name}
      </label>
      <textarea
        id="config-text"
        ref={area}
        spellcheck={false}
        rows={Math.min(30, text.split('\n').length + 2)}
        value={text}
        aria-invalid={outcome?.kind === 'invalid'}
        aria-describedby="config-outcome"
        onInput={(e) => {
          setText(e.currentTarget.value);
          if (outcome?.kind === 'saved') setOutcome(undefined);
        }}
      />
      <div class="toolbar">
        <button type="submit" disabled={saving}>
          Save
        </button>
        <button type="button" onClick={() => void load()}>
          {outcome?.kind === 'conflict' ? 'Load their version (drops your edits)' : 'Reload'}
        </button>
        <span class="muted">Changes take effect at the next start; use Limits for a running guest.</span>
      </div>
      <div id="config-outcome" role="status" data-testid="config-outcome" data-kind={outcome?.kind ?? ''}>
        {outcome?.kind === 'saved' ? <p class="ok">Saved.</p> : null}
        {outcome?.kind === 'conflict' ? <p class="fail">{outcome.message}</p> : null}
        {outcome?.kind === 'error' ? <p class="fail">{outcome.message}</p> : null}
        {outcome?.kind === 'invalid' && lines === undefined ? <p class="fail">Not saved: {outcome.message}</p> : null}
        {lines ? (
          <ol class="annotated" aria-label="where the error is">
            {lines.map((l) => (
              <li value={l.n} class={l.error ? 'bad' : ''}>
                <code>{l.text || ' '}</code>
                {l.error ? (
                  <p class="fail" data-line={l.n}>
                    line {l.n}: {l.error} (not saved)
                  </p>
                ) : null}
              </li>
            ))}
          </ol>
        ) : null}
      </div>
    </form>
  );
}
