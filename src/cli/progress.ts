// Progress of a long build on stderr: a bar that redraws itself on a terminal, plain lines elsewhere.
import type { Progress } from '../util/progress.js';
import type { CliContext } from './context.js';

export interface ProgressPrinter {
  update: (p: Progress) => void;
  done: () => void;
}

function amount(p: Progress): string {
  if (p.unit === 'bytes') return `${(p.now / 1e6).toFixed(1)}/${(p.end / 1e6).toFixed(1)} MB`;
  if (p.unit === 'packages') return `${p.now}/${p.end} packages`;
  return '';
}

/** One line of the bar, `width` cells wide (pure); the counts come before the stage, which may be cut. */
export function progressBar(p: Progress, width = 30): string {
  const frac = p.end > 0 ? Math.min(1, p.now / p.end) : 0;
  const full = Math.round(frac * width);
  const count = amount(p);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.round(frac * 100)).padStart(3)}%${count ? ` (${count})` : ''} ${p.stage}`;
}

export function progressPrinter(ctx: CliContext, stream: NodeJS.WriteStream = process.stderr): ProgressPrinter {
  const tty = stream.isTTY === true && !ctx.json;
  let lastStage = '';
  let lastDraw = 0;
  let drawn = false;
  return {
    update: (p) => {
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100 && p.stage === lastStage && p.now < p.end) return;
        lastDraw = now;
        const cols = stream.columns || 80;
        stream.write(`\r\x1b[K${progressBar(p, Math.max(10, Math.min(30, cols - 60))).slice(0, cols - 1)}`);
        drawn = true;
      } else if (p.stage !== lastStage) {
        ctx.err(
          `debootstrap: ${p.stage}${p.end > 0 && p.unit !== 'steps' ? ` (${p.unit === 'bytes' ? `${(p.end / 1e6).toFixed(1)} MB` : `${p.end} packages`})` : ''}\n`,
        );
      }
      lastStage = p.stage;
    },
    done: () => {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
