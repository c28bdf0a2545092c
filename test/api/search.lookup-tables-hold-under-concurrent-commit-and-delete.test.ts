/**
 * Search's lookup tables (search_keys, search_names) are kept by triggers (db/migrations/0009,
 * 0015). Two transactions that touch the same id at the same moment must still leave each
 * table equal to its view once both commit:
 *  - a delete (retention, reindex) of an id's last sighting while a commit adds a new sighting
 *    of it, in either order of the two triggers;
 *  - the same for a target's IQN in search_names;
 *  - a segment's first volume and first device, learned by two commits at once.
 * Each case holds one transaction open on a real PostgreSQL connection, runs the other's
 * statement, and checks from pg_stat_activity that the second one waits for a lock
 * (PostgreSQL documentation §13.3, "Explicit Locking": SHARE ROW EXCLUSIVE conflicts with the
 * ROW EXCLUSIVE an INSERT takes; advisory locks, §13.3.5) before the first commits. PGlite has
 * one connection, so only PostgreSQL can interleave two transactions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type postgresType from 'postgres';
import { openDb } from '../../db/client.js';
import { createDatabase, PG_TEMPLATE_ENV } from '../helpers/database.js';
import { reportMissingService } from '../helpers/catalog.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Sql = ReturnType<typeof postgresType>;
type Reserved = Awaited<ReturnType<Sql['reserve']>>;

const url = process.env.TEST_DATABASE_URL;

describe('search lookup tables under concurrent commits and deletes', () => {
  let sql: Sql;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    if (!url) return;
    const created = await createDatabase(url, 'vrc_test', process.env[PG_TEMPLATE_ENV]);
    cleanups.push(created.drop);
    if (!process.env[PG_TEMPLATE_ENV]) {
      // No migrated template (a run outside the test setup): migrate this database here.
      const dataDir = mkdtempSync(join(tmpdir(), 'vrc-races-'));
      const opened = await openDb({ databaseUrl: created.url, dataDir, poolMax: 1, migrate: true });
      await opened.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
    const { default: postgres } = await import('postgres');
    sql = postgres(created.url, { max: 4, onnotice: () => {} });
    cleanups.push(async () => {
      await sql.end();
    });
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  /** True (and says why) when no PostgreSQL is set for the tests: only it can interleave two transactions. */
  const noDatabase = () => {
    if (!url) reportMissingService('[database tests] PostgreSQL not used', 'TEST_DATABASE_URL is not set (CI sets it; see .ci/run)');
    return !url;
  };

  /** Runs `body` with two connections, a transaction open on each, and their backend pids; releases them after. */
  async function inTwoTransactions(body: (two: [Reserved, number, Reserved, number]) => Promise<void>): Promise<void> {
    const a = await sql.reserve();
    const b = await sql.reserve();
    try {
      const [{ pid: pa }] = await a`select pg_backend_pid() as pid`;
      const [{ pid: pb }] = await b`select pg_backend_pid() as pid`;
      await a`begin`;
      await b`begin`;
      await body([a, pa as number, b, pb as number]);
    } finally {
      a.release();
      b.release();
    }
  }

  /** Resolves once the backend waits for a lock; fails if the statement finished without waiting. */
  async function waitsForLock(pid: number, statement: Promise<unknown>): Promise<void> {
    let done = false;
    statement.then(
      () => {
        done = true;
      },
      () => {
        done = true;
      },
    );
    for (let i = 0; i < 200 && !done; i++) {
      const [row] = await sql`select wait_event_type from pg_stat_activity where pid = ${pid}`;
      if (row?.wait_event_type === 'Lock') return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(done ? 'the statement did not wait for the other transaction' : 'the statement neither waited for a lock nor finished');
  }

  const extent = (artifact: string, device: string | null, vmfs: string | null, segment: string | null = null) => ({
    artifact_id: artifact,
    capture_id: `c-${artifact}`,
    host: 'esx01',
    source: 'header',
    device_id: device,
    vmfs_uuid: vmfs,
    segment_uuid: segment,
    seen_at: new Date('2026-10-01T02:00:00Z'),
  });

  const insertExtent = (tx: Sql | Reserved, row: ReturnType<typeof extent>) =>
    tx`insert into extents ${tx(row, 'artifact_id', 'capture_id', 'host', 'source', 'device_id', 'vmfs_uuid', 'segment_uuid', 'seen_at')}`;

  const keyRows = async (key: string) => (await sql`select kind, ref from search_keys where key = ${key} order by kind, ref`).map((r) => `${r.kind}:${r.ref}`);

  /** Rows of each lookup table missing from its view, and rows of the view missing from it. */
  const drift = async () => {
    const keys = await sql`
      (select key, kind, ref from search_keys except select key, kind, ref from search_key_sources)
      union all (select key, kind, ref from search_key_sources except select key, kind, ref from search_keys)`;
    const names = await sql`
      (select kind, name, ref from search_names except select kind, name, ref from search_name_sources)
      union all (select kind, name, ref from search_name_sources except select kind, name, ref from search_names)`;
    return [...keys, ...names];
  };

  it('a delete of the last sighting waits for a commit whose trigger already ran, and keeps the row', async () => {
    if (noDatabase()) return;
    const device = 'naa.60000000000000000000000000000a01';
    const vmfs = '5f000001-00000000-0000-000000000001';
    await insertExtent(sql, extent('old-1', device, vmfs));
    expect(await keyRows(device)).toEqual([`deviceVolume:${vmfs}`]);

    await inTwoTransactions(async ([del, delPid, add]) => {
      // The commit's trigger finds the row there and adds nothing.
      await insertExtent(add, extent('new-1', device, vmfs));
      // Retention deletes the old sighting: its recompute must wait for the commit.
      const deleting = del`delete from extents where artifact_id = 'old-1'`;
      await waitsForLock(delPid, deleting);
      await add`commit`;
      await deleting;
      await del`commit`;
    });
    expect(await keyRows(device)).toEqual([`deviceVolume:${vmfs}`]);
    expect(await drift()).toEqual([]);
  });

  it('a commit whose trigger comes after a delete of the last sighting waits, then adds the row back', async () => {
    if (noDatabase()) return;
    const device = 'naa.60000000000000000000000000000a02';
    const vmfs = '5f000002-00000000-0000-000000000002';
    await insertExtent(sql, extent('old-2', device, vmfs));

    await inTwoTransactions(async ([del, , add, addPid]) => {
      await del`delete from extents where artifact_id = 'old-2'`;
      // The commit's trigger must not see the row the uncommitted delete removed as still there.
      const adding = insertExtent(add, extent('new-2', device, vmfs));
      await waitsForLock(addPid, adding);
      await del`commit`;
      await adding;
      await add`commit`;
    });
    expect(await keyRows(device)).toEqual([`deviceVolume:${vmfs}`]);
    expect(await drift()).toEqual([]);
  });

  it("a target's IQN stays searchable when its last target row goes while a commit adds a new one", async () => {
    if (noDatabase()) return;
    const iqn = 'iqn.1986-03.com.sun:02:race-lun0';
    const target = (artifact: string) => ({
      artifact_id: artifact,
      capture_id: `c-${artifact}`,
      storage_host: 'sol01',
      stack: 'iscsitgt',
      iqn,
      tpgs: sql.json([]),
      acl: sql.json([]),
      seen_at: new Date('2026-10-01T02:00:00Z'),
    });
    const insertTarget = (tx: Sql | Reserved, row: ReturnType<typeof target>) =>
      tx`insert into targets ${tx(row, 'artifact_id', 'capture_id', 'storage_host', 'stack', 'iqn', 'tpgs', 'acl', 'seen_at')}`;
    await insertTarget(sql, target('old-3'));
    const iqnRows = async () => (await sql`select name from search_names where kind = 'iqn' and name = ${iqn}`).length;
    expect(await iqnRows()).toBe(1);

    await inTwoTransactions(async ([del, delPid, add]) => {
      await insertTarget(add, target('new-3'));
      const deleting = del`delete from targets where artifact_id = 'old-3'`;
      await waitsForLock(delPid, deleting);
      await add`commit`;
      await deleting;
      await del`commit`;
    });
    expect(await iqnRows()).toBe(1);
    expect(await drift()).toEqual([]);
  });

  it("a segment's first volume and first device, learned by two commits at once, are paired", async () => {
    if (noDatabase()) return;
    const segment = '5f000004-00000000-0000-00000000000s';
    const device = 'naa.60000000000000000000000000000a04';
    const vmfs = '5f000004-00000000-0000-000000000004';

    await inTwoTransactions(async ([first, , second, secondPid]) => {
      // A storage host's capture: the segment and its volume.
      await first`insert into segments (artifact_id, segment_uuid, vmfs_uuid, seen_at) values ('seg-4', ${segment}, ${vmfs}, now())`;
      // An ESX capture at the same moment: a device holding that segment (its header names no volume).
      const adding = insertExtent(second, extent('ext-4', device, null, segment));
      await waitsForLock(secondPid, adding);
      await first`commit`;
      await adding;
      await second`commit`;
    });
    expect(await keyRows(device)).toEqual([`deviceVolume:${vmfs}`]);
    expect(await drift()).toEqual([]);
  });
});
