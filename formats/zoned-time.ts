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

/**
 * What is wrong with an ISO 8601 time, or null: not one at all; a day its month lacks (`Date`
 * rolls 2026-02-30 over to 2026-03-02, so a typo'd date would be answered as another one); a
 * year outside 1–9999 (`Date` reads −271821 to 275760, PostgreSQL no signed year). The
 * catalog's `at`/`since`/`until` (api/http/params.ts) and `collector restore --at` say it alike.
 */
export function timeProblem(raw: string): string | null {
  const d = new Date(raw);
  if (Number.isNaN(d.getTime())) return `not an ISO 8601 time: ${JSON.stringify(raw.slice(0, 60))}`;
  const ymd = /^(\d{4})-(\d{2})-(\d{2})/.exec(raw);
  if (ymd) {
    const day = new Date(Date.UTC(Number(ymd[1]), Number(ymd[2]) - 1, Number(ymd[3])));
    if (day.getUTCMonth() !== Number(ymd[2]) - 1 || day.getUTCDate() !== Number(ymd[3]))
      return `${ymd[0]} is no day of the calendar: ${JSON.stringify(raw.slice(0, 60))}`;
  }
  const year = d.getUTCFullYear();
  if (year < 1 || year > 9999) return `${JSON.stringify(raw.slice(0, 60))} is outside the years 0001–9999`;
  return null;
}
