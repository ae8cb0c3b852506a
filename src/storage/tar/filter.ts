// A tar stream on its way into GNU tar (tarball builds, import): each member is checked before
// tar sees it, owners are shifted from guest-relative ids into the guest's range, and every
// member is summed for the import's manifest check. One pass, constant memory.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import {
  BLOCK,
  encodePax,
  isZeroBlock,
  makeHeader,
  padding,
  parseHeader,
  parsePax,
  setOwner,
  TarFormatError,
  type PaxRecords,
  type RawHeader,
} from './header.js';
import { TarPolicyError, type TreePolicy, TYPE_OF, type EntryType } from './policy.js';

export interface Member {
  path: string;
  type: EntryType;
  mode: number;
  /** Owner as the guest sees it (guest-relative). */
  uid: number;
  gid: number;
  size: number;
  mtime: string;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: [string, Buffer][];
}

/** One manifest line: what a round trip must keep. */
export type ManifestEntry = [
  path: string,
  type: EntryType,
  mode: number,
  uid: number,
  gid: number,
  size: number,
  mtime: string,
  link: string,
  dev: string,
  sha256: string,
  xattrs: string,
];

export type Route = 'forward' | 'capture' | 'drop';

export interface FilterOptions {
  /** Checks every member; absent for a stream we made ourselves from a guest tree. */
  policy?: TreePolicy;
  /** Maps an owner id from the input to the output; throws to refuse the member. */
  mapId?: (id: number, kind: 'uid' | 'gid', path: string) => number;
  /** Whether ids in the input are guest-relative (tarball, import) or host ids (export). */
  inputIsGuest: boolean;
  route?: (m: Member) => Route;
  /** Called with a captured member's data before the stream goes on. */
  onCapture?: (m: Member, data: Buffer) => Promise<void> | void;
  /** Extra bytes written before the end-of-archive blocks (export's manifest). */
  trailer?: () => Buffer;
  /** Largest member that may be captured. */
  maxCapture?: number;
  /** Read on past end-of-archive blocks, as `tar --ignore-zeros` does (an export appends its manifest so). */
  ignoreZeros?: boolean;
}

const META_MAX = 1 << 20;
const META_TYPES = new Set(['x', 'g', 'L', 'K']);

type State =
  | { kind: 'header' }
  | { kind: 'meta'; header: RawHeader; block: Buffer; remaining: number; pad: number; chunks: Buffer[] }
  | {
      kind: 'data';
      remaining: number;
      pad: number;
      forward: boolean;
      hash?: Hash;
      capture?: Buffer[];
      member: Member;
      entry?: ManifestEntry;
    }
  | { kind: 'end' };

export class TarFilter extends Transform {
  readonly manifest: ManifestEntry[] = [];
  private state: State = { kind: 'header' };
  private buf: Buffer = Buffer.alloc(0);
  private pax: PaxRecords | undefined;
  private paxBlock: Buffer | undefined;
  private paxData: Buffer | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;
  /** Raw L/K members, forwarded in front of the member they name. */
  private pendingRaw: Buffer[] = [];
  private sawEnd = false;

  /** Output of the chunk being processed, handed on in one piece (one write for many small members). */
  private out: Buffer[] = [];

  constructor(private readonly opts: FilterOptions) {
    super({ readableHighWaterMark: 4 << 20, writableHighWaterMark: 4 << 20 });
  }

  private send(b: Buffer): void {
    this.out.push(b);
  }

  private flushOut(): void {
    if (this.out.length === 0) return;
    super.push(this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out));
    this.out = [];
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.drain().then(
      () => {
        this.flushOut();
        cb();
      },
      (e: unknown) => cb(e as Error),
    );
  }

  override _flush(cb: TransformCallback): void {
    if (this.state.kind !== 'end' && (this.state.kind !== 'header' || this.buf.length !== 0 || this.pax || this.longName)) {
      cb(new TarFormatError('the archive is truncated (it ends inside a member)'));
      return;
    }
    if (this.state.kind === 'header' && this.manifest.length === 0 && !this.sawEnd) {
      cb(new TarFormatError('the archive is empty'));
      return;
    }
    if (this.opts.trailer) this.send(this.opts.trailer());
    this.send(Buffer.alloc(BLOCK * 2));
    this.flushOut();
    cb();
  }

  private takeBytes(n: number): Buffer | undefined {
    if (this.buf.length < n) return undefined;
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  private async drain(): Promise<void> {
    for (;;) {
      const st = this.state;
      if (st.kind === 'end') {
        this.buf = Buffer.alloc(0);
        return;
      }
      if (st.kind === 'header') {
        const block = this.takeBytes(BLOCK);
        if (!block) return;
        if (isZeroBlock(block)) {
          if (this.pax || this.longName || this.longLink) throw new TarFormatError('the archive ends after an extended header');
          this.sawEnd = true;
          if (!this.opts.ignoreZeros) this.state = { kind: 'end' };
          continue;
        }
        await this.header(Buffer.from(block));
        continue;
      }
      if (st.kind === 'meta') {
        const need = st.remaining + st.pad;
        const n = Math.min(need, this.buf.length);
        if (n === 0) return;
        const part = this.takeBytes(n)!;
        const dataPart = part.subarray(0, Math.max(0, Math.min(part.length, st.remaining)));
        st.chunks.push(Buffer.from(dataPart));
        const usedData = dataPart.length;
        st.remaining -= usedData;
        st.pad -= part.length - usedData;
        if (st.remaining === 0 && st.pad === 0) this.meta(st.header, st.block, Buffer.concat(st.chunks));
        continue;
      }
      // member data: streamed through, never held whole
      if (this.buf.length === 0) return;
      const n = Math.min(st.remaining + st.pad, this.buf.length);
      const part = this.takeBytes(n)!;
      const data = part.subarray(0, Math.min(part.length, st.remaining));
      if (data.length > 0) {
        st.hash?.update(data);
        st.capture?.push(Buffer.from(data));
      }
      if (st.forward) this.send(part);
      st.pad -= part.length - data.length;
      st.remaining -= data.length;
      if (st.remaining === 0 && st.pad === 0) await this.finishMember(st);
    }
  }

  private meta(h: RawHeader, block: Buffer, data: Buffer): void {
    this.state = { kind: 'header' };
    if (h.type === 'L') this.longName = cString(data);
    else if (h.type === 'K') this.longLink = cString(data);
    else if (h.type === 'x') {
      if (this.pax) throw new TarFormatError('two extended headers for one member');
      this.pax = parsePax(data);
      this.paxBlock = block;
      this.paxData = data;
    } else {
      // global headers only carry comments in archives we accept
      for (const [k] of parsePax(data)) {
        if (['path', 'linkpath', 'size', 'uid', 'gid'].includes(k) || k.startsWith('GNU.sparse')) {
          throw new TarFormatError(`global extended header sets '${k}', which is not supported`);
        }
      }
    }
    if (h.type === 'L' || h.type === 'K') {
      this.pendingRaw.push(block, data, Buffer.alloc(padding(data.length)));
    }
  }

  private async header(block: Buffer): Promise<void> {
    const h = parseHeader(block);
    if (META_TYPES.has(h.type)) {
      if (h.size > META_MAX) throw new TarFormatError(`extended header of ${h.size} bytes is too large`);
      this.state = { kind: 'meta', header: h, block, remaining: h.size, pad: padding(h.size), chunks: [] };
      if (h.size === 0) this.meta(h, block, Buffer.alloc(0));
      return;
    }
    const type = TYPE_OF[h.type];
    if (type === undefined) throw new TarPolicyError(`member ${JSON.stringify(h.name)} has tar type '${h.type}', which is not supported`);
    const pax = new Map((this.pax ?? []).map(([k, v]) => [k, v]));
    for (const k of pax.keys()) {
      if (k.startsWith('GNU.sparse')) throw new TarPolicyError(`member ${JSON.stringify(h.name)} is a sparse file, which is not supported`);
    }
    if (pax.has('path') && this.longName !== undefined) throw new TarFormatError('a member has two long names');
    const name = pax.get('path')?.toString('utf8') ?? this.longName ?? h.name;
    const linkname = pax.get('linkpath')?.toString('utf8') ?? this.longLink ?? h.linkname;
    const size = pax.has('size') ? paxInt(pax.get('size')!, 'size') : h.size;
    const uidIn = pax.has('uid') ? paxInt(pax.get('uid')!, 'uid') : h.uid;
    const gidIn = pax.has('gid') ? paxInt(pax.get('gid')!, 'gid') : h.gid;
    const mtime = pax.get('mtime')?.toString('latin1') ?? String(h.mtime);
    if (size !== 0 && type !== 'file') throw new TarFormatError(`member ${JSON.stringify(name)} is a ${type} with data`);
    const map = this.opts.mapId ?? ((id: number) => id);
    const uidOut = map(uidIn, 'uid', name);
    const gidOut = map(gidIn, 'gid', name);
    const xattrs = [...pax.entries()]
      .filter(([k]) => k.startsWith('SCHILY.xattr.'))
      .map(([k, v]): [string, Buffer] => [k.slice(13), v])
      .sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const member: Member = {
      path: name,
      type,
      mode: h.mode & 0o7777,
      uid: this.opts.inputIsGuest ? uidIn : uidOut,
      gid: this.opts.inputIsGuest ? gidIn : gidOut,
      size,
      mtime,
      linkname,
      devmajor: h.devmajor,
      devminor: h.devminor,
      xattrs,
    };
    const route = this.opts.route?.(member) ?? 'forward';
    // only what reaches tar is written to disk; that is what must be safe
    if (route === 'forward') this.opts.policy?.check(name, type, linkname);
    if (route === 'capture' && size > (this.opts.maxCapture ?? META_MAX))
      throw new TarFormatError(`member ${JSON.stringify(name)} is too large`);
    if (route === 'forward') {
      const paxIds = this.pax?.some(([k]) => k === 'uid' || k === 'gid') && (uidOut !== uidIn || gidOut !== gidIn);
      if (this.pax && !paxIds) this.send(Buffer.concat([this.paxBlock!, this.paxData!, Buffer.alloc(padding(this.paxData!.length))]));
      else if (this.pax) {
        const records = this.pax.map(([k, v]): [string, Buffer] =>
          k === 'uid' ? [k, Buffer.from(String(uidOut))] : k === 'gid' ? [k, Buffer.from(String(gidOut))] : [k, v],
        );
        const data = encodePax(records);
        const hb = Buffer.from(this.paxBlock!);
        const rewritten = makeHeader({ ...parseHeader(hb), size: data.length });
        this.send(Buffer.concat([rewritten, data, Buffer.alloc(padding(data.length))]));
      }
      for (const raw of this.pendingRaw) this.send(raw);
      if (uidOut !== uidIn || gidOut !== gidIn) setOwner(block, uidOut, gidOut);
      this.send(block);
    }
    this.pax = undefined;
    this.paxBlock = undefined;
    this.paxData = undefined;
    this.longName = undefined;
    this.longLink = undefined;
    this.pendingRaw = [];
    const st: State & { kind: 'data' } = {
      kind: 'data',
      remaining: size,
      pad: padding(size),
      forward: route === 'forward',
      member,
      hash: route !== 'drop' && type === 'file' ? createHash('sha256') : undefined,
      capture: route === 'capture' ? [] : undefined,
    };
    this.state = st;
    if (size === 0) await this.finishMember(st);
  }

  private async finishMember(st: State & { kind: 'data' }): Promise<void> {
    this.state = { kind: 'header' };
    const m = st.member;
    const sha = st.hash ? st.hash.digest('hex') : '';
    if (st.forward) {
      const x =
        m.xattrs.length === 0
          ? ''
          : createHash('sha256')
              .update(Buffer.concat(m.xattrs.flatMap(([k, v]) => [Buffer.from(`${k}\0${v.length}\0`), v])))
              .digest('hex');
      const dev = m.type === 'char' || m.type === 'block' ? `${m.devmajor},${m.devminor}` : '';
      const link = m.type === 'symlink' || m.type === 'hardlink' ? m.linkname : '';
      this.manifest.push([m.path.replace(/^(\.\/)+/, ''), m.type, m.mode, m.uid, m.gid, m.size, m.mtime, link, dev, sha, x]);
    }
    if (st.capture) await this.opts.onCapture?.(m, Buffer.concat(st.capture));
  }
}

function cString(b: Buffer): string {
  const z = b.indexOf(0);
  return (z >= 0 ? b.subarray(0, z) : b).toString('utf8');
}

function paxInt(v: Buffer, key: string): number {
  const s = v.toString('latin1');
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new TarFormatError(`bad pax ${key} '${s.slice(0, 20)}'`);
  return Number(s);
}
