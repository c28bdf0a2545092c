/** Content-Disposition for downloads, shared by both stores' signed GET URLs. */

/** `attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 §4.3). */
export function attachmentDisposition(fileName: string): string {
  const fallback = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
