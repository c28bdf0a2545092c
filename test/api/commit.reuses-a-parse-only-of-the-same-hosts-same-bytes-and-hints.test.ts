/**
 * A commit takes over the parse of an artifact its host committed before with the same kind,
 * name, source path, device, size, hash and chunk list, made at the current PARSER_VERSION
 * (api/pipeline/parse.ts earlierParses), and reads none of its bytes. Anything else is read
 * and parsed afresh: a changed chunk, another device (a parser hint), another host's
 * artifact, a parse made by another parser revision, a kind that goes through redaction.
 * To tell a reused parse from a fresh one, the stored parse of the first capture is
 * replaced by a marker: a commit that reuses it carries the marker.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { PARSER_VERSION, parseArtifact } from '../../formats/parse.js';
import { cleanJson } from '../../api/pipeline/indexer.js';
import type { BlobStore } from '../../api/store/types.js';
import { queryRows } from '../../db/client.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest, type TestArtifact } from '../helpers/ingest-client.js';

/** Runs `work`, counting the store's reads (getBytes, getStream) meanwhile. */
async function counting<T>(store: BlobStore, work: () => Promise<T>): Promise<{ result: T; reads: number }> {
  let reads = 0;
  const target = store as unknown as Record<string, unknown>;
  const saved = new Map<string, unknown>();
  for (const name of ['getBytes', 'getStream']) {
    const fn = target[name];
    if (typeof fn !== 'function') continue;
    saved.set(name, fn);
    target[name] = (...args: unknown[]) => {
      reads++;
      return (fn as (...a: unknown[]) => unknown).apply(store, args);
    };
  }
  try {
    return { result: await work(), reads };
  } finally {
    for (const [name, fn] of saved) target[name] = fn;
  }
}

const MARKER = { kind: 'vmfs-header', partition: null, device: null, vmfs: null, details: { marker: 'reused' } };

describeEachFlavour('a commit reuses a parse only of the same host, bytes and hints', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const row = async (id: string) =>
    (
      await queryRows<{ parsed: unknown; parse_status: string; parser_version: number | null }>(
        catalog.services.db,
        sql`SELECT parsed, parse_status, parser_version FROM artifacts WHERE id = ${id}`,
      )
    )[0];
  const mark = (id: string) => catalog.services.db.execute(sql`UPDATE artifacts SET parsed = ${JSON.stringify(MARKER)}::jsonb WHERE id = ${id}`);
  const header = (lun: number): TestArtifact => ({
    kind: 'vmfs-header',
    fileName: `lun${lun}.bin`,
    sourcePath: `/vmfs/devices/disks/naa.600144f0000000000000000000000${lun}0`,
    device: `naa.600144f0000000000000000000000${lun}0`,
    bytes: buildVmfsDisk({ dumpLength: 'descriptor' }),
  });

  it('an unchanged artifact keeps its parse without a store read, and it equals a fresh parse', async () => {
    const a = header(1);
    const first = await ingest(catalog, { host: 'esx-reuse', artifacts: [a] });
    const stored = await row(first.artifacts[0].id);
    expect(stored.parse_status).toBe('ok');
    expect(stored.parser_version).toBe(PARSER_VERSION);
    const fresh = cleanJson(parseArtifact('vmfs-header', a.bytes, { deviceName: a.device! }));
    expect(stored.parsed).toEqual(fresh);

    const { result: again, reads } = await counting(catalog.services.store, () => ingest(catalog, { host: 'esx-reuse', artifacts: [a] }));
    expect(reads).toBe(0);
    expect((await row(again.artifacts[0].id)).parsed).toEqual(fresh);
    expect(again.artifacts[0].found).toEqual(first.artifacts[0].found);
  });

  it('the same bytes are parsed afresh for a changed chunk, another device, another host or another parser revision', async () => {
    const a = header(2);
    const first = await ingest(catalog, { host: 'esx-mark', artifacts: [a] });
    await mark(first.artifacts[0].id);

    // Same host, same everything: the marker is taken over.
    const same = await ingest(catalog, { host: 'esx-mark', artifacts: [a] });
    expect((await row(same.artifacts[0].id)).parsed).toEqual(MARKER);

    // A changed chunk (a byte past the descriptor's block, in the last chunk).
    const changed = { ...a, bytes: new Uint8Array(a.bytes) };
    changed.bytes[changed.bytes.length - 1] ^= 0xff;
    const { result: c1, reads } = await counting(catalog.services.store, () => ingest(catalog, { host: 'esx-mark', artifacts: [changed] }));
    expect(reads).toBeGreaterThan(0);
    expect((await row(c1.artifacts[0].id)).parsed).toEqual(cleanJson(parseArtifact('vmfs-header', changed.bytes, { deviceName: a.device! })));

    // Another device (a parser hint), same bytes and host.
    const moved = { ...a, device: 'naa.600144f0000000000000000000000990' };
    const c2 = await ingest(catalog, { host: 'esx-mark', artifacts: [moved] });
    expect((await row(c2.artifacts[0].id)).parsed).not.toEqual(MARKER);

    // Another host, everything else the same.
    const c3 = await ingest(catalog, { host: 'esx-other', artifacts: [a] });
    expect((await row(c3.artifacts[0].id)).parsed).toEqual(cleanJson(parseArtifact('vmfs-header', a.bytes, { deviceName: a.device! })));

    // A parse made by another parser revision: every marked row of this host says so.
    await catalog.services.db.execute(sql`UPDATE artifacts SET parser_version = ${PARSER_VERSION - 1} WHERE host = 'esx-mark'`);
    const c4 = await ingest(catalog, { host: 'esx-mark', artifacts: [a] });
    expect((await row(c4.artifacts[0].id)).parsed).toEqual(cleanJson(parseArtifact('vmfs-header', a.bytes, { deviceName: a.device! })));
    expect((await row(c4.artifacts[0].id)).parser_version).toBe(PARSER_VERSION);
  });

  it('takes the newest of the earlier parses, and only one whose names match', async () => {
    const a = header(3);
    const older = await ingest(catalog, { host: 'esx-newest', artifacts: [a] });
    await mark(older.artifacts[0].id);
    const newer = await ingest(catalog, { host: 'esx-newest', artifacts: [a] });
    expect((await row(newer.artifacts[0].id)).parsed).toEqual(MARKER);
    const NEWER = { ...MARKER, details: { marker: 'newer' } };
    await catalog.services.db.execute(sql`UPDATE artifacts SET parsed = ${JSON.stringify(NEWER)}::jsonb WHERE id = ${newer.artifacts[0].id}`);
    // Two earlier captures of the same bytes: the later one's parse is taken.
    const third = await ingest(catalog, { host: 'esx-newest', artifacts: [a] });
    expect((await row(third.artifacts[0].id)).parsed).toEqual(NEWER);
    // The same bytes under another file name or source path are parsed afresh.
    const fresh = cleanJson(parseArtifact('vmfs-header', a.bytes, { deviceName: a.device! }));
    for (const other of [
      { ...a, fileName: 'renamed.bin' },
      { ...a, sourcePath: `${a.sourcePath}x` },
    ]) {
      const c = await ingest(catalog, { host: 'esx-newest', artifacts: [other] });
      expect((await row(c.artifacts[0].id)).parsed).toEqual(fresh);
    }
  });

  it('a kind that goes through redaction is read and parsed at every commit', async () => {
    const smf = new TextEncoder().encode(
      '<?xml version="1.0" ?>\n<service_bundle type="profile" name="stmf"><service name="system/stmf" type="service" version="1"></service></service_bundle>\n',
    );
    const a: TestArtifact = { kind: 'stmf-smf', fileName: 'stmf.xml', bytes: smf };
    const first = await ingest(catalog, { host: 'zfs-reuse', hostKind: 'solaris', artifacts: [a] });
    await mark(first.artifacts[0].id);
    const again = await ingest(catalog, { host: 'zfs-reuse', hostKind: 'solaris', artifacts: [a] });
    expect((await row(again.artifacts[0].id)).parsed).not.toEqual(MARKER);
  });
});
