// A guest's status in the dashboard: the rows `vserver status` prints, then its mark and its warnings
// (the CLI shows the mark in `vserver list` and writes warnings to stderr).
import type { GuestInfo } from '../wire/guest.js';
import { type Row, statusRows } from '../view/status-rows.js';

export function guestRows(g: GuestInfo): Row[] {
  return [...statusRows(g), ...(g.mark ? [['mark', g.mark] as Row] : []), ...(g.warnings ?? []).map((w): Row => ['warning', w])];
}
