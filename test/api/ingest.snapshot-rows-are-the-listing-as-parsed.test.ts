/**
 * A snapshot listing's zfs_snapshots rows are its parse, row for row: the rows go as arrays
 * unnested by the database (api/pipeline/indexer.ts snapshotInserts, SNAPSHOT_BATCH a statement,
 * the name built from the dataset and snapshot), so names holding what an array literal treats
 * apart (double quotes, backslashes, commas, braces, blanks, the word NULL), non-ASCII names,
 * creation times at 1970 and past 2038, byte counts past 2^32 and a listing longer than
 * one statement's batch must come out as the parser read them. Two listings in one capture keep
 * their own artifact ids.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client.js';
import { SNAPSHOT_BATCH, snapshotInserts } from '../../api/pipeline/indexer.js';
import { parseArtifact } from '../../formats/parse.js';
import type { ZfsSnapshot } from '../../formats/types.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

const awkward = [
  'tank/with "quotes"@snap "1"',
  'tank/back\\slash@a\\b',
  'tank/comma,brace{x}@s,{y}',
  'tank/blank name@ lead and trail ',
  'NULL@NULL',
  'tank/zvöl/ünïcode@snäp-日本',
  'tank/at@in@snapshot',
];
const lines = [
  ...awkward.map((name, i) => `${name}\t${i === 0 ? 0 : 86400 * 365 * (i * 20)}\t${i === 1 ? '-' : String(2 ** 40 + i)}\n`),
  ...Array.from({ length: SNAPSHOT_BATCH + 1234 }, (_, i) => `tank/iscsi/lun${i % 37}@frequent-${i}\t${1790000000 + i}\t${i * 4096}\n`),
];
const first = new TextEncoder().encode(lines.join(''));
const second = new TextEncoder().encode('pool2/other@one\t1700000000\t5\npool2/other@two\t1700000900\t6\n');

const snapshotsOf = (bytes: Uint8Array) => (parseArtifact('zfs-snapshots', bytes, {}).details as { snapshots: ZfsSnapshot[] }).snapshots;

describeEachFlavour('ingest: a listing’s snapshot rows are its parse, row for row', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => catalog?.close());

  it('writes every snapshot of two listings with its name, dataset, snapshot, creation and bytes', async () => {
    const res = await ingest(catalog, {
      host: 'zfs-rows-01',
      hostKind: 'solaris',
      artifacts: [
        { kind: 'zfs-snapshots', fileName: 'zfs-list-1.txt', bytes: first },
        { kind: 'zfs-snapshots', fileName: 'zfs-list-2.txt', bytes: second },
      ],
    });
    expect(res.artifacts.map((a) => a.parseStatus)).toEqual(['ok', 'ok']);
    for (const [i, bytes] of [first, second].entries()) {
      const rows = await queryRows<{ capture_id: string; host: string; name: string; dataset: string; snapshot: string; created: string; used: string }>(
        catalog.services.db,
        sql`SELECT capture_id, host, name, dataset, snapshot, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created, used_bytes::text AS used
              FROM zfs_snapshots WHERE artifact_id = ${res.artifacts[i].id} ORDER BY id`,
      );
      const want = snapshotsOf(bytes);
      expect(rows.length).toBe(want.length);
      expect(rows.every((r) => r.capture_id === res.captureId && r.host === 'zfs-rows-01')).toBe(true);
      expect(rows.map((r) => [r.name, r.dataset, r.snapshot, r.created, r.used])).toEqual(
        want.map((s) => [s.name, s.dataset, s.snapshot, s.createdAt, String(s.usedBytes)]),
      );
    }
  });

  it("keeps a row's own name where it is not its dataset@snapshot", async () => {
    const row = {
      artifactId: 'odd-artifact',
      captureId: 'odd-capture',
      host: 'odd-host',
      dataset: 'a',
      snapshot: 'b',
      name: 'a@c',
      createdAt: new Date(1000),
      usedBytes: 7,
    };
    await catalog.services.db.execute(snapshotInserts([row, { ...row, name: 'a@b' }])[0]);
    const rows = await queryRows<{ name: string }>(catalog.services.db, sql`SELECT name FROM zfs_snapshots WHERE artifact_id = 'odd-artifact' ORDER BY id`);
    expect(rows.map((r) => r.name)).toEqual(['a@c', 'a@b']);
    await catalog.services.db.execute(sql`DELETE FROM zfs_snapshots WHERE artifact_id = 'odd-artifact'`);
  });
});
