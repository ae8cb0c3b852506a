// apps/init of a util-vserver guest (pure): style, mark, cmd.*, killseq, environment, depends, ...
// (the "flower page", util-vserver doc/configuration.xml, collection apps/init).
import { parseSignal } from '../util/proc.js';
import type { Sink } from './legacy-types.js';

const STYLES: Record<string, string> = { plain: 'plain', sysv: 'sysv', systemd: 'systemd', gentoo: 'openrc', openrc: 'openrc' };

export function translateInit(files: Map<string, string>, sink: Sink): void {
  const lines = (f: string) =>
    (files.get(f) ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
  const first = (f: string) => lines(f)[0] ?? '';
  for (const file of files.keys()) {
    const k = file.replace(/^apps\/init\//, '');
    switch (k) {
      case 'style': {
        const style = STYLES[first(file)];
        if (style) sink.set(file, 'init', style, `init style ${first(file)}`);
        else
          sink.not(
            file,
            `init style '${first(file)}' has no counterpart; the guest starts with init = "plain" (its /sbin/init), or set init = "cmd" and cmd`,
          );
        break;
      }
      case 'mark':
        if (first(file) === '') sink.covered(file, 'empty: no mark');
        else sink.set(file, 'mark', first(file), 'vserver autostart --mark starts it with the others of its mark');
        break;
      case 'cmd.start':
        if (lines(file).length === 0) sink.covered(file, 'empty: the init style decides');
        else {
          sink.set(file, 'init', 'cmd', "the command runs as the guest's first process");
          sink.set(
            file,
            'cmd',
            lines(file),
            'one argument per line, as util-vserver wrote them; the command must keep running, or the guest stops',
          );
        }
        break;
      case 'killseq': {
        const words = first(file).split(/\s+/);
        const sig = words[0] !== undefined ? parseSignal(words[0]) : undefined;
        if (!sig) {
          sink.not(file, `'${first(file)}' does not start with a signal; set stop_signal and stop_timeout`);
          break;
        }
        sink.set(file, 'stop_signal', /^(SIG|\d)/.test(sig.name) ? sig.name : `SIG${sig.name}`, 'the signal init gets first');
        if (words[1] !== undefined && /^\d+$/.test(words[1]))
          sink.set(file, 'stop_timeout', Number(words[1]), 'seconds before the guest is killed');
        if (words.length > 3)
          sink.note(file, `the signals after the first wait are not sent one by one: after stop_timeout everything is killed`);
        break;
      }
      case 'environment': {
        const env: Record<string, string> = {};
        for (const l of lines(file)) {
          const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(l);
          if (m) env[m[1]!] = m[2]!;
          else sink.not(file, `'${l}' is not VAR=VALUE`);
        }
        if (Object.keys(env).length > 0) sink.set(file, 'env', env, 'the environment of init');
        break;
      }
      case 'depends':
        sink.not(
          file,
          `depends on ${lines(file).join(', ')}: give those guests a lower start_order (and the same mark) so that autostart starts them first`,
        );
        break;
      case 'runlevel':
      case 'runlevel.start':
      case 'runlevel.stop':
        sink.not(file, "set the default runlevel in the guest's /etc/inittab; vserver runs its init as it is");
        break;
      case 'cmd.stop':
      case 'cmd.prepare':
      case 'cmd.start-sync':
      case 'cmd.stop-sync':
        sink.not(
          file,
          `'${lines(file).join(' ')}': there are no separate stop or prepare commands; init gets stop_signal, then everything is killed after stop_timeout`,
        );
        break;
      case 'sync':
        sink.covered(file, 'vserver start returns when init runs; there is nothing to sync with');
        break;
      case 'tty':
        sink.not(file, "init's console output goes to var/log/vserver/NAME.log; there is no tty to choose");
        break;
      case 'mtab':
        sink.covered(file, "the guest's /proc/mounts is its own mount table");
        break;
      default:
        sink.not(file, 'not an apps/init setting util-vserver documents');
    }
  }
}
