// Server-sent events split into their data lines, across chunk boundaries.

export class SseParser {
  private buf = '';

  /** Feeds a chunk; returns the data of each event it completed. */
  push(chunk: string): string[] {
    this.buf += chunk.replace(/\r\n/g, '\n');
    const out: string[] = [];
    let at: number;
    while ((at = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, at);
      this.buf = this.buf.slice(at + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''));
      if (data.length > 0) out.push(data.join('\n'));
    }
    return out;
  }
}
