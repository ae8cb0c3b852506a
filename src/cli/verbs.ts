// The verbs: their command lines here, their code in one lazily loaded file each.
import type { VerbSpec } from './spec.js';
import type { CliContext } from './context.js';

export interface Verb extends VerbSpec {
  load: () => Promise<{ run: (ctx: CliContext) => Promise<number> }>;
}

const NAME = 'NAME';

export const VERBS: Verb[] = [
  {
    name: 'build', summary: 'build a new guest from a template', args: [NAME],
    options: [
      { name: 'template', short: 't', value: 'string', meta: 'T', help: 'template to build from (built in: busybox)' },
      { name: 'context', value: 'int', meta: 'N', help: 'context number (default: the lowest free one)' },
      { name: 'hostname', value: 'string', meta: 'HOST', help: 'host name of the guest (default: NAME)' },
      { name: 'init', value: 'string', meta: 'STYLE', help: 'init style: plain (default) or cmd' },
    ],
    rest: 'CMD [ARG...]',
    examples: ['vserver build web1', 'vserver build job1 --init cmd -- /bin/sh -c "echo hi; sleep 1000"'],
    load: () => import('./build.js'),
  },
  {
    name: 'start', summary: 'start a guest', args: [NAME], options: [],
    examples: ['vserver start web1', 'vserver web1 start'], load: () => import('./start.js'),
  },
  {
    name: 'stop', summary: 'stop a guest: its init shuts down, then TERM and KILL', args: [NAME],
    options: [{ name: 'timeout', value: 'int', meta: 'S', help: 'seconds to wait for init before killing (default 30)' }],
    examples: ['vserver stop web1', 'vserver stop web1 --timeout 5'], load: () => import('./stop.js'),
  },
  {
    name: 'restart', summary: 'stop a guest if it runs, then start it', args: [NAME],
    options: [{ name: 'timeout', value: 'int', meta: 'S', help: 'seconds to wait for init before killing (default 30)' }],
    examples: ['vserver restart web1'], load: () => import('./restart.js'),
  },
  {
    name: 'status', summary: 'show a guest\'s state; exits 0 when running, 3 when stopped', args: [NAME], options: [],
    examples: ['vserver status web1', 'vserver status web1 --json'], load: () => import('./status.js'),
  },
  {
    name: 'running', summary: 'exit 0 if the guest runs, 1 if not', args: [NAME], options: [],
    examples: ['vserver running web1 && echo up'], load: () => import('./running.js'),
  },
  {
    name: 'list', summary: 'list the guests with context, state, init pid and uptime', args: [], options: [],
    examples: ['vserver list', 'vserver list --json'], load: () => import('./list.js'),
  },
  {
    name: 'exec', summary: 'run a command in a running guest', args: [NAME], options: [], rest: 'CMD [ARG...]',
    examples: ['vserver exec web1 -- ps', 'vserver web1 exec cat /etc/hostname'], load: () => import('./exec.js'),
  },
  {
    name: 'enter', summary: 'open an interactive shell in a running guest', args: [NAME], options: [],
    examples: ['vserver enter web1'], load: () => import('./enter.js'),
  },
  {
    name: 'delete', summary: 'delete a guest\'s tree and config', args: [NAME],
    options: [{ name: 'force', short: 'f', help: 'stop (kill) the guest first if it runs' }],
    examples: ['vserver delete web1', 'vserver delete --force web1'], load: () => import('./delete.js'),
  },
  {
    name: 'gc', summary: 'clean up after guests that died without a stop; says what it removed', args: [], options: [],
    examples: ['vserver gc', 'vserver gc --json'], load: () => import('./gc.js'),
  },
  {
    name: 'config', summary: 'show or change a guest\'s configuration', args: [NAME, 'KEY?', 'VALUE?'],
    options: [{ name: 'unset', help: 'remove KEY, so that its default applies' }],
    examples: ['vserver config web1', 'vserver config web1 stop_timeout', 'vserver config web1 stop_timeout 10'],
    load: () => import('./config.js'),
  },
];

export const VERB_MAP: ReadonlyMap<string, Verb> = new Map(VERBS.map((v) => [v.name, v]));
