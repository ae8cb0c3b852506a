// The dashboard: logs in with the link's token (or the session cookie), then shows the page the
// URL's fragment names.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import '@xterm/xterm/css/xterm.css';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { getEarly, startSession } from './api.js';
import { ApiError, errorText } from './api-errors.js';
import { BuildPage } from './page-build.js';
import { GuestPage } from './page-guest.js';
import { GuestsPage } from './page-guests.js';
import { HostPage } from './page-host.js';
import { parseRoute, tokenFromHash, type Route } from './route.js';

// the token leaves the address bar (and the history) before anything else happens; the login and the
// guests page's list are asked for at once, not after the first render
const token = tokenFromHash(location.hash);
if (token !== undefined) history.replaceState(null, '', `${location.pathname}#/guests`);
const session = startSession(token);
if (parseRoute(location.hash).page === 'guests') getEarly('/1.0/guests', session);

type Auth = { state: 'pending' } | { state: 'in' } | { state: 'out'; message: string; hint?: string };

function App() {
  const [auth, setAuth] = useState<Auth>({ state: 'pending' });
  const [route, setRoute] = useState<Route>(parseRoute(location.hash));
  const [banner, setBanner] = useState<string | undefined>();

  useEffect(() => {
    session.then(
      () => setAuth({ state: 'in' }),
      (e: unknown) =>
        setAuth(
          e instanceof ApiError && e.status === 401
            ? { state: 'out', message: e.body.error, hint: e.body.hint }
            : { state: 'out', message: errorText(e) },
        ),
    );
    const onHash = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    const title = route.page === 'guest' ? route.name : route.page[0]!.toUpperCase() + route.page.slice(1);
    document.title = `${title} · vserver`;
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [route]);

  const onError = (e: unknown) => setBanner(e === undefined ? undefined : errorText(e));
  if (auth.state === 'pending') return <p class="muted center">Connecting to vserverd…</p>;
  if (auth.state === 'out') {
    return (
      <main class="login" id="main" tabIndex={-1}>
        <h1>vserver</h1>
        <p class="fail" role="alert">
          {auth.message}
        </p>
        <p>{auth.hint ?? 'Run vserver dashboard on the host and open the link it prints.'}</p>
      </main>
    );
  }
  const nav = (page: Route['page'], label: string) => (
    <a
      href={`#/${page === 'guest' ? 'guests' : page}`}
      aria-current={route.page === page || (page === 'guests' && route.page === 'guest') ? 'page' : undefined}
    >
      {label}
    </a>
  );
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header>
        <span class="brand">vserver</span>
        <nav aria-label="pages">
          {nav('guests', 'Guests')}
          {nav('build', 'Build')}
          {nav('host', 'Host')}
        </nav>
      </header>
      {banner ? (
        <div class="banner" role="alert">
          {banner}{' '}
          <button type="button" onClick={() => setBanner(undefined)}>
            Dismiss
          </button>
        </div>
      ) : null}
      <main id="main" tabIndex={-1}>
        {route.page === 'guests' ? (
          <GuestsPage onError={onError} />
        ) : route.page === 'guest' ? (
          <GuestPage name={route.name} tab={route.tab} onError={onError} />
        ) : route.page === 'build' ? (
          <BuildPage />
        ) : (
          <HostPage />
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
