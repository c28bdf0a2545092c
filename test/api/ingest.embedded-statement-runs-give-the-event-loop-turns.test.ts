/**
 * PGlite runs each statement on the event loop's own thread, so a commit's run of statements
 * (a 542,000-snapshot listing writes 55 statements of 10,000 rows) held every other request —
 * /healthz included — until its last was done. settleAll (api/pipeline/indexer.ts) now runs an
 * embedded database's statements one after the other and gives the event loop a turn once
 * YIELD_AFTER_MS have gone since the last: a timer due during the run fires before its end.
 * The first failure still ends the run with its own error (not the 25P02 of a statement behind
 * it). Embedded only: on PostgreSQL the statements go as one pipeline and the event loop waits
 * on the socket meanwhile.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { type CatalogDb, type Db, isEmbedded, openDb, queryRows } from '../../db/client.js';
import { settleAll, YIELD_AFTER_MS } from '../../api/pipeline/indexer.js';

let dataDir: string;
let opened: CatalogDb;
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'vrc-settle-'));
  opened = await openDb({ dataDir });
});
afterAll(async () => {
  await opened?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

it('gives the event loop a turn during a run of statements in a transaction', async () => {
  let fired = false;
  await opened.db.transaction(async (txRaw) => {
    const tx = txRaw as unknown as Db;
    expect(isEmbedded(tx)).toBe(true);
    setTimeout(() => {
      fired = true;
    }, 0);
    // Each statement holds the thread longer than YIELD_AFTER_MS (PGlite's pg_sleep blocks it).
    const seconds = (2 * YIELD_AFTER_MS) / 1000;
    await settleAll(
      Array.from({ length: 4 }, () => tx.execute(sql`SELECT pg_sleep(${seconds})`)),
      tx,
    );
    expect(fired).toBe(true);
  });
});

it('ends a run at its first failure with that error, the transaction rolled back', async () => {
  await opened.db.execute(sql`CREATE TABLE settle_probe (n int)`);
  const failed = await opened.db
    .transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      await settleAll(
        [
          tx.execute(sql`INSERT INTO settle_probe VALUES (1)`),
          tx.execute(sql`INSERT INTO settle_probe VALUES (1099511627776)`),
          tx.execute(sql`INSERT INTO settle_probe VALUES (3)`),
        ],
        tx,
      );
    })
    .then(
      () => null,
      (e: unknown) => e as { cause?: { code?: string }; code?: string },
    );
  expect(failed?.cause?.code ?? failed?.code).toBe('22003');
  expect(await queryRows(opened.db, sql`SELECT n FROM settle_probe`)).toEqual([]);
});
