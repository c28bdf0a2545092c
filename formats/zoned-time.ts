/**
 * A restore time must say which zone it is in. ECMAScript reads a date-time without an offset
 * (`2026-12-03T03:00`) as local time — the reading process's, which for the catalog is its
 * server's (UTC in a container or on Lambda) and not the operator's — and a date alone as
 * UTC midnight (ECMA-262, Date Time String Format). A restore point read hours off picks
 * another capture and clones another snapshot, so the collector and the catalog both ask for
 * `Z` or an offset instead of guessing.
 */

/** Whether an ISO 8601 text carries a time and its zone: `…T03:00Z`, `…T03:00:00+01:00`. */
export function namesTimeZone(text: string): boolean {
  return /T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i.test(text.trim());
}

/** What to say of a time that names no zone, after `--at` or `at:`. */
export function noTimeZone(text: string): string {
  return `${JSON.stringify(text.slice(0, 60))} names no time zone, so it would be read in another one than yours: add Z (UTC) or your offset, e.g. 2026-12-03T03:00:00+01:00`;
}
