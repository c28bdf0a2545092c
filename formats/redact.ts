/**
 * Secret redaction the collector applies before hashing and upload.
 *
 * Text-level on purpose: no XML round trip (which would reformat the file and
 * could choke on the very input it must clean), every byte outside a secret
 * value kept as is, and the same input always giving the same output so
 * deduplication by hash keeps working. Runs over a byte-per-char view of the
 * input, so invalid UTF-8 elsewhere survives untouched.
 */
import type { ArtifactKind } from './types.js';
import { SECRET_PROPERTY_RE } from './smf.js';
import { guarded } from './text.js';

/** What replaces every secret value. */
export const REDACTED = 'REDACTED';

// Authorization names iscsitgtd stores in every group, `passwords` included (mgmt_scf.c): not secrets.
const AUTH_PROPS = new Set(['read_authorization', 'modify_authorization', 'value_authorization']);

function bytesToBinary(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192) as unknown as number[]);
  }
  return s;
}

function binaryToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

interface Attr {
  name: string;
  /** Offsets of the value between its quotes, in the whole text. */
  start: number;
  end: number;
  value: string;
}

/** Attributes of one tag; offsets are absolute. A hand-written scan: linear however odd the tag. */
function attributes(text: string, tagStart: number, tagEnd: number): Attr[] {
  const out: Attr[] = [];
  let i = tagStart + 1;
  // Skip the tag name.
  while (i < tagEnd && !/\s/.test(text[i])) i++;
  while (i < tagEnd) {
    while (i < tagEnd && /\s/.test(text[i])) i++;
    const nameStart = i;
    while (i < tagEnd && !/[\s=>/"']/.test(text[i])) i++;
    const name = text.slice(nameStart, i);
    while (i < tagEnd && /\s/.test(text[i])) i++;
    if (name === '' || text[i] !== '=') {
      i = Math.max(i, nameStart + 1);
      continue;
    }
    i++;
    while (i < tagEnd && /\s/.test(text[i])) i++;
    const quote = text[i];
    if (quote !== '"' && quote !== "'") continue;
    const close = text.indexOf(quote, i + 1);
    if (close === -1 || close > tagEnd) break;
    out.push({ name, start: i + 1, end: close, value: text.slice(i + 1, close) });
    i = close + 1;
  }
  return out;
}

interface Candidate {
  group: string | null;
  property: string;
  attr: Attr;
}

/** Every propval/value_node value with the property group and property it belongs to. */
function smfValues(text: string): Candidate[] {
  const found: Candidate[] = [];
  let group: string | null = null;
  let property: string | null = null;
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    if (lt === -1) break;
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4);
      if (end === -1) break;
      i = end + 3;
      continue;
    }
    if (text.startsWith('<![CDATA[', lt)) {
      const end = text.indexOf(']]>', lt + 9);
      if (end === -1) break;
      i = end + 3;
      continue;
    }
    const gt = text.indexOf('>', lt + 1);
    if (gt === -1) break;
    const m = /^<(\/?)([A-Za-z_][\w.:-]*)/.exec(text.slice(lt, Math.min(gt + 1, lt + 80)));
    if (m) {
      const closing = m[1] === '/';
      const selfClosing = text[gt - 1] === '/';
      const tagName = m[2];
      const nameOf = (): string | null => attributes(text, lt, gt).find((a) => a.name === 'name')?.value ?? null;
      if (tagName === 'property_group') {
        group = closing || selfClosing ? null : nameOf();
      } else if (tagName === 'property') {
        property = closing || selfClosing ? null : nameOf();
      } else if (!closing && (tagName === 'propval' || tagName === 'value_node')) {
        const attrs = attributes(text, lt, gt);
        const value = attrs.find((a) => a.name === 'value');
        const prop = tagName === 'propval' ? (attrs.find((a) => a.name === 'name')?.value ?? null) : property;
        if (value && prop !== null) found.push({ group, property: prop, attr: value });
      }
    }
    i = gt + 1;
  }
  return found;
}

/** Hex text as bytes-per-char, for a substring check inside packed nvlists. */
function hexToBinary(hex: string): string {
  const v = hex.replace(/\s+/g, '');
  let s = '';
  for (let i = 0; i + 1 < v.length; i += 2) {
    const b = parseInt(v.slice(i, i + 2), 16);
    s += Number.isNaN(b) ? '\u0000' : String.fromCharCode(b);
  }
  return s;
}

function redactSmf(text: string): { text: string; redacted: string[] } {
  const values = smfValues(text);
  const chosen: Candidate[] = [];
  // Provider data is an opaque packed nvlist (store.c); the iscsit provider's
  // holds target CHAP/RADIUS secrets in clear. A group whose chunks mention a
  // secret is redacted whole: it cannot be cut without unpacking the nvlist.
  const providerHex = new Map<string, string>();
  for (const c of values) {
    if (c.group?.startsWith('provider_data_pg_') && c.property.startsWith('provider_data_prop')) {
      providerHex.set(c.group, (providerHex.get(c.group) ?? '') + c.attr.value);
    }
  }
  const secretProviders = new Set([...providerHex].filter(([, hex]) => /secret/i.test(hexToBinary(hex))).map(([g]) => g));
  for (const c of values) {
    if (c.group !== null && secretProviders.has(c.group) && c.property.startsWith('provider_data_prop')) chosen.push(c);
    else if (c.group === 'passwords' && !AUTH_PROPS.has(c.property)) chosen.push(c);
    else if (SECRET_PROPERTY_RE.test(c.property) && !AUTH_PROPS.has(c.property)) chosen.push(c);
  }
  if (chosen.length === 0) return { text, redacted: [] };
  chosen.sort((a, b) => a.attr.start - b.attr.start);
  let out = '';
  let at = 0;
  for (const c of chosen) {
    out += text.slice(at, c.attr.start) + REDACTED;
    at = c.attr.end;
  }
  out += text.slice(at);
  const names = [...new Set(chosen.map((c) => (secretProviders.has(c.group ?? '') ? (c.group as string) : `${c.group ?? ''}/${c.property}`)))];
  return { text: out, redacted: names };
}

// itadm prints `targetchapsecret:` / `radiussecret:` as set/unset; anything else is a secret value.
const LISTING_SECRET_RE = /^([ \t]*((?:target)?chap-?secret|radius-?secret)[ \t]*:[ \t]*)([^\r\n]*)$/gim;
const NOT_SECRET = new Set(['set', 'unset', '-', '<none>', '', REDACTED.toLowerCase()]);

function redactListing(text: string): { text: string; redacted: string[] } {
  const names: string[] = [];
  const out = text.replace(LISTING_SECRET_RE, (whole, prefix: string, key: string, value: string) => {
    if (NOT_SECRET.has(value.trim().toLowerCase())) return whole;
    names.push(key.toLowerCase());
    return prefix + REDACTED;
  });
  return { text: out, redacted: [...new Set(names)] };
}

/**
 * Replace secret values (the iscsitgt `passwords` group, CHAP/RADIUS secrets,
 * iscsit provider data that carries them, itadm secret lines) with `REDACTED`.
 * Deterministic; names what it redacted, never the values. Kinds without
 * secrets come back unchanged.
 */
export function redactSecrets(kind: ArtifactKind, bytes: Uint8Array): { bytes: Uint8Array; redacted: string[] } {
  if (kind !== 'iscsitgt-smf' && kind !== 'stmf-smf' && kind !== 'comstar-listing') return { bytes, redacted: [] };
  return guarded('redaction', () => {
    const text = bytesToBinary(bytes);
    const result = kind === 'comstar-listing' ? redactListing(text) : redactSmf(text);
    if (result.text === text) return { bytes, redacted: result.redacted };
    return { bytes: binaryToBytes(result.text), redacted: result.redacted };
  });
}
