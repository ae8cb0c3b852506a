// The build page's form as the body of POST /1.0/guests, checked as the CLI checks its arguments.

export type SourceKind = 'busybox' | 'template' | 'debootstrap' | 'clone';

export interface BuildForm {
  name: string;
  source: SourceKind;
  template: string;
  suite: string;
  mirror: string;
  clone: string;
  backend: '' | 'dir' | 'overlay';
  init: string;
  hostname: string;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The request body, or the first thing wrong with the form (field and message). */
export function buildBody(f: BuildForm): { body: Record<string, unknown> } | { field: keyof BuildForm; error: string } {
  const name = f.name.trim();
  if (!NAME.test(name))
    return { field: 'name', error: 'a name is 1-63 lower-case letters, digits and dashes, starting with a letter or digit' };
  const body: Record<string, unknown> = { name };
  if (f.source === 'template') {
    if (f.template === '') return { field: 'template', error: 'choose a template' };
    body.source = { kind: 'template', name: f.template };
  } else if (f.source === 'debootstrap') {
    if (!/^[a-z][a-z0-9-]*$/.test(f.suite.trim())) return { field: 'suite', error: 'give a Debian or Ubuntu suite, for example bookworm' };
    if (f.mirror.trim() !== '' && !/^(https?|file):\/\/\S+$/.test(f.mirror.trim()))
      return { field: 'mirror', error: 'the mirror must be an http://, https:// or file:// URL' };
    body.source = { kind: 'debootstrap', suite: f.suite.trim(), ...(f.mirror.trim() ? { mirror: f.mirror.trim() } : {}) };
  } else if (f.source === 'clone') {
    if (f.clone === '') return { field: 'clone', error: 'choose a stopped guest to copy' };
    body.source = { kind: 'clone', guest: f.clone };
  }
  if (f.backend !== '') body.backend = f.backend;
  if (f.init !== '') body.init = f.init;
  if (f.hostname.trim() !== '') body.hostname = f.hostname.trim();
  return { body };
}

/** An operation's progress as one line: "fetching packages 40/120". */
export function progressText(p: { step?: string; done?: number; total?: number } | undefined): string {
  if (p === undefined) return 'working…';
  const count = p.done !== undefined && p.total !== undefined ? ` ${p.done}/${p.total}` : p.done !== undefined ? ` ${p.done}` : '';
  return `${p.step ?? 'working'}${count}`;
}
