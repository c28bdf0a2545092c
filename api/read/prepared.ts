/**
 * Statements the read side runs on every request, prepared. `db.execute` sends each statement
 * unnamed, so PostgreSQL parses and plans it on every call; for a search statement of a dozen
 * branches that planning costs more than running it. Here the statement goes through the
 * postgres.js client drizzle wraps, named by its text, so each connection parses it once and
 * PostgreSQL can keep its plan — unless the client was opened with `prepare: false` (behind a
 * transaction-pooling proxy, db/client.ts), which is respected. PGlite: `queryRows` as before.
 */
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { queryRows, type Db } from '../../db/client.js';

const dialect = new PgDialect();

/** The part of a postgres.js client used here. */
interface PostgresJsClient {
  unsafe(query: string, params: unknown[], options: { prepare: boolean }): Promise<unknown>;
  options: { prepare?: boolean };
}

function postgresJsClient(db: Db): PostgresJsClient | null {
  const client = (db as unknown as { $client?: Partial<PostgresJsClient> }).$client;
  return client && typeof client.unsafe === 'function' && client.options ? (client as PostgresJsClient) : null;
}

/** Rows of `query`, as a prepared statement where the database allows one. */
export async function queryPrepared<T = Record<string, unknown>>(db: Db, query: SQL): Promise<T[]> {
  const client = postgresJsClient(db);
  if (!client || client.options.prepare === false) return queryRows<T>(db, query);
  const { sql: text, params } = dialect.sqlToQuery(query);
  return (await client.unsafe(text, params, { prepare: true })) as T[];
}

/**
 * Rows of a statement whose text never changes (`$1`… for its parameters), prepared like
 * queryPrepared's: the text is written once, so a hot path skips building the statement and
 * rendering it on every request. PGlite and unprepared clients: the same statement through drizzle.
 */
export async function queryPreparedText<T = Record<string, unknown>>(db: Db, text: string, params: unknown[]): Promise<T[]> {
  const client = postgresJsClient(db);
  if (client && client.options.prepare !== false) return (await client.unsafe(text, params, { prepare: true })) as T[];
  const parts = text.split(/\$(\d+)/);
  const chunks: SQL[] = [];
  for (let i = 0; i < parts.length; i++) chunks.push(i % 2 === 0 ? sql.raw(parts[i]) : sql`${params[Number(parts[i]) - 1]}`);
  return queryRows<T>(db, sql.join(chunks));
}
