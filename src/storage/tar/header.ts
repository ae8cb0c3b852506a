// Tar headers (ustar, GNU and pax), read and written exactly as GNU tar does for what we accept.
export const BLOCK = 512;

export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  type: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

export class TarFormatError extends Error {}

function str(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return (z >= 0 ? s.subarray(0, z) : s).toString('utf8');
}

/** A numeric field: octal text, or GNU base-256 when the top bit of the first byte is set. */
export function readNumber(b: Buffer, off: number, len: number): number {
  const f = b.subarray(off, off + len);
  if (f[0]! & 0x80) {
    if (f[0] === 0xff) throw new TarFormatError('negative number in a tar header');
    let n = f[0]! & 0x7f;
    for (let i = 1; i < len; i++) n = n * 256 + f[i]!;
    if (!Number.isSafeInteger(n)) throw new TarFormatError('number too large in a tar header');
    return n;
  }
  // octal digits, optionally padded with spaces before and NULs or spaces after
  let i = 0;
  while (i < len && f[i] === 0x20) i++;
  let n = 0;
  let digits = 0;
  for (; i < len; i++) {
    const c = f[i]!;
    if (c >= 0x30 && c <= 0x37) {
      n = n * 8 + (c - 0x30);
      digits++;
    } else break;
  }
  for (; i < len; i++) {
    if (f[i] !== 0 && f[i] !== 0x20) throw new TarFormatError(`bad number '${f.toString('latin1').replace(/\0/g, '')}' in a tar header`);
  }
  return digits === 0 ? 0 : n;
}

export function writeNumber(b: Buffer, off: number, len: number, n: number): void {
  const octal = n.toString(8);
  if (octal.length <= len - 1) {
    b.write(octal.padStart(len - 1, '0'), off, 'latin1');
    b[off + len - 1] = 0;
    return;
  }
  // base-256, as GNU tar writes ids and sizes that do not fit
  b.fill(0, off, off + len);
  let v = n;
  for (let i = len - 1; i > 0; i--) {
    b[off + i] = v % 256;
    v = Math.floor(v / 256);
  }
  b[off] = 0x80;
}

export function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

function checksum(b: Buffer): { unsigned: number; signed: number } {
  let u = 0;
  let s = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 32 : b[i]!;
    u += v;
    s += v > 127 ? v - 256 : v;
  }
  return { unsigned: u, signed: s };
}

export function setChecksum(b: Buffer): void {
  b.fill(32, 148, 156);
  const c = checksum(b).unsigned;
  b.write(c.toString(8).padStart(6, '0'), 148, 'latin1');
  b[154] = 0;
  b[155] = 32;
}

export function parseHeader(b: Buffer): RawHeader {
  const stored = readNumber(b, 148, 8);
  const c = checksum(b);
  if (stored !== c.unsigned && stored !== c.signed)
    throw new TarFormatError('bad header checksum (the archive is corrupt or not a tar file)');
  const magic = b.subarray(257, 263).toString('latin1');
  let name = str(b, 0, 100);
  // only POSIX ustar has a prefix field; old GNU keeps other data there
  if (magic === 'ustar\0') {
    const prefix = str(b, 345, 155);
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  return {
    name,
    mode: readNumber(b, 100, 8),
    uid: readNumber(b, 108, 8),
    gid: readNumber(b, 116, 8),
    size: readNumber(b, 124, 12),
    mtime: readNumber(b, 136, 12),
    type: b[156] === 0 ? '0' : String.fromCharCode(b[156]!),
    linkname: str(b, 157, 100),
    uname: str(b, 265, 32),
    gname: str(b, 297, 32),
    devmajor: readNumber(b, 329, 8),
    devminor: readNumber(b, 337, 8),
  };
}

/** A new POSIX ustar header; names longer than the fields must go in a pax record first. */
export function makeHeader(h: Partial<RawHeader> & { name: string; type: string }): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(h.name.slice(0, 100), 0, 'utf8');
  writeNumber(b, 100, 8, h.mode ?? 0o644);
  writeNumber(b, 108, 8, h.uid ?? 0);
  writeNumber(b, 116, 8, h.gid ?? 0);
  writeNumber(b, 124, 12, h.size ?? 0);
  writeNumber(b, 136, 12, h.mtime ?? 0);
  b.write(h.type, 156, 'latin1');
  b.write((h.linkname ?? '').slice(0, 100), 157, 'utf8');
  b.write('ustar\0', 257, 'latin1');
  b.write('00', 263, 'latin1');
  b.write(h.uname ?? '', 265, 'utf8');
  b.write(h.gname ?? '', 297, 'utf8');
  writeNumber(b, 329, 8, h.devmajor ?? 0);
  writeNumber(b, 337, 8, h.devminor ?? 0);
  setChecksum(b);
  return b;
}

/** Rewrites the owner fields of a header block in place. */
export function setOwner(b: Buffer, uid: number, gid: number): void {
  writeNumber(b, 108, 8, uid);
  writeNumber(b, 116, 8, gid);
  setChecksum(b);
}

export type PaxRecords = [key: string, value: Buffer][];

/** Records of a pax extended header: "LEN key=value\n", values kept as bytes (xattrs are binary). */
export function parsePax(data: Buffer): PaxRecords {
  const out: PaxRecords = [];
  let off = 0;
  while (off < data.length) {
    if (data[off] === 0) break;
    const sp = data.indexOf(0x20, off);
    if (sp < 0) throw new TarFormatError('bad pax record');
    const len = Number(data.subarray(off, sp).toString('latin1'));
    if (!Number.isInteger(len) || len <= 0 || off + len > data.length || data[off + len - 1] !== 0x0a) {
      throw new TarFormatError('bad pax record length');
    }
    const rec = data.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw new TarFormatError('bad pax record (no =)');
    out.push([rec.subarray(0, eq).toString('utf8'), Buffer.from(rec.subarray(eq + 1))]);
    off += len;
  }
  return out;
}

export function encodePax(records: PaxRecords): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of records) {
    const body = Buffer.concat([Buffer.from(` ${k}=`), v, Buffer.from('\n')]);
    // the length counts its own digits
    let len = body.length + 1;
    while (String(len).length + body.length > len) len++;
    parts.push(Buffer.concat([Buffer.from(String(len)), body]));
  }
  return Buffer.concat(parts);
}

export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** A whole pax 'x' member (header + data + padding). */
export function paxMember(records: PaxRecords, name: string): Buffer {
  const data = encodePax(records);
  return Buffer.concat([makeHeader({ name, type: 'x', size: data.length }), data, Buffer.alloc(padding(data.length))]);
}

/** A whole regular-file member with the given content, using pax for a long name. */
export function fileMember(name: string, content: Buffer, mode = 0o644, mtime = 0): Buffer {
  const parts: Buffer[] = [];
  if (Buffer.byteLength(name) > 100) parts.push(paxMember([['path', Buffer.from(name)]], 'PaxHeader'));
  parts.push(makeHeader({ name, type: '0', size: content.length, mode, mtime }), content, Buffer.alloc(padding(content.length)));
  return Buffer.concat(parts);
}
