// The dashboard's pages live in the URL's fragment, so that the daemon serves one page for all.

export type Tab = 'overview' | 'console' | 'log' | 'config' | 'limits';
export const TABS: readonly Tab[] = ['overview', 'console', 'log', 'config', 'limits'];

export type Route = { page: 'guests' } | { page: 'guest'; name: string; tab: Tab } | { page: 'build' } | { page: 'host' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('?')[0]!.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'guest' && parts[1] !== undefined) {
    const tab = TABS.includes(parts[2] as Tab) ? (parts[2] as Tab) : 'overview';
    return { page: 'guest', name: parts[1], tab };
  }
  if (parts[0] === 'build') return { page: 'build' };
  if (parts[0] === 'host') return { page: 'host' };
  return { page: 'guests' };
}

export function routeHash(r: Route): string {
  if (r.page === 'guest') return `#/guest/${encodeURIComponent(r.name)}${r.tab === 'overview' ? '' : `/${r.tab}`}`;
  return `#/${r.page}`;
}

/** The one-time login token of a link `vserver dashboard` printed (#token=...), if the URL has one. */
export function tokenFromHash(hash: string): string | undefined {
  const m = /^#token=([A-Za-z0-9_-]{10,200})$/.exec(hash);
  return m?.[1];
}
