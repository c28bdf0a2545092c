/**
 * DATABASE_STATEMENT_TIMEOUT_MS is the statement_timeout every connection to PostgreSQL runs
 * with (.env.example: 120000 by default, 0 for no limit), read from the server itself.
 */
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { queryRows } from '../../db/client.js';
import { availableFlavours, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

describe.runIf(availableFlavours().includes('postgres-s3'))('DATABASE_STATEMENT_TIMEOUT_MS on PostgreSQL', () => {
  let catalog: TestCatalog | undefined;
  afterEach(async () => {
    await catalog?.close();
    catalog = undefined;
  });

  it.each([
    [undefined, '2min'],
    ['1500', '1500ms'],
    ['0', '0'],
  ])('set to %s, the server shows statement_timeout %s', async (value, shown) => {
    catalog = await startTestCatalog('postgres-s3', { env: value === undefined ? {} : { DATABASE_STATEMENT_TIMEOUT_MS: value } });
    const [row] = await queryRows<{ statement_timeout: string }>(catalog.services.db, sql`SHOW statement_timeout`);
    expect(row.statement_timeout).toBe(shown);
  });
});
