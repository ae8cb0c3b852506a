// vserver migrate NAME ssh://root@HOST[:PORT] | REMOTE: moves a guest to another host. Its tree is copied with
// rsync while it runs, in rounds until the changed set stops shrinking; then it is frozen, the last
// changes follow, and the target re-owns, places and starts it. Only once it runs there does the
// source stop (and go, unless kept). Any failure before that thaws the source and the target keeps
// nothing. Memory is not carried: the guest's processes start afresh on the target.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkName } from '../guest/name.js';
import { contextRange } from '../guest/idmap.js';
import { changedSince, holdsDeviceNodes, rsyncTo } from '../storage/rsync.js';
import { crashPoint } from '../util/crash.js';
import { toVsError, VsError } from '../util/errors.js';
import { withLock } from '../util/lock.js';
import { sleep } from '../util/proc.js';
import { traced } from '../util/trace.js';
import { uniqueSuffix } from '../util/unique.js';
import { deleteLocked } from './delete.js';
import type { Deps } from './deps.js';
import { parseDestination, Receiver, relayTransport, sshTransport, TargetError, type Transport } from './migrate-remote.js';
import { RECEIVE_IDLE_MS } from './migrate-receive.js';
import { migrationLeft, recordMigration } from './migrate-record.js';
import { StandbyCopy } from './migrate-standby.js';
import { ensureMounted } from './mount.js';
import { listSnapshots } from './snapshot-store.js';
import { checkNotReowning } from './reown.js';
import { guestIds, isActive } from './state.js';
import { stopLocked } from './stop.js';
import { guestTree, templateTree } from './trees.js';

export interface MigrateOptions {
  /** ssh options (each as ssh -o takes it: IdentityFile=KEY, UserKnownHostsFile=FILE, ...). */
  sshOptions?: string[];
  /** vserver's path on the target (default: vserver, found on the target's PATH). */
  remoteVserver?: string;
  /** Keep the source, stopped, instead of deleting it. */
  keep?: boolean;
  /** DEST names a remote's daemon: this command (vserver __relay ROOT REMOTE) runs a command there, joined to its stdio. */
  relay?: string[];
  /** Pre-copy rounds at most (default 8). */
  maxRounds?: number;
  onProgress?: (line: string) => void;
}

export interface MigrateRound {
  changed: number;
  seconds: number;
}

export interface MigrateResult {
  name: string;
  dest: string;
  /** The guest's context on the target. */
  context: number;
  /** Automatic choices made on the target (context, addresses, template copied). */
  notes: string[];
  /** Whether the guest ran here; a stopped guest is copied once and not started there. */
  wasRunning: boolean;
  rounds: MigrateRound[];
  precopySeconds: number;
  /** From the freeze here to running there. */
  downtimeSeconds?: number;
  totalSeconds: number;
  kept: boolean;
}

/** rsync gives up after this many seconds without progress: a cut link must not keep the guest frozen long. */
const RSYNC_TIMEOUT_S = 10;
const PING_MS = 3000;
/** How far before a round's start the final copy looks for changes: the kernel's change times run on a coarse clock. */
const CLOCK_SLACK_MS = 2000;

/** The ssh connection's control socket, short enough for a socket path (108 bytes). */
function controlPath(deps: Deps): string {
  const dir = join(deps.paths.run, 'tmp');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, `ssh-${process.pid}-${uniqueSuffix()}`);
}

const seconds = (from: number) => Math.round((performance.now() - from) / 10) / 100;

/** ssh://, or a remote's daemon reached through the relay command. */
function transportTo(deps: Deps, name: string, dest: string, opts: MigrateOptions): Transport {
  if (opts.relay) return relayTransport(dest, opts.relay, name);
  return sshTransport(parseDestination(dest), controlPath(deps), opts, name);
}

export function migrateGuest(deps: Deps, name: string, dest: string, opts: MigrateOptions = {}): Promise<MigrateResult> {
  checkName(name);
  // over ssh, rsync's runs share the receiver's connection: no handshake per round, least of all while frozen
  const link = transportTo(deps, name, dest, opts);
  return withLock(deps.paths.lock(name), `vserver migrate ${name}`, async () => {
    const begin = performance.now();
    const say = opts.onProgress ?? (() => undefined);
    const cfg = deps.store.read(name);
    checkNotReowning(deps, name);
    const rt = await deps.runtime();
    const st = await rt.state(name);
    if (migrationLeft(deps, name)) {
      throw new VsError(
        'BUSY',
        `an interrupted migration of guest '${name}' may have left it frozen`,
        "run 'vserver gc', which thaws it (or says what to do), then migrate again",
      );
    }
    // snapshots are not carried: deleting the source would take them with it
    const snaps = listSnapshots(deps, name).length;
    if (snaps > 0 && !opts.keep) {
      throw new VsError(
        'IN_USE',
        `guest '${name}' has ${snaps} snapshot${snaps === 1 ? '' : 's'}, which migrate does not carry and deleting it here would remove`,
        `migrate with --keep (the guest and its snapshots stay here, stopped), or delete them first ('vserver snapshot delete ${name} SNAP')`,
      );
    }
    const running = isActive(st);
    await ensureMounted(deps, name, cfg);
    const overlay = cfg.backend === 'overlay' && cfg.template !== undefined;
    const tree = guestTree(deps, name, overlay ? 'upper' : 'rootfs');
    const template = overlay ? { name: cfg.template!, meta: deps.templates.read(cfg.template!) } : undefined;
    const record = recordMigration(deps, name, dest);
    const receiver = new Receiver(link.receiver, link.hint);
    const ping = setInterval(() => receiver.send({ op: 'ping' }), PING_MS);
    let standby: StandbyCopy | undefined;
    let frozen = false;
    let finishing = false;
    let started = false;
    try {
      // a user namespace cannot make device nodes: a tree with some is re-owned by the target at the switch
      const devices = await holdsDeviceNodes(tree);
      const tdevices = template ? await holdsDeviceNodes(templateTree(deps, template.name)) : false;
      const hello = await traced(`migrate ${name}: connect and prepare the target`, () =>
        receiver.request(
          {
            op: 'hello',
            config: readFileSync(deps.paths.guestConfig(name), 'utf8'),
            ids: guestIds(deps, cfg),
            devices,
            ...(template
              ? { template: { name: template.name, meta: template.meta, ids: contextRange(template.meta.context), devices: tdevices } }
              : {}),
          },
          60_000,
        ),
      );
      const staging = join(String(hello.staging), overlay ? 'upper' : 'rootfs');
      // the target's rsync may write owners shifted to its range as they arrive
      const guestTarget = link.rsync(hello.rsyncPath);
      const notes = (hello.notes as string[] | undefined) ?? [];
      for (const n of notes) say(`target: ${n}`);
      if (hello.templateStaging !== undefined) {
        say(`copying template '${template!.name}' to the target`);
        await rsyncTo(
          templateTree(deps, template!.name),
          link.rsync(hello.templateRsyncPath),
          join(String(hello.templateStaging), 'rootfs'),
          RSYNC_TIMEOUT_S,
        );
      }
      // pre-copy: while the guest runs, until a round changes no fewer entries than the one before
      const rounds: MigrateRound[] = [];
      const pre = performance.now();
      let roundStart = 0;
      for (let prev = Infinity; ; ) {
        const t = performance.now();
        roundStart = Date.now();
        // should this round be the last, the final copy is ready by its end
        standby = new StandbyCopy(tree, guestTarget, staging, RSYNC_TIMEOUT_S);
        const changed = await rsyncTo(tree, guestTarget, staging, RSYNC_TIMEOUT_S);
        rounds.push({ changed, seconds: seconds(t) });
        say(`pre-copy round ${rounds.length}: ${changed} entries copied or changed (${seconds(t)} s)`);
        crashPoint('migrate:precopy');
        if (!running || changed === 0 || changed >= prev || rounds.length >= (opts.maxRounds ?? 8)) break;
        prev = changed;
        await standby.cancel();
      }
      const final = standby;
      const precopySeconds = seconds(pre);
      // the switch: frozen here, the last changes over, placed and started there
      const switched = performance.now();
      if (running) {
        record.phase('frozen');
        await traced(`migrate ${name}: freeze`, () => rt.pause(name));
        frozen = true;
        say('guest frozen; final copy');
      }
      crashPoint('migrate:frozen');
      // the last round copied all that was there when it began: only what changed since goes now
      const only = await traced(`migrate ${name}: list changes`, () => changedSince(tree, roundStart - CLOCK_SLACK_MS));
      const f = performance.now();
      standby = undefined;
      const last = await traced(`migrate ${name}: final copy`, () => final.send(only));
      say(`final copy: ${last} entries of ${only.length} changed (${seconds(f)} s)`);
      crashPoint('migrate:synced');
      record.phase('finishing');
      finishing = true;
      const p = performance.now();
      const done = await traced(`migrate ${name}: place and start on the target`, () =>
        receiver.request({ op: 'finish', start: running }, 180_000),
      );
      started = true;
      say(`placed${running ? ' and started' : ''} on the target (${seconds(p)} s)`);
      for (const n of (done.notes as string[] | undefined) ?? []) {
        notes.push(n);
        say(`target: ${n}`);
      }
      await traced(`migrate ${name}: commit`, () => receiver.request({ op: 'commit' }, 30_000));
      record.phase('switched');
      const downtimeSeconds = running ? seconds(switched) : undefined;
      clearInterval(ping);
      receiver.close();
      const context = Number((done.info as { context?: number } | undefined)?.context ?? hello.context);
      if (running) await traced(`migrate ${name}: stop the source`, () => stopLocked(deps, name, { kill: true }));
      if (!opts.keep) await traced(`migrate ${name}: delete the source`, () => deleteLocked(deps, name));
      record.remove();
      return {
        name,
        dest: link.text,
        context,
        notes,
        wasRunning: running,
        rounds,
        precopySeconds,
        ...(downtimeSeconds === undefined ? {} : { downtimeSeconds }),
        totalSeconds: seconds(begin),
        kept: opts.keep === true,
      };
    } catch (e) {
      clearInterval(ping);
      await standby?.cancel();
      receiver.close();
      const err = toVsError(e);
      if (started && !(e instanceof TargetError)) {
        // it ran there, and the link broke before the target heard that we know: only the target knows whether it kept it
        throw new VsError(
          'MIGRATION_FAILED',
          `migrating guest '${name}' to ${link.text} was cut off at the switch: ${err.message}`,
          `guest '${name}' stays frozen here. Check 'vserver status ${name}' on the target: if it runs there, 'vserver delete --force ${name}' here; ` +
            `if not, 'vserver stop ${name}' and 'vserver start ${name}' here`,
          { cause: e },
        );
      }
      if (finishing && !(e instanceof TargetError)) {
        // the target may be starting it: it drops the guest once it goes unconfirmed, so wait that out before thawing
        say('the link broke during the switch; waiting for the target to drop its copy before thawing here');
        await sleep(RECEIVE_IDLE_MS + 5000);
      }
      if (frozen) await rt.resume(name);
      record.remove();
      throw new VsError(
        err.code,
        `migrating guest '${name}' to ${link.text} failed: ${err.message}`,
        `${running ? `the guest runs here again${frozen ? ' (thawed)' : ''}` : 'the guest is here as it was'}, and the target keeps no copy` +
          ` (what it staged goes when its receiver ends; 'vserver gc' there removes it otherwise); ${err.hint ?? 'fix the cause and migrate again'}`,
        { cause: e },
      );
    }
  });
}
