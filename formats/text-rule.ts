/**
 * The one rule for text leaving formats/ (docs/formats.md, "Text leaving the
 * parsers"): every string a parser returns is well-formed Unicode (so valid
 * UTF-8 once encoded) and holds no control character.
 *
 * - NUL padding at either end of a string is dropped; fixed-width fields from
 *   binary structures are also cut at their first NUL and trimmed of spaces.
 * - Any other C0 control (U+0000–U+001F), DEL and C1 control (U+0080–U+009F)
 *   is shown as `\xNN` (two lower-case hex digits).
 * - A byte that is not part of a well-formed UTF-8 sequence is shown as `\xNN`
 *   too, never as U+FFFD: the reader sees which byte it was.
 * - A lone UTF-16 surrogate (a GPT name can hold one) is shown as `\uXXXX`.
 *
 * The escaped form is for display and indexing; it is not reversible (a literal
 * backslash is left alone). Where a field is an identifier, the parser also
 * returns its raw bytes as hex.
 */

/** Something in the string needs the slow path: a control, or a lone surrogate. */
const NEEDS_WORK = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** Applies the rule to a string already in memory. */
export function cleanText(s: string): string {
  if (!NEEDS_WORK.test(s)) return s;
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) === 0) start++;
  while (end > start && s.charCodeAt(end - 1) === 0) end--;
  let out = '';
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      out += '\\x' + hex2(c);
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < end ? s.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += s[i] + s[i + 1];
        i++;
      } else {
        out += '\\u' + c.toString(16);
      }
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      out += '\\u' + c.toString(16);
    } else {
      out += s[i];
    }
  }
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Bytes a UTF-8 sequence takes by its lead byte (RFC 3629); 0 for a byte no sequence starts with. */
const leadLength = (c: number) => (c < 0x80 ? 1 : c < 0xc2 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0);

/** True when bytes[i…i+n) is one well-formed sequence (the strict decoder refuses overlongs and surrogates). */
function wellFormed(bytes: Uint8Array, i: number, n: number): boolean {
  if (n === 1) return true;
  if (n === 0 || i + n > bytes.length) return false;
  try {
    strictUtf8.decode(bytes.subarray(i, i + n));
    return true;
  } catch {
    return false;
  }
}

/**
 * UTF-8 bytes to a string in which every byte outside a well-formed sequence
 * reads `\xNN`. Control characters are left for cleanText; a BOM is kept.
 * Linear: well-formed runs are decoded in one call each.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    // Falls through to the byte-by-byte pass.
  }
  const parts: string[] = [];
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = leadLength(bytes[i]);
    if (wellFormed(bytes, i, n)) {
      i += n;
      continue;
    }
    if (i > runStart) parts.push(strictUtf8.decode(bytes.subarray(runStart, i)));
    parts.push('\\x' + hex2(bytes[i]));
    i++;
    runStart = i;
  }
  if (i > runStart) parts.push(strictUtf8.decode(bytes.subarray(runStart, i)));
  return parts.join('');
}

/**
 * A fixed-width text field of a binary structure (vendor, model, label…): cut
 * at its first NUL, decoded by the rule above, trimmed of space padding.
 */
export function fieldText(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return cleanText(decodeUtf8(nul >= 0 ? bytes.subarray(0, nul) : bytes)).trim();
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * A parser's result with the rule applied to every string in it, object keys
 * included. Arrays and plain objects are walked; numbers, booleans, null and
 * other objects (byte arrays) are kept as they are. Copy on write: a part with
 * nothing to change is returned as it came, so a clean result costs one scan.
 */
export function cleanDeep<T>(value: T): T {
  return walk(value, 0) as T;
}

/** Parser results are a few levels deep; the bound only stops a cycle. */
const MAX_DEPTH = 64;

function walk(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return cleanText(v);
  if (typeof v !== 'object' || v === null || depth > MAX_DEPTH) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const x = walk(v[i], depth + 1);
      if (x !== v[i]) (out ??= v.slice())[i] = x;
    }
    return out ?? v;
  }
  if (!isPlainObject(v)) return v;
  let changed = false;
  const entries = Object.keys(v).map((key) => {
    const k = cleanText(key);
    const x = walk(v[key], depth + 1);
    if (k !== key || x !== v[key]) changed = true;
    return [k, x] as const;
  });
  return changed ? Object.fromEntries(entries) : v;
}
