/**
 * A small streaming reader for POSIX tar (ustar, pax `x`/`g` headers, GNU `L`/`K`
 * long names), enough to unpack a restore bundle without dependencies.
 * Push bytes in with `write`; it calls back synchronously. Anything malformed
 * throws a TarError; nothing here touches the file system.
 */

export class TarError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (tar offset ${offset})`);
    this.name = 'TarError';
  }
}

export interface TarEntry {
  path: string;
  /** `file` for typeflag 0/NUL/7, `directory` for 5; anything else (links, devices, FIFOs) is `other`. */
  type: 'file' | 'directory' | 'other';
  typeflag: string;
  size: number;
  mode: number;
  mtime: number;
  linkPath: string;
}

export interface TarSink {
  entry(e: TarEntry): void;
  data(chunk: Buffer): void;
  entryEnd(): void;
}

const BLOCK = 512;
/** Bounds on metadata bodies, so a hostile header cannot make us buffer much. */
const MAX_META = 1024 * 1024;

type State = 'header' | 'meta' | 'data' | 'pad' | 'end';

export class TarReader {
  #state: State = 'header';
  #pos = 0;
  #header = Buffer.alloc(BLOCK);
  #headerFill = 0;
  #remaining = 0;
  #padRemaining = 0;
  #meta: Buffer[] = [];
  #metaType = '';
  #pax: Record<string, string> = {};
  #globalPax: Record<string, string> = {};
  #longName: string | null = null;
  #longLink: string | null = null;
  #sawZeroBlock = false;
  readonly #sink: TarSink;

  constructor(sink: TarSink) {
    this.#sink = sink;
  }

  /** Feeds the next bytes of the (already gunzipped) archive. */
  write(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      switch (this.#state) {
        case 'end':
          // Trailing bytes after the end-of-archive blocks must be zero padding.
          for (; i < chunk.length; i++, this.#pos++) if (chunk[i] !== 0) throw new TarError('data after end of archive', this.#pos);
          return;
        case 'header': {
          const n = Math.min(BLOCK - this.#headerFill, chunk.length - i);
          chunk.copy(this.#header, this.#headerFill, i, i + n);
          this.#headerFill += n;
          i += n;
          this.#pos += n;
          if (this.#headerFill === BLOCK) {
            this.#headerFill = 0;
            this.#onHeader();
          }
          break;
        }
        case 'meta':
        case 'data': {
          const n = Math.min(this.#remaining, chunk.length - i);
          const part = chunk.subarray(i, i + n);
          if (this.#state === 'data') this.#sink.data(part);
          else this.#meta.push(Buffer.from(part));
          i += n;
          this.#pos += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#finishBody();
          break;
        }
        case 'pad': {
          const n = Math.min(this.#padRemaining, chunk.length - i);
          i += n;
          this.#pos += n;
          this.#padRemaining -= n;
          if (this.#padRemaining === 0) this.#state = 'header';
          break;
        }
      }
    }
  }

  /** Declares the input complete; throws when it stopped inside an entry. */
  end(): void {
    if (this.#state === 'end') return;
    if (this.#state === 'header' && this.#headerFill === 0 && this.#sawZeroBlock) return;
    if (this.#state === 'header' && this.#headerFill === 0 && this.#pos === 0) throw new TarError('empty archive', 0);
    throw new TarError('archive is truncated', this.#pos);
  }

  #onHeader(): void {
    const h = this.#header;
    const at = this.#pos - BLOCK;
    if (h.every((b) => b === 0)) {
      if (this.#sawZeroBlock) this.#state = 'end';
      this.#sawZeroBlock = true;
      return;
    }
    if (this.#sawZeroBlock) throw new TarError('header after an end-of-archive block', at);
    const stored = parseOctal(h, 148, 8, at);
    let sum = 0;
    for (let k = 0; k < BLOCK; k++) sum += k >= 148 && k < 156 ? 0x20 : h[k];
    if (stored !== sum) throw new TarError('header checksum mismatch', at);

    const typeflag = h[156] === 0 ? '0' : String.fromCharCode(h[156]);
    const size = parseNumeric(h, 124, 12, at);
    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > MAX_META) throw new TarError(`metadata entry of ${size} bytes is too large`, at);
      this.#metaType = typeflag;
      this.#meta = [];
      this.#startBody(size, 'meta');
      return;
    }
    const magic = h.toString('latin1', 257, 262);
    let path = cString(h, 0, 100);
    if (magic === 'ustar' && h[262] === 0) {
      const prefix = cString(h, 345, 155);
      if (prefix) path = `${prefix}/${path}`;
    }
    let linkPath = cString(h, 157, 100);
    const pax = { ...this.#globalPax, ...this.#pax };
    if (this.#longName !== null) path = this.#longName;
    if (this.#longLink !== null) linkPath = this.#longLink;
    if (pax.path !== undefined) path = pax.path;
    if (pax.linkpath !== undefined) linkPath = pax.linkpath;
    let entrySize = size;
    if (pax.size !== undefined) {
      if (!/^\d{1,15}$/.test(pax.size)) throw new TarError('bad pax size', at);
      entrySize = Number(pax.size);
    }
    this.#pax = {};
    this.#longName = null;
    this.#longLink = null;
    const type: TarEntry['type'] = typeflag === '0' || typeflag === '7' ? 'file' : typeflag === '5' ? 'directory' : 'other';
    // Only regular files carry data for our purposes; links, devices and
    // directories with a size field are still skipped over by their size.
    this.#sink.entry({ path, type, typeflag, size: entrySize, mode: parseOctal(h, 100, 8, at), mtime: parseNumeric(h, 136, 12, at), linkPath });
    this.#startBody(entrySize, 'data');
  }

  #startBody(size: number, state: 'meta' | 'data'): void {
    this.#remaining = size;
    this.#padRemaining = (BLOCK - (size % BLOCK)) % BLOCK;
    this.#state = state;
    if (size === 0) this.#finishBody();
  }

  #finishBody(): void {
    if (this.#state === 'data') this.#sink.entryEnd();
    else {
      const body = Buffer.concat(this.#meta);
      this.#meta = [];
      if (this.#metaType === 'x') this.#pax = parsePax(body, this.#pos);
      else if (this.#metaType === 'g') Object.assign(this.#globalPax, parsePax(body, this.#pos));
      else if (this.#metaType === 'L') this.#longName = cString(body, 0, body.length);
      else this.#longLink = cString(body, 0, body.length);
    }
    this.#state = this.#padRemaining > 0 ? 'pad' : 'header';
  }
}

function cString(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end === -1 || end > off + len ? off + len : end);
}

function parseOctal(b: Buffer, off: number, len: number, at: number): number {
  const s = b
    .toString('latin1', off, off + len)
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (s === '') return 0;
  if (!/^[0-7]{1,12}$/.test(s)) throw new TarError('bad octal field', at + off);
  return parseInt(s, 8);
}

/** Numeric fields may be octal text or, for large values, GNU base-256 (high bit set). */
function parseNumeric(b: Buffer, off: number, len: number, at: number): number {
  if (b[off] & 0x80) {
    if (b[off] & 0x40) throw new TarError('negative numeric field', at + off);
    let v = b[off] & 0x3f;
    for (let k = 1; k < len; k++) {
      v = v * 256 + b[off + k];
      if (v > Number.MAX_SAFE_INTEGER) throw new TarError('numeric field too large', at + off);
    }
    return v;
  }
  return parseOctal(b, off, len, at);
}

/** pax records: "<len> <key>=<value>\n", where <len> counts the whole record. */
function parsePax(body: Buffer, at: number): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    if (body[i] === 0) break;
    const sp = body.indexOf(0x20, i);
    if (sp === -1 || sp - i > 8) throw new TarError('bad pax record', at);
    const lenText = body.toString('latin1', i, sp);
    if (!/^\d+$/.test(lenText)) throw new TarError('bad pax record length', at);
    const len = Number(lenText);
    if (len <= sp - i + 1 || i + len > body.length || body[i + len - 1] !== 0x0a) throw new TarError('bad pax record length', at);
    const rec = body.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq <= 0) throw new TarError('bad pax record', at);
    out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}
