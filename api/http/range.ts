/** HTTP conditional and partial requests: Range (RFC 9110 §14) and If-None-Match against an artifact's SHA-256. */
import type { ByteRange } from '../read/content.js';

/**
 * The Range header of a request against an object of `size` bytes (RFC 9110 §14):
 * null = serve the whole object (no header, a multi-range or a malformed one, which
 * the RFC lets a server ignore); 'unsatisfiable' = answer 416.
 */
export function parseRange(header: string | undefined | null, size: number): ByteRange | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return null;
  const [, a, b] = m;
  if (a === '' && b === '') return null;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  let end = b === '' ? size - 1 : Number(b);
  if (b !== '' && end < start) return null;
  if (start >= size) return 'unsatisfiable';
  if (end >= size) end = size - 1;
  return { start, end };
}

/** Does an If-None-Match header name this entity tag (strong or weak, or `*`)? */
export function etagMatches(ifNoneMatch: string | undefined | null, sha256: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '').replace(/^"|"$/g, '') === sha256;
  });
}
