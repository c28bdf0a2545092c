/** Raw-row helpers for the read side: postgres.js and PGlite return int8 and timestamptz differently. */
import { sql, type SQL } from 'drizzle-orm';

const UTC_TIMESTAMP = /^(\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8]))[T ]((?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d)(?:\.(\d{1,6}))?(?:\+00(?::00)?|Z)$/;

/** A timestamp column of a raw row as ISO 8601 (postgres text form or Date). */
export function iso(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  // What a UTC session prints (and to_jsonb writes), cut to milliseconds as Date cuts it, without
  // building one (days 29–31 take the long way: Date rolls an impossible one into the next month).
  const utc = typeof v === 'string' ? UTC_TIMESTAMP.exec(v) : null;
  if (utc) return `${utc[1]}T${utc[2]}.${(utc[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
  const s = String(v)
    .replace(' ', 'T')
    .replace(/([+-]\d\d)$/, '$1:00');
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString();
}

/** A numeric column of a raw row (int8 arrives as a string from postgres.js). */
export function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

export function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

/** `(a, b, c)` for an IN list; callers never pass an empty list. */
export function inList(values: readonly (string | number)[]): SQL {
  return sql`(${sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  )})`;
}

export function unique<T>(values: Iterable<T | null | undefined>): T[] {
  return [...new Set([...values].filter((v): v is T => v !== null && v !== undefined))];
}
