/**
 * A manifest in the store that is not what a commit writes — damaged, or edited by hand — is
 * refused by `rebuild` and listed by `check`, each naming the manifest's key and the field, and
 * the other manifests are still read: no 500 for the whole rebuild (a missing `collector`, a
 * chunk named by a path, a NUL in a file name all stopped it before), and no capture recreated
 * from it (an artifact id commit never gives was written as it stood). A format 3 manifest
 * whose chunk list is damaged (missing, its bytes not hashing to its name, not the shape of a
 * list, or not adding up to its artifact) is sound otherwise: `rebuild` recreates its capture
 * without that artifact and reports it, and `check` lists the manifest with why.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CaptureManifestV2, CaptureManifestV3, ChunkListV1 } from '../../formats/protocol.js';
import { artifactId } from '../../api/ingest/begin.js';
import { formatCheckReport, type CheckReport } from '../../api/retention/check.js';
import type { RebuildResult } from '../../api/admin/rebuild.js';
import { chunkKey, manifestKey } from '../../api/store/types.js';
import { compactManifest, decodeManifest } from '../../api/pipeline/manifest.js';
import { chunkListReader } from '../../api/pipeline/chunk-lists.js';
import { queryRows } from '../../db/client.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

type Damage = (m: CaptureManifestV2) => void;

/** Each damage, and what the refusal must say about it. */
const DAMAGES: Array<{ what: string; damage: Damage; says: RegExp }> = [
  { what: 'no collector', damage: (m) => delete (m as Partial<CaptureManifestV2>).collector, says: /collector: .*expected object/ },
  {
    what: 'a chunk named by a path',
    damage: (m) => (m.chunks[0].sha256 = '../../tokens/admin'),
    says: /chunks\[0\]\.sha256: must be 64 lower-case hex digits/,
  },
  { what: 'a chunk entry that is not one', damage: (m) => ((m.chunks as unknown[])[0] = null), says: /chunks\[0\]: .*expected object, received null/ },
  { what: 'a chunk size as text', damage: (m) => ((m.chunks[0] as { size: unknown }).size = '1048576'), says: /chunks\[0\]\.size: .*expected number/ },
  {
    what: 'an index past the table',
    damage: (m) => (m.artifacts[0].chunks[0] = m.chunks.length),
    says: /artifacts\[0\] names chunk \d+, not in its table of \d+/,
  },
  { what: 'a negative index', damage: (m) => (m.artifacts[0].chunks[0] = -1), says: /artifacts\[0\]\.chunks\[0\]: .*>=0/ },
  { what: 'a NUL in a file name', damage: (m) => (m.artifacts[0].fileName = 'sdb\u0000.hex'), says: /artifacts\[0\]\.fileName: is not 1-255 bytes/ },
  { what: 'an unknown kind', damage: (m) => ((m.artifacts[0] as { kind: string }).kind = 'tape'), says: /artifacts\[0\]\.kind: / },
  { what: 'an id commit never gives', damage: (m) => (m.artifacts[0].id = randomUUID()), says: /artifacts\[0\] has id .*; commit gives it / },
  { what: 'chunks that do not add up', damage: (m) => (m.artifacts[0].size += 1), says: /artifacts\[0\]: its chunks add up to \d+ bytes, not its size \d+/ },
];

describeEachFlavour('a damaged manifest', (flavour) => {
  let catalog: TestCatalog;
  let goodKey: string;
  let goodCapture: string;
  const damaged: Array<{ key: string; captureId: string; says: RegExp }> = [];
  /** Format 3 manifests naming a damaged chunk list for their one artifact, with the list. */
  const listed: Array<{ key: string; captureId: string; sha: string; says: RegExp }> = [];
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    const { store } = catalog.services;
    const done = await ingest(catalog, {
      host: 'esx51',
      collectedAt: new Date('2026-11-03T02:00:00Z'),
      artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: buildVmfsDisk({ lvmMajor: 5, dumpLength: 2 * 1024 * 1024 }) }],
    });
    goodKey = done.manifestKey;
    goodCapture = done.captureId;
    // The damages above are format 2's (a commit's manifest as format 2 wrote it).
    const stored = (await store.getBytes(goodKey))!;
    const good = compactManifest(await decodeManifest(stored, chunkListReader(store)));
    for (const { damage, says } of DAMAGES) {
      // The same capture under a capture id of its own (ids as commit gives them), then one thing damaged.
      const m = structuredClone(good);
      m.captureId = randomUUID();
      for (const [i, a] of m.artifacts.entries()) a.id = artifactId(m.captureId, i);
      damage(m);
      const key = manifestKey(good.host.name, m.captureId);
      await store.put(key, gzipSync(JSON.stringify(m)));
      damaged.push({ key, captureId: m.captureId, says });
    }
    // Format 3 as commit writes it, naming a chunk list that is missing, damaged or not a list.
    const good3 = JSON.parse(gunzipSync(stored).toString('utf8')) as CaptureManifestV3;
    const listBytes = (await store.getBytes(chunkKey(good3.artifacts[0].chunkList)))!;
    const list = JSON.parse(gunzipSync(listBytes).toString('utf8')) as ChunkListV1;
    /** A list's JSON stored under its own hash, as a commit would: the name then fits, the contents do not. */
    const storedAsList = async (x: unknown) => {
      const json = Buffer.from(JSON.stringify(x));
      const sha = createHash('sha256').update(json).digest('hex');
      await store.put(chunkKey(sha), gzipSync(json));
      return sha;
    };
    const LIST_DAMAGES: Array<{ what: string; list: () => Promise<string>; says: (sha: string) => RegExp }> = [
      {
        what: 'missing',
        list: async () => randomBytes(32).toString('hex'),
        says: (sha) => new RegExp(`chunk list ${sha} is missing \\(chunks/${sha.slice(0, 2)}/${sha}\\)`),
      },
      {
        what: 'whose bytes do not hash to its name',
        list: async () => {
          const sha = randomBytes(32).toString('hex');
          await store.put(chunkKey(sha), listBytes);
          return sha;
        },
        says: (sha) => new RegExp(`chunk list ${sha} does not hash to its name \\(its bytes hash to ${good3.artifacts[0].chunkList}\\)`),
      },
      {
        what: 'of the wrong shape',
        list: () => storedAsList({ ...list, size: String(list.size) }),
        says: (sha) => new RegExp(`chunk list ${sha} with fields no commit writes: size: .*expected number`),
      },
      {
        what: 'naming a chunk outside its table',
        list: () => storedAsList({ ...list, order: [...list.order.slice(1), list.chunks.length] }),
        says: (sha) => new RegExp(`chunk list ${sha}: order\\[\\d+\\] names chunk ${list.chunks.length}, not in its table of ${list.chunks.length}`),
      },
      {
        what: 'whose chunks do not add up',
        list: () => storedAsList({ ...list, size: list.size + 1 }),
        says: (sha) => new RegExp(`artifacts\\[0\\] \\(chunk list ${sha}\\): its chunks add up to \\d+ bytes, not its size \\d+`),
      },
    ];
    for (const { list: make, says } of LIST_DAMAGES) {
      const m = structuredClone(good3);
      m.captureId = randomUUID();
      const sha = await make();
      m.artifacts[0].chunkList = sha;
      const key = manifestKey(good3.host.name, m.captureId);
      await store.put(key, gzipSync(JSON.stringify(m)));
      listed.push({ key, captureId: m.captureId, sha, says: says(sha) });
    }
  }, 120_000);
  afterAll(async () => {
    await catalog?.close();
  });

  const post = async <T>(path: string): Promise<T> => {
    const res = await catalog.request(path, { method: 'POST' });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as T;
  };

  it('is a rebuild error naming its key and field, and the good manifest is still read', async () => {
    await catalog.services.db.execute(
      sql.raw('TRUNCATE hosts, captures, blobs, artifacts, volumes, volume_labels, segments, extents, luns, targets, zfs_snapshots, events RESTART IDENTITY'),
    );
    const result = await post<RebuildResult>('/v1/admin/rebuild');
    expect(result).toMatchObject({ manifests: damaged.length + listed.length + 1, captures: 1 + listed.length, skipped: 0, artifacts: 1 });
    expect([...result.errors].sort((a, b) => a.key.localeCompare(b.key))).toEqual(
      [...damaged].sort((a, b) => a.key.localeCompare(b.key)).map((d) => ({ key: d.key, message: expect.stringMatching(d.says) })),
    );
    const rows = await queryRows<{ id: string }>(catalog.services.db, sql`select id from captures order by id`);
    expect(rows.map((r) => r.id)).toEqual([goodCapture, ...listed.map((l) => l.captureId)].sort());
    // A damaged chunk list leaves its artifact out, named with the list, and its capture is kept.
    expect([...result.artifactsLeftOut].sort((a, b) => a.key.localeCompare(b.key))).toEqual(
      [...listed]
        .sort((a, b) => a.key.localeCompare(b.key))
        .map((l) => ({ key: l.key, index: 0, fileName: 'sdb.hex', chunkList: l.sha, message: expect.stringMatching(l.says) })),
    );
    for (const { key, sha } of listed)
      expect(result.artifactsLeftOut.find((e) => e.key === key)?.message).toMatch(new RegExp(`^manifest artifacts\\[0\\] .*${sha}`));
  });

  it('is listed by check with why, and nothing else is', async () => {
    const report = await post<CheckReport>('/v1/admin/check');
    expect(report.unreadableManifests.map((u) => u.key)).toEqual([...damaged, ...listed].map((d) => d.key).sort());
    for (const d of [...damaged, ...listed]) expect(report.unreadableManifests.find((u) => u.key === d.key)?.message).toMatch(d.says);
    expect(report.manifestsWithoutCapture).toEqual(damaged.map((d) => d.key).sort());
    expect(report).toMatchObject({ capturesWithoutManifest: [], missingChunks: [], clean: false });
    const printed = formatCheckReport(report);
    for (const d of [...damaged, ...listed]) expect(printed).toContain(`unreadable manifest ${d.key}: `);
    expect(printed).not.toContain(goodKey);
  });
});
