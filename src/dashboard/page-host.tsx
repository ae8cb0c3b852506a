// The host page: CPU, memory and disk; templates and the guests that share them; bridges and pools.
import { useEffect, useState } from 'preact/hooks';
import { get } from './api.js';
import { errorText } from './api-errors.js';
import { formatBytes } from './format.js';

interface Resources {
  cpu: { cores: number; load: number[] };
  memory: { total: number; available: number };
  disk: { path: string; total: number; available: number };
  network: { bridge: string; pool: string; pool6?: string; bridges: { name: string; guests: { name: string; addresses: string[] }[] }[] };
}
interface Template {
  name: string;
  builtin?: boolean;
  source?: string;
  from?: string;
  init?: string;
  created?: string;
  guests: string[];
}

const used = (total: number, avail: number) =>
  `${formatBytes(total - avail)} used of ${formatBytes(total)} (${formatBytes(avail)} available)`;

export function HostPage() {
  const [host, setHost] = useState<{ version: string; root: string; runtime: string } | undefined>();
  const [res, setRes] = useState<Resources | undefined>();
  const [templates, setTemplates] = useState<Template[]>([]);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    const load = () =>
      Promise.all([get<typeof host>('/1.0/host'), get<Resources>('/1.0/host/resources'), get<Template[]>('/1.0/templates')]).then(
        ([h, r, t]) => {
          setHost(h);
          setRes(r);
          setTemplates(t);
          setError(undefined);
        },
        (e) => setError(errorText(e)),
      );
    void load();
    const timer = setInterval(load, 10_000);
    return () => clearInterval(timer);
  }, []);
  return (
    <section aria-labelledby="host-h">
      <h1 id="host-h">Host</h1>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      {host && res ? (
        <dl>
          <dt>vserver</dt>
          <dd>
            {host.version}, runtime {host.runtime}, root {host.root}
          </dd>
          <dt>CPU</dt>
          <dd>
            {res.cpu.cores} cores; load {res.cpu.load.map((l) => l.toFixed(2)).join(' ')}
          </dd>
          <dt>memory</dt>
          <dd>{used(res.memory.total, res.memory.available)}</dd>
          <dt>disk</dt>
          <dd>
            {used(res.disk.total, res.disk.available)} at {res.disk.path}
          </dd>
        </dl>
      ) : null}
      <h2>Templates</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Template</th>
            <th scope="col">Source</th>
            <th scope="col">Init</th>
            <th scope="col">Created</th>
            <th scope="col">Guests sharing it</th>
          </tr>
        </thead>
        <tbody>
          {templates.map((t) => (
            <tr>
              <td>{t.name}</td>
              <td>{t.builtin ? 'built in' : `${t.source ?? ''} ${t.from ?? ''}`}</td>
              <td>{t.init ?? '–'}</td>
              <td>{t.created ?? '–'}</td>
              <td>
                {t.guests.length
                  ? t.guests.map((g, i) => (
                      <>
                        {i ? ', ' : ''}
                        <a href={`#/guest/${encodeURIComponent(g)}`}>{g}</a>
                      </>
                    ))
                  : '–'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {res ? (
        <>
          <h2>Bridges and address pools</h2>
          <p>
            Pool {res.network.pool}
            {res.network.pool6 ? `, ${res.network.pool6}` : ''} on bridge {res.network.bridge}
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Bridge</th>
                <th scope="col">Guest</th>
                <th scope="col">Addresses</th>
              </tr>
            </thead>
            <tbody>
              {res.network.bridges.flatMap((b) =>
                (b.guests.length ? b.guests : [{ name: '', addresses: [] as string[] }]).map((g) => (
                  <tr>
                    <td>{b.name}</td>
                    <td>{g.name ? <a href={`#/guest/${encodeURIComponent(g.name)}`}>{g.name}</a> : '–'}</td>
                    <td>{g.addresses.join(', ') || '–'}</td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
