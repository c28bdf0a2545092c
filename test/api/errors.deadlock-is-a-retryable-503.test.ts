/**
 * PostgreSQL aborts one of two transactions that lock the same rows in opposite orders
 * (SQLSTATE 40P01, deadlock_detected: "Deadlocks", PostgreSQL documentation §13.3.4). The
 * request that ran it succeeds when repeated, so the catalog answers it as an outage — 503
 * with Retry-After, which the collector retries — never as a 500 (api/errors.ts isUnavailable).
 * Here a real deadlock on a real server, through the catalog's own database client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../db/client.js';
import { isUnavailable, toApiError } from '../../api/errors.js';
import { createDatabase } from '../helpers/database.js';
import { reportMissingService } from '../helpers/catalog.js';

describe('a deadlock on PostgreSQL', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('is an outage to retry (503), not an internal error', async () => {
    if (!process.env.TEST_DATABASE_URL) {
      reportMissingService('[database tests] PostgreSQL not used', 'TEST_DATABASE_URL is not set (CI sets it; see .ci/run)');
      return;
    }
    const created = await createDatabase(process.env.TEST_DATABASE_URL);
    const dataDir = mkdtempSync(join(tmpdir(), 'vrc-deadlock-'));
    const opened = await openDb({ databaseUrl: created.url, dataDir, poolMax: 2, migrate: false });
    cleanups.push(async () => {
      await opened.close();
      await created.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const db = opened.db;
    await db.execute(sql`CREATE TABLE t (id int PRIMARY KEY, n int)`);
    await db.execute(sql`INSERT INTO t VALUES (1, 0), (2, 0)`);

    // Each transaction locks one row, waits until the other has locked its row, then asks for the other's.
    let arrived = 0;
    let release: () => void = () => {};
    const bothLocked = new Promise<void>((r) => {
      release = r;
    });
    const crossing = (first: number, second: number) =>
      db.transaction(async (tx) => {
        await (tx as unknown as Db).execute(sql`UPDATE t SET n = n + 1 WHERE id = ${first}`);
        if (++arrived === 2) release();
        await bothLocked;
        await (tx as unknown as Db).execute(sql`UPDATE t SET n = n + 1 WHERE id = ${second}`);
      });
    const outcomes = await Promise.allSettled([crossing(1, 2), crossing(2, 1)]);
    const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(failed).toHaveLength(1);
    const err = failed[0].reason as { code?: string; cause?: { code?: string } };
    // drizzle wraps the driver's error; its cause carries the SQLSTATE.
    expect(err.cause?.code ?? err.code).toBe('40P01');
    expect(isUnavailable(err)).toBe(true);
    expect(toApiError(err).code).toBe('service_unavailable');
    // A failure that a repeat would not mend stays an internal error.
    const refused = await db.execute(sql`SELECT 1/0`).catch((e: unknown) => e);
    expect(toApiError(refused).code).toBe('internal');
  });
});
