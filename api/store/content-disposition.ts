/** Content-Disposition for downloads, shared by both stores' signed GET URLs. */

/**
 * `attachment` with an ASCII fallback name and the UTF-8 name (RFC 6266 §4.3). File names
 * are the collector's (api/ingest/limits.ts): path separators become `_` in both, and a
 * name of dots alone becomes `_`, so no client that honours the header writes outside the
 * directory it downloads into.
 */
export function attachmentDisposition(fileName: string): string {
  const flat = fileName.replace(/[/\\]/g, '_').replace(/^\.+$/, '_');
  const fallback = flat.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(flat)}`;
}
