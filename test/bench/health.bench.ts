/**
 * The health pass after a commit against the catalog's size, on PostgreSQL: a catalog of
 * HEALTH_ESX_HOSTS ESX hosts (default 2000) seeing HEALTH_EXTENTS devices each (default 40;
 * half on the storage hosts' LUs, half on local disks of another vendor) and
 * HEALTH_STORAGE_HOSTS storage hosts (default 20) presenting 100 LUs each with a snapshot
 * listing, three days of captures of every host, seeded straight into the tables. Prints, in
 * the same run, the full pass (what the scheduled scan does, and every commit's pass did
 * before) and the scoped pass a commit now runs (reconcileHealth after the capture: healthScopeOf's scope)
 * for: an ESX host's capture that saw what it saw the day before, an ESX host's capture that
 * gained a datastore, and a storage host's capture that moved an LU — each the median of
 * several runs, as a ratio to the full pass. Asserts nothing.
 *
 *   TEST_DATABASE_URL=postgres://… npx tsx test/bench/run.ts health
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { openDb, queryRows, type Db } from '../../db/client.js';
import { reconcileHealth } from '../../api/events/health.js';
import { createDatabase } from '../helpers/database.js';

const ESX_HOSTS = Number(process.env.HEALTH_ESX_HOSTS ?? 2000);
const EXTENTS = Number(process.env.HEALTH_EXTENTS ?? 40);
const STORAGE_HOSTS = Number(process.env.HEALTH_STORAGE_HOSTS ?? 20);
const LUS = 100;
const DAYS = 3;
const RUNS = 7;
const OPTIONS = { replicationPeriodHours: 48 };

class RolledBack extends Error {}

/** Runs `fn` in a transaction that is rolled back (each run sees the same catalog); `fn` answers the milliseconds it measured. */
async function timed(db: Db, fn: (tx: Db) => Promise<number>): Promise<number> {
  let ms = 0;
  await db
    .transaction(async (tx) => {
      ms = await fn(tx as unknown as Db);
      throw new RolledBack();
    })
    .catch((e: unknown) => {
      if (!(e instanceof RolledBack)) throw e;
    });
  return ms;
}

async function median(db: Db, fn: (tx: Db) => Promise<number>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await timed(db, fn));
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)];
}

const since = (t: number) => performance.now() - t;

/**
 * Day d's capture of every host, as the pipeline writes them: storage host s presents LUs
 * naa.600144f0…<s><l> from tank/lun<l> with one snapshot per day; ESX host e sees LU devices
 * of the storage hosts and local disks (naa.5000c500…, another vendor no LU presents).
 */
async function seed(db: Db): Promise<void> {
  await db.execute(sql`
    INSERT INTO hosts (name, kind, first_seen, last_seen)
    SELECT 'sol' || s, 'solaris', now(), now() FROM generate_series(1, ${STORAGE_HOSTS}) s
    UNION ALL SELECT 'esx' || e, 'esxi', now(), now() FROM generate_series(1, ${ESX_HOSTS}) e`);
  await db.execute(sql`
    INSERT INTO captures (id, host, state, collected_at, received_at, committed_at, collector_version, request)
    SELECT h.name || '-' || d, h.name, 'committed', '2026-11-01'::timestamptz + d * interval '1 day', now(), now(), 'bench', '{}'::jsonb
      FROM hosts h CROSS JOIN generate_series(1, ${DAYS}) d`);
  await db.execute(sql`
    INSERT INTO artifacts (id, capture_id, host, collected_at, kind, file_name, source_path, size, sha256, chunks, parse_status)
    SELECT c.id || '-' || k, c.id, c.host, c.collected_at, k, k, k, 1, md5(c.id || k), '[]'::jsonb, 'ok'
      FROM captures c CROSS JOIN LATERAL (SELECT unnest(CASE WHEN c.host LIKE 'sol%' THEN ARRAY['iscsitgt-smf', 'zfs-snapshots'] ELSE ARRAY['esx-inventory'] END) AS k) a`);
  await db.execute(sql`
    INSERT INTO targets (artifact_id, capture_id, storage_host, stack, iqn, lun, device_id, backing_store, tpgs, acl, seen_at)
    SELECT c.id || '-iscsitgt-smf', c.id, c.host, 'iscsitgt', 'iqn.1986-03.com.sun:02:' || c.host, l,
           'naa.600144f0' || lpad(substr(c.host, 4), 12, '0') || lpad(l::text, 12, '0'), '/dev/zvol/rdsk/tank/lun' || l, '[]'::jsonb, '[]'::jsonb, c.collected_at
      FROM captures c CROSS JOIN generate_series(1, ${LUS}) l WHERE c.host LIKE 'sol%'`);
  await db.execute(sql`
    INSERT INTO zfs_snapshots (artifact_id, capture_id, host, dataset, snapshot, name, created_at, used_bytes)
    SELECT c.id || '-zfs-snapshots', c.id, c.host, 'tank/lun' || l, 'day' || d, 'tank/lun' || l || '@day' || d, '2026-11-01'::timestamptz + d * interval '1 day', 1024
      FROM captures c CROSS JOIN generate_series(1, ${LUS}) l CROSS JOIN generate_series(1, ${DAYS}) d
     WHERE c.host LIKE 'sol%' AND c.collected_at >= '2026-11-01'::timestamptz + d * interval '1 day'`);
  // Half of an ESX host's devices are LUs of a storage host, half local disks.
  await db.execute(sql`
    INSERT INTO extents (artifact_id, capture_id, host, source, vmfs_uuid, device_id, lun, seen_at)
    SELECT c.id || '-esx-inventory', c.id, c.host, 'inventory', NULL,
           CASE WHEN x % 2 = 0
                THEN 'naa.600144f0' || lpad((1 + substr(c.host, 4)::int % ${STORAGE_HOSTS})::text, 12, '0') || lpad((1 + (substr(c.host, 4)::int + x) % ${LUS})::text, 12, '0')
                ELSE 'naa.5000c500' || lpad(substr(c.host, 4), 12, '0') || lpad(x::text, 12, '0') END,
           x, c.collected_at
      FROM captures c CROSS JOIN generate_series(1, ${EXTENTS}) x WHERE c.host LIKE 'esx%'`);
  await db.execute(sql`ANALYZE`);
}

/** A capture of `host` one day after the seeded ones, with `extents` or `lus` rows as the pipeline would write them. */
async function capture(tx: Db, host: string, rows: { extents?: string[]; lus?: Array<{ lun: number; deviceId: string }> }): Promise<string> {
  const id = `${host}-new`;
  const at = sql`'2026-11-01'::timestamptz + ${DAYS + 1} * interval '1 day'`;
  await tx.execute(sql`INSERT INTO captures (id, host, state, collected_at, received_at, committed_at, collector_version, request)
                       VALUES (${id}, ${host}, 'committed', ${at}, now(), now(), 'bench', '{}'::jsonb)`);
  for (const d of rows.extents ?? []) {
    await tx.execute(
      sql`INSERT INTO extents (artifact_id, capture_id, host, source, device_id, seen_at) VALUES (${`${id}-a`}, ${id}, ${host}, 'inventory', ${d}, ${at})`,
    );
  }
  for (const l of rows.lus ?? []) {
    await tx.execute(sql`INSERT INTO targets (artifact_id, capture_id, storage_host, stack, lun, device_id, backing_store, tpgs, acl, seen_at)
                         VALUES (${`${id}-a`}, ${id}, ${host}, 'iscsitgt', ${l.lun}, ${l.deviceId}, ${`/dev/zvol/rdsk/tank/lun${l.lun}`}, '[]'::jsonb, '[]'::jsonb, ${at})`);
  }
  return id;
}

export async function run(): Promise<void> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) {
    console.log('health pass not run: TEST_DATABASE_URL is not set (needs a real PostgreSQL)');
    return;
  }
  const created = await createDatabase(base, 'vrc_health');
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-health-'));
  const opened = await openDb({ databaseUrl: created.url, dataDir });
  const db = opened.db;
  try {
    const t = performance.now();
    await seed(db);
    const [counts] = await queryRows<{ extents: number; targets: number }>(
      db,
      sql`SELECT (SELECT count(*) FROM extents)::int AS extents, (SELECT count(*) FROM targets)::int AS targets`,
    );
    console.log(
      `catalog: ${ESX_HOSTS} ESX hosts × ${EXTENTS} devices, ${STORAGE_HOSTS} storage hosts × ${LUS} LUs, ${DAYS} days ` +
        `(${counts.extents} extent rows, ${counts.targets} target rows; seeded in ${((performance.now() - t) / 1000).toFixed(1)} s); median of ${RUNS}:`,
    );
    const at = new Date('2026-11-05T00:00:00Z');
    const full = await median(db, async (tx) => {
      const t = performance.now();
      await reconcileHealth(tx, at, null, OPTIONS);
      return since(t);
    });
    console.log(`  full pass (the scheduled scan; every commit's pass before)          ${full.toFixed(1).padStart(7)} ms   1.00×`);
    const scoped = async (label: string, host: string, rows: Parameters<typeof capture>[2]) => {
      // The capture's rows are written first, in the same transaction; only the pass is timed.
      const ms = await median(db, async (tx) => {
        const captureId = await capture(tx, host, rows);
        const t = performance.now();
        await reconcileHealth(tx, at, captureId, OPTIONS, [{ captureId, host }]);
        return since(t);
      });
      console.log(`  scoped pass: ${label.padEnd(56)}${ms.toFixed(1).padStart(7)} ms   ${(ms / full).toFixed(3)}×`);
    };
    const seen = (await queryRows<{ device_id: string }>(db, sql`SELECT device_id FROM extents WHERE capture_id = ${`esx7-${DAYS}`} ORDER BY device_id`)).map(
      (r) => r.device_id,
    );
    await scoped('an ESX host that saw what it saw the day before', 'esx7', { extents: seen });
    await scoped('an ESX host that gained a datastore no LU presents', 'esx7', { extents: [...seen, 'naa.600144f0ffffffffffffffffffff0001'] });
    const lus = (
      await queryRows<{ lun: number; device_id: string }>(db, sql`SELECT lun, device_id FROM targets WHERE capture_id = ${`sol3-${DAYS}`} ORDER BY lun`)
    ).map((r) => ({ lun: r.lun, deviceId: r.device_id }));
    await scoped('a storage host whose LU 1 moved away', 'sol3', { lus: lus.slice(1) });
  } finally {
    await opened.close();
    await created.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
