// Live limits: the guest's limits, and one change at a time as `vserver limit` makes it.
import { useEffect, useState } from 'preact/hooks';
import { get, send } from './api.js';
import { errorText } from './api-errors.js';

const KEYS = ['memory.max', 'memory.high', 'memory.swap', 'cpu.max', 'cpu.weight', 'cpu.cpuset', 'pids.max', 'io.weight'];

type Limits = Record<string, unknown>;

/** Nested limits as the dotted keys `vserver limit` takes: memory.max = 64M. */
function flatten(o: Record<string, unknown>, prefix = ''): [string, string][] {
  return Object.entries(o).flatMap(([k, v]): [string, string][] =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? flatten(v as Record<string, unknown>, `${prefix}${k}.`)
      : [[`${prefix}${k}`, Array.isArray(v) ? JSON.stringify(v) : String(v)]],
  );
}

export function LimitsTab({ name }: { name: string }) {
  const [limits, setLimits] = useState<Limits | undefined>();
  const [key, setKey] = useState(KEYS[0]!);
  const [value, setValue] = useState('');
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>();
  const path = `/1.0/guests/${encodeURIComponent(name)}/limits`;
  useEffect(() => {
    get<Limits>(path).then(setLimits, (e) => setResult({ ok: false, text: errorText(e) }));
  }, [name]);
  const apply = async (e: Event) => {
    e.preventDefault();
    setResult(undefined);
    try {
      const r = await send<{ limits: Limits; live: boolean; warnings: string[] }>('PATCH', path, { [key]: value.trim() });
      setLimits(r.limits);
      setResult({
        ok: true,
        text: `${key} = ${value.trim()}: ${r.live ? 'in force now' : 'saved; takes effect at the next start'}${r.warnings.length ? ` (${r.warnings.join('; ')})` : ''}`,
      });
    } catch (err) {
      setResult({ ok: false, text: errorText(err) });
    }
  };
  return (
    <section aria-labelledby="limits-h">
      <h2 id="limits-h">Limits</h2>
      <form class="toolbar" onSubmit={(e) => void apply(e)}>
        <label>
          Limit{' '}
          <select value={key} onChange={(e) => setKey(e.currentTarget.value)}>
            {KEYS.map((k) => (
              <option value={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          Value <input required value={value} placeholder="512M, 1.5, max" onInput={(e) => setValue(e.currentTarget.value)} />
        </label>
        <button type="submit">Apply</button>
      </form>
      {result ? (
        <p class={result.ok ? 'ok' : 'fail'} role="status" data-testid="limit-result">
          {result.text}
        </p>
      ) : null}
      {limits ? (
        <dl data-testid="limits">
          {flatten(limits).map(([k, v]) => (
            <>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </>
          ))}
        </dl>
      ) : null}
      {limits && Object.keys(limits).length === 0 ? <p class="muted">No limits of its own: the host's guest_defaults apply.</p> : null}
    </section>
  );
}
