/**
 * Host names as the catalog takes them (api/ingest/limits.ts checks every begin with this rule)
 * and as the collector checks them before it reads anything: DNS-style dot-separated labels of
 * ASCII letters, digits, `-` and `_` (`_` because some hosts' own names carry it), each 1–63
 * characters, at most 253 in all; so no leading, trailing or doubled dot. Such a name is its own
 * URI encoding and a valid store key segment. Pure; shared by the catalog and the collector.
 */
export const HOST_NAME_BYTES = 253;
export const HOST_LABEL_BYTES = 63;
export const HOST_NAME_RULE = 'dot-separated labels of letters, digits, - and _ (each 1-63 characters, at most 253 in all)';
const HOST_LABEL = /^[A-Za-z0-9_-]{1,63}$/;

/** Why `name` is not a valid host name (naming the limit it passes), or null when it is. */
export function hostNameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  if (name.length > HOST_NAME_BYTES) return `is ${name.length} characters; the limit is ${HOST_NAME_BYTES}`;
  for (const label of name.split('.')) {
    if (label.length > HOST_LABEL_BYTES) return `has a label of ${label.length} characters; the limit is ${HOST_LABEL_BYTES}`;
    if (!HOST_LABEL.test(label)) return `is not ${HOST_NAME_RULE}`;
  }
  return null;
}
