/**
 * A fresh embedded database is a copy of a migrated template (db/client.ts), made once per
 * installation under node_modules/.cache and named by the PGlite version and the
 * migrations: every fresh data directory gets every migration, and the copies are
 * independent databases that keep what is written to them across a reopen, and open with
 * the catalog's buffer cache size.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, openDb, queryRows } from '../../db/client.js';
import { hosts } from '../../db/schema.js';

const dirs: string[] = [];
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), 'vrc-seed-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('a fresh embedded data directory', () => {
  it('starts migrated from the template, independent of other copies, and keeps its rows', async () => {
    const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
    const a = fresh();
    const b = fresh();
    const dbA = await openDb({ dataDir: a });
    const cache = join(import.meta.dirname, '..', '..', 'node_modules', '.cache', 'vmfs-recovery-catalog');
    expect(readdirSync(cache).some((n) => /^pglite-[0-9a-f]{16}$/.test(n) && existsSync(join(cache, n, 'PG_VERSION')))).toBe(true);
    const dbB = await openDb({ dataDir: b });
    for (const { db } of [dbA, dbB]) {
      const [applied] = await queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`);
      expect(applied.n).toBe(journal.entries.length);
    }
    const seen = new Date('2026-01-02T03:04:05Z');
    await dbA.db.insert(hosts).values({ name: 'only-in-a', kind: 'esxi', firstSeen: seen, lastSeen: seen });
    expect(await dbB.db.select().from(hosts)).toEqual([]);
    await dbA.close();
    await dbB.close();
    const again = await openDb({ dataDir: a });
    expect((await again.db.select().from(hosts)).map((h) => h.name)).toEqual(['only-in-a']);
    // The embedded database's buffer cache is the catalog's (db/client.ts), not PostgreSQL's 128 MB default.
    const [buffers] = await queryRows<{ shared_buffers: string }>(again.db, sql`SHOW shared_buffers`);
    expect(buffers.shared_buffers).toBe('32MB');
    await again.close();
  });
});
