// The verbs: their command lines here, their code in one lazily loaded file each.
import type { OptionSpec, VerbSpec } from './spec.js';
import type { CliContext } from './context.js';
import { limitExamples } from '../guest/limit-keys.js';

export interface Verb extends VerbSpec {
  load: () => Promise<{ run: (ctx: CliContext) => Promise<number> }>;
}

const NAME = 'NAME';

/** Where a tree comes from, shared by build and template create. */
const SOURCE_OPTIONS: OptionSpec[] = [
  { name: 'debootstrap', value: 'string', meta: 'SUITE', help: 'a Debian or Ubuntu release made with debootstrap' },
  { name: 'mirror', value: 'string', meta: 'URL', help: 'debootstrap mirror (default: vserver.toml mirror, deb.debian.org)' },
  { name: 'variant', value: 'string', meta: 'V', help: 'debootstrap variant (default minbase)' },
  { name: 'include', value: 'string', meta: 'PKGS', help: 'more packages for debootstrap, comma-separated' },
  { name: 'tarball', value: 'string', meta: 'FILE', help: 'a root tree as .tar, .tar.gz, .tar.xz or .tar.zst' },
];

const JOBS_OPTION: OptionSpec = { name: 'jobs', short: 'j', value: 'int', meta: 'N', help: 'guests acted on at once (default: twice the cores, at most 16)' };
const MARK_OPTION: OptionSpec = { name: 'mark', value: 'string', meta: 'M', help: 'the guests with mark = "M" (default for autostart/autostop: default)' };
/** start, stop and restart act on one guest, several, --all or --mark M. */
const BULK_OPTIONS: OptionSpec[] = [{ name: 'all', help: 'every guest' }, MARK_OPTION, JOBS_OPTION];

export const VERBS: Verb[] = [
  {
    name: 'build', summary: 'build a new guest from a template, debootstrap, a tarball or another guest', args: [NAME],
    options: [
      { name: 'template', short: 't', value: 'string', meta: 'T', help: 'template to build from (built in: busybox; or one made with template create)' },
      ...SOURCE_OPTIONS,
      { name: 'clone', value: 'string', meta: 'GUEST', help: 'copy a stopped guest (new context and hostname)' },
      { name: 'backend', value: 'string', meta: 'dir|overlay', help: 'overlay: share a stored template (default for one); dir: an own copy' },
      { name: 'isolated', help: 'an id range of its own even from a shared template (an own copy, backend dir)' },
      { name: 'context', value: 'int', meta: 'N', help: 'context number (default: the lowest free one)' },
      { name: 'hostname', value: 'string', meta: 'HOST', help: 'host name of the guest (default: NAME)' },
      { name: 'init', value: 'string', meta: 'STYLE', help: 'init style: plain, sysv, systemd, openrc or cmd' },
      { name: 'privileged', help: 'no user namespace: guest root is host root (not recommended)' },
    ],
    rest: 'CMD [ARG...]',
    examples: [
      'vserver build web1',
      'vserver build deb1 --debootstrap bookworm --init sysv',
      'vserver build web2 --template deb12',
      'vserver build web3 --template deb12 --backend dir --isolated',
      'vserver build alp1 --tarball alpine-minirootfs.tar.gz',
      'vserver build web4 --clone web2',
      'vserver build job1 --init cmd -- /bin/sh -c "echo hi; sleep 1000"',
    ],
    load: () => import('./build.js'),
  },
  {
    name: 'template', summary: 'make, list and delete the shared templates', args: ['ACTION', 'NAME?'],
    options: [
      ...SOURCE_OPTIONS,
      { name: 'from-guest', value: 'string', meta: 'GUEST', help: 'copy a stopped guest' },
      { name: 'init', value: 'string', meta: 'STYLE', help: 'init style its guests get by default' },
    ],
    examples: [
      'vserver template create deb12 --debootstrap bookworm',
      'vserver template create alpine --tarball alpine-minirootfs.tar.gz',
      'vserver template create web --from-guest web1',
      'vserver template list',
      'vserver template delete deb12',
    ],
    load: () => import('./template.js'),
  },
  {
    name: 'mount', summary: "mount overlay guests' merged trees (at boot: mount --all)", args: ['NAME?'],
    options: [{ name: 'all', help: 'every overlay guest' }],
    examples: ['vserver mount --all', 'vserver mount web2'], load: () => import('./mount.js'),
  },
  {
    name: 'export', summary: 'stream a stopped guest (tree and config) as a compressed tar with a checksum manifest', args: [NAME, 'FILE?'],
    options: [{ name: 'sign', value: 'string', meta: 'KEY', help: 'sign the archive with this SSH private key (ssh-keygen -Y), into FILE.sig' }],
    examples: ['vserver export web1 web1.tar.zst', 'vserver export web1 - | ssh host2 vserver import -',
      'vserver export web1 web1.tar.zst --sign ~/.ssh/id_ed25519'],
    load: () => import('./export.js'),
  },
  {
    name: 'import', summary: 'recreate a guest from an export, verified against its manifest', args: ['FILE'],
    options: [
      { name: 'name', value: 'string', meta: 'NEW', help: 'name of the new guest (default: the exported name)' },
      { name: 'trust-config', help: "keep the archive's privileged mode, added capabilities, seccomp profile and host/phys networking" },
      { name: 'verify', value: 'string', meta: 'KEY.pub', help: 'import only if FILE.sig is a good signature by this SSH public key' },
    ],
    examples: ['vserver import web1.tar.zst', 'vserver import web1.tar.zst --name web1-copy', 'vserver import - < web1.tar.zst',
      'vserver import trusted.tar.zst --trust-config', 'vserver import web1.tar.zst --verify alice.pub'],
    load: () => import('./import.js'),
  },
  {
    name: 'import-legacy', summary: 'make a guest of a util-vserver guest: its /etc/vservers/NAME directory and its tree', args: ['DIR'],
    options: [
      { name: 'name', value: 'string', meta: 'NEW', help: 'name of the new guest (default: the name file, else the directory\'s name)' },
      { name: 'copy', help: 'copy the tree; the legacy tree stays as it was (the default)' },
      { name: 'in-place', help: 'move the tree here instead of copying it (same filesystem only)' },
      { name: 'privileged', help: 'keep the owners: no user namespace, guest root is host root (as under util-vserver)' },
    ],
    examples: ['vserver import-legacy /etc/vservers/web1', 'vserver import-legacy /etc/vservers/web1 --name web1-new',
      'vserver import-legacy /etc/vservers/db1 --in-place', 'vserver import-legacy /etc/vservers/web1 --json'],
    load: () => import('./import-legacy.js'),
  },
  {
    name: 'du', summary: 'disk use per guest: bytes and inodes, template-shared files apart', args: ['NAME?'], options: [],
    examples: ['vserver du', 'vserver du web1 --json'], load: () => import('./du.js'),
  },
  {
    name: 'unify', summary: 'share identical file contents between guests (XFS or btrfs reflinks)', args: ['NAME?'],
    options: [{ name: 'min-size', value: 'int', meta: 'BYTES', help: 'skip files smaller than this (default 4096)' }],
    examples: ['vserver unify', 'vserver unify --json'], load: () => import('./unify.js'),
  },
  {
    name: 'snapshot', summary: "snapshots of a guest's own tree (reflink where the filesystem can); a running guest is frozen meanwhile",
    args: ['NAME|ACTION', 'SNAP|NAME?', 'SNAP?'],
    options: [{ name: 'discard', help: 'with restore: drop the current tree instead of keeping it as a snapshot' }],
    examples: ['vserver snapshot web1', 'vserver snapshot web1 before-upgrade', 'vserver snapshot list web1',
      'vserver snapshot restore web1 before-upgrade', 'vserver snapshot restore web1 before-upgrade --discard',
      'vserver snapshot delete web1 before-upgrade'],
    load: () => import('./snapshot.js'),
  },
  {
    name: 'start', summary: 'start guests: one, several, all, or those of a mark', args: ['NAME...'], options: BULK_OPTIONS,
    examples: ['vserver start web1', 'vserver web1 start', 'vserver start web1 web2 db1', 'vserver start --mark web --jobs 8'],
    load: () => import('./start.js'),
  },
  {
    name: 'stop', summary: 'stop guests: init shuts down, then TERM and KILL', args: ['NAME...'],
    options: [{ name: 'timeout', value: 'int', meta: 'S', help: "seconds to wait for init before killing (default: the guest's stop_timeout, 30)" }, ...BULK_OPTIONS],
    examples: ['vserver stop web1', 'vserver stop web1 --timeout 5', 'vserver stop --all'], load: () => import('./stop.js'),
  },
  {
    name: 'restart', summary: 'stop guests if they run, then start them', args: ['NAME...'],
    options: [{ name: 'timeout', value: 'int', meta: 'S', help: "seconds to wait for init before killing (default: the guest's stop_timeout, 30)" }, ...BULK_OPTIONS],
    examples: ['vserver restart web1', 'vserver restart --all'], load: () => import('./restart.js'),
  },
  {
    name: 'autostart', summary: 'start the guests of a mark at boot, by start_order: lower orders first, each group in parallel', args: [],
    options: [MARK_OPTION, JOBS_OPTION],
    examples: ['vserver autostart', 'vserver autostart --mark web'], load: () => import('./autostart.js'),
  },
  {
    name: 'autostop', summary: 'stop the guests of a mark at shutdown, in reverse start_order', args: [],
    options: [MARK_OPTION, JOBS_OPTION],
    examples: ['vserver autostop', 'vserver autostop --mark web'], load: () => import('./autostart.js'),
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
    name: 'check', summary: 'check that this host offers what guests need: one line per item, OK, WARN or FAIL with the fix', args: [],
    options: [
      { name: 'escape', help: 'also try every known way out as root in a throw-away guest with this host\'s defaults, then remove it' },
      { name: 'privileged', help: 'with --escape: a privileged throw-away guest too' },
      { name: 'like', value: 'string', meta: 'GUEST', help: 'with --escape: the throw-away guest gets the privileged mode and [security] of GUEST' },
    ],
    examples: ['vserver check', 'vserver check --json', 'vserver check --escape', 'vserver check --escape --privileged', 'vserver check --escape --like web1'], load: () => import('./check.js'),
  },
  {
    name: 'config', summary: 'show or change a guest\'s configuration', args: [NAME, 'KEY?', 'VALUE?'],
    options: [{ name: 'unset', help: 'remove KEY, so that its default applies' }],
    examples: ['vserver config web1', 'vserver config web1 stop_timeout', 'vserver config web1 stop_timeout 10'],
    load: () => import('./config.js'),
  },
  {
    name: 'limit', summary: 'show or change a guest\'s limits; a running guest gets the change at once', args: [NAME, 'KEY?', 'VALUE?'],
    options: [],
    // one example per key, from the table `vserver limit` reads
    examples: ['vserver limit web1', ...limitExamples('web1'), 'vserver limit web1 memory.max max'],
    load: () => import('./limit.js'),
  },
  {
    name: 'stat', summary: 'CPU, memory and uptime of the host and of each running guest (vserver-stat)', args: [], options: [],
    examples: ['vserver stat', 'vserver stat --json'], load: () => import('./stat.js'),
  },
  {
    name: 'ps', summary: 'ps with a CONTEXT column; ps options pass through; with NAME only that guest', args: ['NAME?'],
    options: [], rest: 'PS-OPTIONS', passthrough: true,
    examples: ['vserver ps', 'vserver ps aux', 'vserver ps -eo pid,user,args', 'vserver ps web1', 'vserver ps web1 -o pid,args'],
    load: () => import('./ps.js'),
  },
  {
    name: 'top', summary: 'live view of the running guests: CPU, memory, pids, I/O, network', args: [],
    options: [
      { name: 'sort', short: 's', value: 'string', meta: 'KEY', help: 'cpu (default), mem, pids, io, net, name or ctx' },
      { name: 'delay', short: 'd', value: 'int', meta: 'S', help: 'seconds between refreshes (default 1)' },
    ],
    examples: ['vserver top', 'vserver top --sort mem', 'vserver top > snapshot.txt'], load: () => import('./top.js'),
  },
];

export const VERB_MAP: ReadonlyMap<string, Verb> = new Map(VERBS.map((v) => [v.name, v]));
