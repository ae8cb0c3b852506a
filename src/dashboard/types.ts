// API answers that have no wire type of their own in src/wire: the daemon builds them ad hoc.

export interface BulkResultRow {
  name: string;
  action: string;
  ok: boolean;
  note?: string;
  state?: string;
  error?: string;
  code?: string;
  hint?: string;
}
