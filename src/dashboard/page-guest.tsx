// One guest: status, actions, charts, and the console, log, config and limits tabs.
import { useEffect, useState } from 'preact/hooks';
import { get, send } from './api.js';
import { ApiError, errorText, missingText } from './api-errors.js';
import { Chart } from './charts.js';
import { ConfigEditor } from './config-editor.js';
import { followEvents } from './events.js';
import { CHARTS, chartData, RANGES } from './history-view.js';
import { LimitsTab } from './limits.js';
import { LogTab } from './log.js';
import { routeHash, TABS, type Tab } from './route.js';
import { guestRows } from './status-view.js';
import type { GuestInfo } from '../wire/guest.js';
import type { HistoryPoint, HistoryRange } from '../wire/history.js';

/** The console, with xterm.js fetched when it is first opened. */
function LazyConsole(props: { name: string; running: boolean }) {
  const [mod, setMod] = useState<typeof import('./console.js') | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    import('./console.js').then(setMod, (e) => setError(`the console could not be loaded: ${errorText(e)}`));
  }, []);
  if (error)
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  return mod ? <mod.Console {...props} /> : <p class="muted">Loading the terminal…</p>;
}

function Charts({ name, running }: { name: string; running: boolean }) {
  const [range, setRange] = useState<HistoryRange>('5m');
  const [hist, setHist] = useState<{ step: number; points: HistoryPoint[] }>({ step: 5, points: [] });
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    const load = () =>
      get<{ step: number; points: HistoryPoint[] }>(`/1.0/guests/${encodeURIComponent(name)}/history?range=${range}`).then(
        (h) => {
          setHist(h);
          setError(undefined);
        },
        (e) => setError(errorText(e)),
      );
    void load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, [name, range]);
  return (
    <section aria-labelledby="charts-h">
      <div class="page-head">
        <h2 id="charts-h">Usage</h2>
        <div role="group" aria-label="time range" class="ranges">
          {RANGES.map((r) => (
            <button type="button" aria-pressed={range === r.range} onClick={() => setRange(r.range)}>
              {r.label}
            </button>
          ))}
        </div>
      </div>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      {hist.points.length === 0 ? (
        <p class="muted" data-testid="no-history">
          {running
            ? 'Collecting figures: the first point appears within 10 s.'
            : 'No figures: the guest has not run while this vserverd did.'}
        </p>
      ) : null}
      <div class="charts" data-points={hist.points.length}>
        {CHARTS.map((c) => (
          <Chart spec={c} data={chartData(hist.points, c.kind, hist.step)} seconds={RANGES.find((r) => r.range === range)!.seconds} />
        ))}
      </div>
    </section>
  );
}

function Actions({ g, reload }: { g: GuestInfo; reload: () => void }) {
  const [busy, setBusy] = useState<string | undefined>();
  const [timeout, setTimeout_] = useState('10');
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>();
  const name = encodeURIComponent(g.name);
  const act = async (what: string, confirmText: string | undefined, fn: () => Promise<unknown>) => {
    if (confirmText !== undefined && !confirm(confirmText)) return;
    setBusy(what);
    setResult(undefined);
    try {
      await fn();
      setResult({ ok: true, text: `${what}: done` });
      if (what === 'delete') {
        location.hash = '#/guests';
        return;
      }
    } catch (e) {
      setResult({
        ok: false,
        text: e instanceof ApiError && e.status === 400 && what.includes('freeze') ? missingText('Freezing') : errorText(e),
      });
    } finally {
      setBusy(undefined);
      reload();
    }
  };
  const state = (action: string, t?: number) =>
    send('PUT', `/1.0/guests/${name}/state`, t === undefined ? { action } : { action, timeout: t });
  const t = Number(timeout);
  const running = g.state === 'running';
  return (
    <div class="actions" role="group" aria-label="actions">
      <button type="button" disabled={busy !== undefined || running} onClick={() => void act('start', undefined, () => state('start'))}>
        Start
      </button>
      <label>
        Stop timeout (s){' '}
        <input type="number" min="0" max="86400" value={timeout} onInput={(e) => setTimeout_(e.currentTarget.value)} size={4} />
      </label>
      <button
        type="button"
        disabled={busy !== undefined || !running}
        onClick={() => void act('stop', `Stop ${g.name}? Its processes end (killed after ${t} s).`, () => state('stop', t))}
      >
        Stop
      </button>
      <button
        type="button"
        disabled={busy !== undefined}
        onClick={() => void act('restart', `Restart ${g.name}?`, () => state('restart', t))}
      >
        Restart
      </button>
      <button
        type="button"
        disabled={busy !== undefined || (!running && g.state !== 'paused')}
        onClick={() =>
          void act(
            g.state === 'paused' ? 'unfreeze' : 'freeze',
            g.state === 'paused' ? undefined : `Freeze ${g.name}? Its processes stop until unfrozen.`,
            () => state(g.state === 'paused' ? 'unfreeze' : 'freeze'),
          )
        }
      >
        {g.state === 'paused' ? 'Unfreeze' : 'Freeze'}
      </button>
      <button
        type="button"
        class="danger"
        disabled={busy !== undefined}
        onClick={() =>
          void act('delete', `Delete ${g.name}? Its files are destroyed; this cannot be undone.`, () =>
            send('DELETE', `/1.0/guests/${name}${running ? '?force=1' : ''}`),
          )
        }
      >
        Delete
      </button>
      {busy ? (
        <span class="muted" role="status">
          {busy}…
        </span>
      ) : null}
      {result ? (
        <span class={result.ok ? 'ok' : 'fail'} role="status" data-testid="action-result">
          {result.text}
        </span>
      ) : null}
    </div>
  );
}

export function GuestPage({ name, tab }: { name: string; tab: Tab; onError: (e: unknown) => void }) {
  const [g, setG] = useState<GuestInfo | undefined>();
  const [error, setError] = useState<string | undefined>();
  const load = () =>
    get<GuestInfo>(`/1.0/guests/${encodeURIComponent(name)}`).then(
      (x) => {
        setG(x);
        setError(undefined);
      },
      (e) => setError(errorText(e)),
    );
  useEffect(() => {
    void load();
    const stop = followEvents(
      `?guest=${encodeURIComponent(name)}`,
      () => void load(),
      () => undefined,
    );
    const timer = setInterval(() => void load(), 5000);
    return () => {
      stop();
      clearInterval(timer);
    };
  }, [name]);
  // a tab may have changed the guest (limits, config): its status is read afresh on each switch
  useEffect(() => {
    void load();
  }, [tab]);
  return (
    <section aria-labelledby="guest-h">
      <div class="page-head">
        <h1 id="guest-h">{name}</h1>
        {g ? (
          <span class={`state ${g.state}`} data-testid="guest-state" data-state={g.state}>
            {g.state}
          </span>
        ) : null}
      </div>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      <nav class="tabs" aria-label="guest sections">
        {TABS.map((t) => (
          <a href={routeHash({ page: 'guest', name, tab: t })} aria-current={t === tab ? 'page' : undefined}>
            {t[0]!.toUpperCase() + t.slice(1)}
          </a>
        ))}
      </nav>
      {g === undefined ? null : tab === 'overview' ? (
        <>
          <Actions g={g} reload={() => void load()} />
          <div class="overview">
            <section aria-labelledby="status-h" class="status">
              <h2 id="status-h">Status</h2>
              <dl>
                {guestRows(g).map(([k, v]) => (
                  <>
                    <dt>{k}</dt>
                    <dd>{v}</dd>
                  </>
                ))}
              </dl>
            </section>
            <Charts name={name} running={g.state === 'running'} />
          </div>
        </>
      ) : tab === 'console' ? (
        <LazyConsole name={name} running={g.state === 'running'} />
      ) : tab === 'log' ? (
        <LogTab name={name} />
      ) : tab === 'config' ? (
        <ConfigEditor name={name} />
      ) : (
        <LimitsTab name={name} />
      )}
    </section>
  );
}
