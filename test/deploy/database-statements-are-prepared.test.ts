/**
 * On PostgreSQL the catalog's drizzle statements run prepared (db/client.ts, preparing): each
 * connection describes a statement once and then sends it in one round trip, instead of the
 * two postgres.js needs for an unnamed statement with parameters. Statements with more than
 * PREPARE_MAX_PARAMETERS parameters stay unnamed, and `prepare: false` (a transaction-pooling
 * proxy) keeps every statement unnamed, inside transactions and savepoints too. A read path's
 * fixed statement text (queryPreparedText) runs prepared too and answers as the statement built
 * through drizzle does. Every connection plans without JIT and without parallel workers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb, PREPARE_MAX_PARAMETERS, queryRows, type Db } from '../../db/client.js';
import { hosts } from '../../db/schema.js';
import { queryPreparedText } from '../../api/read/prepared.js';
import { createDatabase } from '../helpers/database.js';
import { reportMissingService } from '../helpers/catalog.js';

/** The statements this connection holds prepared, by their text. */
async function preparedTexts(db: Db): Promise<string[]> {
  const rows = await queryRows<{ statement: string }>(db, sql`SELECT statement FROM pg_prepared_statements`);
  return rows.map((r) => r.statement);
}

describe('statements on PostgreSQL', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  async function open(prepare: boolean): Promise<Db | null> {
    if (!process.env.TEST_DATABASE_URL) {
      reportMissingService('[database tests] PostgreSQL not used', 'TEST_DATABASE_URL is not set (CI sets it; see .ci/run)');
      return null;
    }
    const created = await createDatabase(process.env.TEST_DATABASE_URL);
    const dataDir = mkdtempSync(join(tmpdir(), 'vrc-prepared-'));
    // One connection: what it holds prepared is what every statement of the test left there.
    const opened = await openDb({ databaseUrl: created.url, dataDir, poolMax: 1, prepare });
    cleanups.push(async () => {
      await opened.close();
      await created.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    return opened.db;
  }

  it('are prepared, in transactions and savepoints too, up to PREPARE_MAX_PARAMETERS parameters', async (ctx) => {
    const db = await open(true);
    if (!db) return ctx.skip();
    const at = new Date('2026-01-01T00:00:00Z');
    await db.insert(hosts).values({ name: 'esx-prepared', kind: 'esxi', firstSeen: at, lastSeen: at });
    await db.select().from(hosts).where(eq(hosts.name, 'esx-prepared'));
    await db.transaction(async (tx) => {
      await tx.select({ kind: hosts.kind }).from(hosts).where(eq(hosts.name, 'in-a-transaction'));
      await tx.transaction(async (sp) => {
        await sp.select({ lastSeen: hosts.lastSeen }).from(hosts).where(eq(hosts.name, 'in-a-savepoint'));
      });
    });
    const many = Array.from({ length: PREPARE_MAX_PARAMETERS + 1 }, (_, i) => `host-${i}`);
    await db.select({ name: hosts.name }).from(hosts).where(inArray(hosts.name, many));

    const texts = await preparedTexts(db);
    expect(texts.some((t) => /^insert into "hosts"/.test(t))).toBe(true);
    expect(texts.some((t) => /^select .* from "hosts" where "hosts"."name" = \$1$/.test(t))).toBe(true);
    expect(texts.some((t) => /^select "kind" from "hosts"/.test(t))).toBe(true);
    expect(texts.some((t) => /^select "last_seen" from "hosts"/.test(t))).toBe(true);
    expect(texts.some((t) => t.includes(`$${PREPARE_MAX_PARAMETERS + 1}`))).toBe(false);
    // A prepared statement answers as the unnamed one did.
    const [row] = await db.select().from(hosts).where(eq(hosts.name, 'esx-prepared'));
    expect(row).toMatchObject({ name: 'esx-prepared', kind: 'esxi' });
    expect(new Date(row.lastSeen).toISOString()).toBe(at.toISOString());
  });

  it('stay unnamed when prepared statements are turned off (a transaction-pooling proxy)', async (ctx) => {
    const db = await open(false);
    if (!db) return ctx.skip();
    await db.select().from(hosts).where(eq(hosts.name, 'unnamed'));
    await db.transaction(async (tx) => {
      await tx.select({ kind: hosts.kind }).from(hosts).where(eq(hosts.name, 'unnamed-in-a-transaction'));
    });
    expect((await preparedTexts(db)).filter((t) => t.includes('"hosts"'))).toEqual([]);
  });

  it('plan without JIT and without parallel workers', async (ctx) => {
    const db = await open(true);
    if (!db) return ctx.skip();
    const [{ jit }] = await queryRows<{ jit: string }>(db, sql`SHOW jit`);
    const [{ max_parallel_workers_per_gather: workers }] = await queryRows<{ max_parallel_workers_per_gather: string }>(
      db,
      sql`SHOW max_parallel_workers_per_gather`,
    );
    expect({ jit, workers }).toEqual({ jit: 'off', workers: '0' });
  });

  it('with a fixed text run prepared, or unnamed when turned off, and answer as the built statement', async (ctx) => {
    for (const prepare of [true, false]) {
      const db = await open(prepare);
      if (!db) return ctx.skip();
      const text = 'SELECT $1::text AS a, $2::integer AS b, $3::text AS c, $1::text || $2::text AS d';
      const fixed = await queryPreparedText(db, text, ['x', 5, null]);
      const built = await queryRows(db, sql`SELECT ${'x'}::text AS a, ${5}::integer AS b, ${null}::text AS c, ${'x'}::text || ${5}::text AS d`);
      expect(fixed).toEqual(built);
      expect([...fixed]).toEqual([{ a: 'x', b: 5, c: null, d: 'x5' }]);
      expect((await preparedTexts(db)).includes(text)).toBe(prepare);
    }
  });
});
