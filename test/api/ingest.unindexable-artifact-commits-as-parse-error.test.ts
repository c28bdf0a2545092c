/**
 * A commit never answers 5xx because of what is in an artifact's bytes. An artifact the
 * database refuses to index is rolled back alone (a savepoint per artifact), kept as a
 * parse error with the database's reason and a parse-error event, and the rest of the
 * capture commits. Text with NUL bytes never reaches jsonb or text columns.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { artifacts, events, extents, hosts } from '../../db/schema.js';
import { cleanJson, unindexableReason } from '../../api/pipeline/indexer.js';
import { writeCapture, type CaptureRecord } from '../../api/pipeline/write.js';
import type { ParsedEntry } from '../../api/pipeline/parse.js';
import type { ParsedArtifact } from '../../formats/types.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest, uuidv7 } from '../helpers/ingest-client.js';
import { buildVmfsDisk, vmfsDiskRegions } from '../fixtures/vmfs-images.js';
import { esxcliDeviceList, collectorFile } from '../fixtures/text-fixtures.js';

interface Json {
  [k: string]: any;
}

/**
 * The header an ESX 3.5 host wrote on a COMSTAR LU: LVM header + 0x0D holds 22 — the
 * 16-byte NAA followed by the first 6 bytes of the model — and the vendor/model fields
 * are NUL padded (issue: "Real headers from real hosts"; vmfs-tools' lvm.h names +0x0D
 * the device-id length). Both used to reach jsonb as `\u0000` and answer 500.
 */
function comstarHeader(): Uint8Array {
  const opts = { dumpLength: 'legacy' as const, vendor: 'SUN', model: 'COMSTAR', deviceId: 'naa.600144f0aabbccddeeff001122334455', lun: 3 };
  const img = buildVmfsDisk(opts);
  const h = vmfsDiskRegions(opts).layout.lvmHeaderOffset;
  img[h + 0x0d] = 22;
  img.fill(0, h + 0x12 + 3, h + 0x1a); // vendor "SUN" + NULs
  img.fill(0, h + 0x1a + 7, h + 0x2a); // model "COMSTAR" + NULs
  return img;
}

function entry(id: string, index: number, parsed: ParsedArtifact | null, kind: ParsedArtifact['kind'] = 'vmfs-header'): ParsedEntry {
  return {
    id,
    index,
    parsed,
    parseStatus: parsed ? 'ok' : 'opaque',
    parseError: null,
    ref: { id, kind, fileName: `a${index}.bin`, sourcePath: `/x/a${index}.bin`, device: null, size: 1, sha256: 'ab'.repeat(32), chunks: [] },
  };
}

function headerParsed(lun: number, extentUuid: string): ParsedArtifact {
  return {
    kind: 'vmfs-header',
    partition: null,
    vmfs: null,
    details: {},
    device: {
      deviceId: 'naa.600144f0000000000000000000000001',
      vml: '',
      lun,
      vendor: 'SUN',
      model: 'COMSTAR',
      revision: '1.0',
      sizeBytes: 1 << 30,
      extentUuid,
    },
  };
}

it('cleanJson strips NUL from every string and key and mends lone surrogates; other values pass', () => {
  const dirty = { 'a\u0000b': ['x\u0000y', 1, null, true, { z: '\u0000\u0000' }], s: 'ok\uD800', t: 'pair \uD83D\uDE00' };
  expect(cleanJson(dirty)).toEqual({ ab: ['xy', 1, null, true, { z: '' }], s: 'ok\uFFFD', t: 'pair \uD83D\uDE00' });
  expect(JSON.stringify(cleanJson(dirty))).not.toContain('\\u0000');
});

it('only value errors count as unindexable; a lost connection still fails the request', () => {
  expect(unindexableReason({ cause: { code: '22003', message: 'value "1099511627776" is out of range for type integer' } })).toMatch(
    /SQLSTATE 22003: value .* out of range/,
  );
  expect(unindexableReason(new RangeError('Invalid time value'))).toMatch(/RangeError/);
  expect(unindexableReason({ cause: { code: '08006', message: 'connection failure' } })).toBeNull();
  expect(unindexableReason(new Error('socket hang up'))).toBeNull();
});

describeEachFlavour('commit: an artifact the catalog cannot index', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('commits a capture holding a 22-byte device id header with NUL-padded text, and finds it by host', async () => {
    const inventory = new TextEncoder().encode(collectorFile([{ command: 'esxcli storage core device list', output: esxcliDeviceList([]) }]));
    const answer = await ingest(catalog, {
      host: 'esx35-comstar',
      artifacts: [
        { kind: 'vmfs-header', fileName: 'sdb-header.bin', device: '/dev/sdb', bytes: comstarHeader() },
        { kind: 'esx-inventory', fileName: 'inventory.txt', bytes: inventory },
      ],
    });
    expect(answer.state).toBe('committed');
    expect(answer.artifacts).toHaveLength(2);
    const rows = await catalog.services.db.select().from(artifacts).where(eq(artifacts.captureId, answer.captureId));
    expect(rows).toHaveLength(2);
    expect(JSON.stringify(rows.map((r) => [r.parsed, r.parseError]))).not.toContain('\\u0000');
    const res = await catalog.request('/v1/search?q=esx35-comstar');
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).hits[0]).toMatchObject({ type: 'host', name: 'esx35-comstar' });
  });

  it('rolls back only the refused artifact, records it as a parse error with the reason, and indexes the rest', async () => {
    const { db } = catalog.services;
    const captureId = uuidv7();
    const at = new Date('2026-11-02T03:00:00Z');
    const record: CaptureRecord = {
      captureId,
      host: { name: 'esx-bad-lun', kind: 'esxi' },
      collectedAt: at,
      receivedAt: at,
      committedAt: at,
      collectorVersion: 't',
      manifestKey: `manifests/esx-bad-lun/${captureId}.json.gz`,
    };
    const good = entry(`${captureId.slice(0, 30)}-good`, 0, headerParsed(5, '4a1c3e7d-00000000-0000-0050569a0001'));
    // A LUN of 2^40 does not fit the integer column: PostgreSQL answers SQLSTATE 22003.
    const bad = entry(`${captureId.slice(0, 30)}-bad`, 1, headerParsed(2 ** 40, '4a1c3e7d-00000000-0000-0050569a0002'));
    let written: ParsedEntry[] = [];
    await db.transaction(async (tx) => {
      written = await writeCapture(tx as unknown as Db, record, [good, bad], [], null);
    });

    expect(written.map((e) => e.parseStatus)).toEqual(['ok', 'error']);
    expect(written[1].parseError).toMatchObject({ code: 'unindexable' });
    expect(written[1].parseError!.message).toMatch(/SQLSTATE 22003/);
    expect(written[1].parseError!.message.length).toBeLessThan(600);

    const rows = await db.select().from(artifacts).where(eq(artifacts.captureId, captureId));
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(good.id)).toMatchObject({ parseStatus: 'ok' });
    expect(byId.get(bad.id)).toMatchObject({ parseStatus: 'error', parsed: null, parseError: { code: 'unindexable' } });
    expect((await db.select().from(extents).where(eq(extents.artifactId, good.id))).map((e) => e.lun)).toEqual([5]);
    expect(await db.select().from(extents).where(eq(extents.artifactId, bad.id))).toEqual([]);
    const ev = await db.select().from(events).where(eq(events.artifactId, bad.id));
    expect(ev.map((e) => e.type)).toEqual(['parse-error']);
    expect(ev[0].message).toMatch(/could not index/);
    expect(await db.select().from(hosts).where(eq(hosts.name, 'esx-bad-lun'))).toHaveLength(1);
  });

  it('indexes a whole capture in one go when nothing is refused', async () => {
    const { db } = catalog.services;
    const captureId = uuidv7();
    const at = new Date('2026-11-03T03:00:00Z');
    const record: CaptureRecord = {
      captureId,
      host: { name: 'esx-good', kind: 'esxi' },
      collectedAt: at,
      receivedAt: at,
      committedAt: at,
      collectorVersion: 't',
      manifestKey: `manifests/esx-good/${captureId}.json.gz`,
    };
    const es = [0, 1, 2].map((i) => entry(`${captureId.slice(0, 30)}-${i}`, i, headerParsed(i, `4a1c3e7d-00000000-0000-0050569a010${i}`)));
    let written: ParsedEntry[] = [];
    await db.transaction(async (tx) => {
      written = await writeCapture(tx as unknown as Db, record, es, [], null);
    });
    expect(written).toBe(es);
    expect(await db.select().from(artifacts).where(eq(artifacts.captureId, captureId))).toHaveLength(3);
  });
});
