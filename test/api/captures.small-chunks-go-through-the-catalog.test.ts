/**
 * Small chunks sent through the catalog (PUT /v1/captures/{id}/chunks): verified in memory
 * and published write-once under their chunk key, one store request each; the commit takes
 * them from its record without reading them back. Then everything a holder of one host's
 * collector token can send wrong (another host's capture, undeclared chunks, wrong bytes, bad
 * framing, a committed capture) is a 4xx JSON error that stores nothing, and the crash and
 * retry cases (an object stored but not recorded, a batch sent twice, two captures sending
 * the same chunk, garbage collection in between) commit each chunk once, byte-exact.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifacts, blobs, captureChunks } from '../../db/schema.js';
import { CHUNK_BATCH_MAX_BYTES, receivedOf, SMALL_CHUNK_MAX_STORED_BYTES } from '../../api/ingest/chunks.js';
import { sweepUnreferencedChunks } from '../../api/retention/gc.js';
import { chunkKey, stagingPrefix, type BlobStore } from '../../api/store/types.js';
import { decodeChunk, keptOf } from '../../api/pipeline/chunks.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import type { BeginResponse } from '../../formats/protocol.js';
import { begin, collectorTokens, commit, frameChunks, md5Base64, prepareCapture, sha256Hex, type PreparedCapture } from '../helpers/ingest-client.js';
import { iscsitgtExport } from '../fixtures/text-fixtures.js';

/** The chunks begin handed out as missing, framed as stored. */
function missingOf(p: PreparedCapture, answer: BeginResponse): Buffer {
  return frameChunks(answer.missing.map((m) => [m.sha256, p.stored.get(m.sha256)!]));
}

async function send(catalog: TestCatalog, captureId: string, body: Uint8Array, token: string): Promise<{ status: number; body: any }> {
  const res = await catalog.request(`/v1/captures/${captureId}/chunks`, {
    method: 'PUT',
    token,
    headers: { 'content-type': 'application/octet-stream' },
    body: body as unknown as BodyInit,
  });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* asserted by the caller */
  }
  return { status: res.status, body: parsed };
}

/** A dump-like artifact: some unique bytes amid zeros, gzipped chunks (most far under the threshold). */
function dump(uniqueBytes = 4096, size = 3 * 1024 * 1024 + 5000): Uint8Array {
  const b = new Uint8Array(size);
  b.set(randomBytes(uniqueBytes), 1024 * 1024 + 17);
  b.set(randomBytes(64), size - 100);
  return b;
}

/** Counts the store requests made while `fn` runs, by method and key area. */
async function counting<T>(store: BlobStore, fn: () => Promise<T>): Promise<{ result: T; calls: string[]; written: string[] }> {
  const calls: string[] = [];
  /** The keys put or putIfAbsent wrote to. */
  const written: string[] = [];
  const names = ['head', 'getBytes', 'getStream', 'put', 'putIfAbsent', 'delete', 'list'] as const;
  const saved = names.map((n) => [n, (store as any)[n]] as const);
  for (const [n, f] of saved) {
    (store as any)[n] = function (this: unknown, key: string, ...rest: unknown[]) {
      calls.push(n === 'list' ? `list ${key}` : `${n} ${String(key).split('/')[0]}`);
      if (n.startsWith('put')) written.push(key);
      return f.call(store, key, ...rest);
    };
  }
  try {
    return { result: await fn(), calls, written };
  } finally {
    for (const [n, f] of saved) (store as any)[n] = f;
  }
}

async function stagedKeys(store: BlobStore, captureId: string): Promise<string[]> {
  // A commit's staging area goes after it answered, on S3 (S3BlobStore.closeStaging).
  await store.settled();
  const keys: string[] = [];
  for await (const o of store.list(stagingPrefix(captureId))) keys.push(o.key);
  return keys;
}

async function storedChunkIs(catalog: TestCatalog, sha: string, size: number): Promise<void> {
  const bytes = await catalog.services.store.getBytes(chunkKey(sha));
  expect(bytes).not.toBeNull();
  expect(sha256Hex((await decodeChunk(sha, size, bytes!)).bytes)).toBe(sha);
}

describeEachFlavour('small chunks go through the catalog', (flavour) => {
  let catalog: TestCatalog;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    Object.assign(tokens, await collectorTokens(catalog, ['esx-a', 'esx-b', 'sol-c']));
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const open = async (host: string, bytes: Uint8Array = dump(), kind: 'vmfs-header' | 'vmfs-undelete' = 'vmfs-undelete') => {
    const p = prepareCapture({ host, artifacts: [{ kind, fileName: `${kind}.bin`, bytes, gzip: true }] });
    const answer = await begin(catalog, p.request, tokens[host]);
    return { p, answer, bytes };
  };

  describe('the path', () => {
    it('one store request per chunk, no staging, and a commit that reads nothing back', async () => {
      const { p, answer, bytes } = await open('esx-a');
      expect(answer.missing.length).toBe(p.stored.size);
      const sent = await counting(catalog.services.store, () => send(catalog, p.request.captureId, missingOf(p, answer), tokens['esx-a']));
      expect(sent.result).toEqual({ status: 200, body: { captureId: p.request.captureId, received: answer.missing.map((m) => m.sha256) } });
      // One write-once create per chunk (on Swift, which answers 501 to conditional PUTs, a look
      // first: a HEAD, or one listing for a batch); never a staging key, never a read of one.
      expect(sent.calls.filter((c) => c.startsWith('put')).every((c) => c.endsWith(' chunks'))).toBe(true);
      expect(sent.calls.filter((c) => c === 'putIfAbsent chunks')).toHaveLength(p.stored.size);
      expect(sent.calls.filter((c) => c.startsWith('getBytes'))).toEqual([]);
      expect(await stagedKeys(catalog.services.store, p.request.captureId)).toEqual([]);

      const committed = await counting(catalog.services.store, () => commit(catalog, p.request.captureId, tokens['esx-a']));
      // The chunks come from what this process received: no GET of a chunk, nothing staged to look for.
      expect(committed.calls.filter((c) => c.startsWith('getBytes'))).toEqual([]);
      // Its one write under chunks/ is the artifact's chunk list (format 3), none of its chunks.
      const [row] = await catalog.services.db
        .select({ chunkList: artifacts.chunkList })
        .from(artifacts)
        .where(eq(artifacts.id, committed.result.artifacts[0].id));
      expect(new Set(committed.written.filter((k) => k.startsWith('chunks/')))).toEqual(new Set([chunkKey(row.chunkList!)]));
      const res = await catalog.request(`/v1/artifacts/${committed.result.artifacts[0].id}/content`);
      expect(sha256Hex(new Uint8Array(await res.arrayBuffer()))).toBe(sha256Hex(bytes));
      // The record goes with the commit; `blobs` knows every chunk as it rests.
      expect(await catalog.services.db.select().from(captureChunks).where(eq(captureChunks.captureId, p.request.captureId))).toEqual([]);
      for (const [sha, stored] of p.stored) {
        const [row] = await catalog.services.db.select().from(blobs).where(eq(blobs.sha256, sha));
        expect(row).toMatchObject({ encoding: 'gzip', storedSize: stored.length });
      }
    });

    it('a commit in another process (nothing kept in memory) reads the chunks from the store and commits the same', async () => {
      const { p, answer, bytes } = await open('esx-a');
      expect((await send(catalog, p.request.captureId, missingOf(p, answer), tokens['esx-a'])).status).toBe(200);
      receivedOf(catalog.services.store).forget(p.request.captureId, p.stored.keys());
      keptOf(catalog.services.store).forget(p.stored.keys());
      const committed = await counting(catalog.services.store, () => commit(catalog, p.request.captureId, tokens['esx-a']));
      expect(committed.calls.filter((c) => c === 'getBytes chunks').length).toBeGreaterThan(0);
      const res = await catalog.request(`/v1/artifacts/${committed.result.artifacts[0].id}/content`);
      expect(sha256Hex(new Uint8Array(await res.arrayBuffer()))).toBe(sha256Hex(bytes));
    });

    it("the next day's capture of the dump, changed in one chunk, reads none of its other chunks from the store", async () => {
      const { p, answer, bytes } = await open('esx-a');
      expect((await send(catalog, p.request.captureId, missingOf(p, answer), tokens['esx-a'])).status).toBe(200);
      await commit(catalog, p.request.captureId, tokens['esx-a']);
      // Day 2: 4 KiB changed in the third chunk (zeros until now). The commit must hash the whole
      // dump and parse it: the unchanged chunks are the ones this process received the day before.
      const changed = bytes.slice();
      changed.set(randomBytes(4096), 2 * 1024 * 1024 + 8192);
      const next = await open('esx-a', changed);
      expect(next.answer.missing).toHaveLength(1);
      expect((await send(catalog, next.p.request.captureId, missingOf(next.p, next.answer), tokens['esx-a'])).status).toBe(200);
      const committed = await counting(catalog.services.store, () => commit(catalog, next.p.request.captureId, tokens['esx-a']));
      expect(committed.calls.filter((c) => c.startsWith('getBytes'))).toEqual([]);
      const res = await catalog.request(`/v1/artifacts/${committed.result.artifacts[0].id}/content`);
      expect(sha256Hex(new Uint8Array(await res.arrayBuffer()))).toBe(sha256Hex(changed));
    });

    it('a begin repeated after some chunks went through answers them present', async () => {
      const { p, answer } = await open('esx-b');
      const [first, ...rest] = answer.missing.map((m) => [m.sha256, p.stored.get(m.sha256)!] as [string, Uint8Array]);
      expect((await send(catalog, p.request.captureId, frameChunks([first]), tokens['esx-b'])).status).toBe(200);
      const again = await begin(catalog, p.request, tokens['esx-b']);
      expect(again.present).toContain(first[0]);
      expect(again.missing.map((m) => m.sha256).sort()).toEqual(rest.map(([s]) => s).sort());
      expect((await send(catalog, p.request.captureId, frameChunks(rest), tokens['esx-b'])).status).toBe(200);
      await commit(catalog, p.request.captureId, tokens['esx-b']);
    });

    it('a chunk only a secret-bearing artifact references waits in staging, and its raw bytes never reach chunks/', async () => {
      const raw = new TextEncoder().encode(
        iscsitgtExport({
          targets: [{ name: 't0', iqn: 'iqn.2001-04.com.example:t0', luns: [{ lun: 0, guid: '600144f0c6e7d3b400004f9a2c4e0101' }] }],
          passwords: true,
        }),
      );
      const p = prepareCapture({ host: 'sol-c', hostKind: 'solaris', artifacts: [{ kind: 'iscsitgt-smf', fileName: 'iscsitgt.xml', bytes: raw, gzip: true }] });
      const answer = await begin(catalog, p.request, tokens['sol-c']);
      expect((await send(catalog, p.request.captureId, missingOf(p, answer), tokens['sol-c'])).status).toBe(200);
      expect(await catalog.services.store.head(chunkKey(sha256Hex(raw)))).toBeNull();
      expect(await stagedKeys(catalog.services.store, p.request.captureId)).toHaveLength(1);
      const done = await commit(catalog, p.request.captureId, tokens['sol-c']);
      expect(done.artifacts[0].parseStatus).toBe('ok');
      expect(await catalog.services.store.head(chunkKey(sha256Hex(raw)))).toBeNull();
      expect(await stagedKeys(catalog.services.store, p.request.captureId)).toEqual([]);
    });
  });

  describe('attacks with one host’s token: 4xx JSON, nothing stored, no stored chunk changed', () => {
    /** A committed victim chunk, to check nothing below touches it. */
    let victim: { sha: string; size: number };
    beforeAll(async () => {
      const { p, answer, bytes } = await open('esx-b', randomBytes(8192));
      expect((await send(catalog, p.request.captureId, missingOf(p, answer), tokens['esx-b'])).status).toBe(200);
      await commit(catalog, p.request.captureId, tokens['esx-b']);
      victim = { sha: sha256Hex(bytes), size: bytes.length };
    });

    const refused = async (status: number, r: { status: number; body: any }) => {
      expect(r.status).toBe(status);
      expect(r.body).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
      await storedChunkIs(catalog, victim.sha, victim.size);
    };

    it("another host's capture: 404, as an unknown id", async () => {
      const { p, answer } = await open('esx-b');
      await refused(404, await send(catalog, p.request.captureId, missingOf(p, answer), tokens['esx-a']));
      expect(await catalog.services.db.select().from(captureChunks).where(eq(captureChunks.captureId, p.request.captureId))).toEqual([]);
    });

    it('no such capture: 404; not a capture id: 400', async () => {
      await refused(404, await send(catalog, '0190b5a0-0000-7000-8000-000000000000', frameChunks([[victim.sha, new Uint8Array(8)]]), tokens['esx-a']));
      await refused(400, await send(catalog, 'not-a-uuid', frameChunks([[victim.sha, new Uint8Array(8)]]), tokens['esx-a']));
    });

    it('a chunk the capture did not declare (another host’s, say): 422, the whole batch refused', async () => {
      const { p, answer } = await open('esx-a');
      const own = answer.missing.map((m) => [m.sha256, p.stored.get(m.sha256)!] as [string, Uint8Array]);
      const body = frameChunks([...own, [victim.sha, gzipSync(randomBytes(100))]]);
      await refused(422, await send(catalog, p.request.captureId, body, tokens['esx-a']));
      for (const [sha] of own) expect(await catalog.services.store.head(chunkKey(sha))).toBeNull();
    });

    it('wrong bytes under a declared name (even one declaring bogus stored bytes): 422, the stored chunk untouched', async () => {
      // The attacker declares the victim's chunk with its own "stored" bytes.
      const bogus = gzipSync(randomBytes(300));
      const p = prepareCapture({ host: 'esx-a', artifacts: [] });
      p.request.artifacts = [
        {
          kind: 'vmfs-undelete',
          fileName: 'x.bin',
          sourcePath: '/x.bin',
          size: victim.size,
          sha256: victim.sha,
          chunks: [
            { sha256: victim.sha, size: victim.size, encoding: 'gzip', storedSize: bogus.length, storedSha256: sha256Hex(bogus), storedMd5: md5Base64(bogus) },
          ],
        },
      ];
      await begin(catalog, p.request, tokens['esx-a']);
      await refused(422, await send(catalog, p.request.captureId, frameChunks([[victim.sha, bogus]]), tokens['esx-a']));
      // Not what the declaration says either: still 422.
      await refused(422, await send(catalog, p.request.captureId, frameChunks([[victim.sha, gzipSync(randomBytes(300))]]), tokens['esx-a']));
      expect(await stagedKeys(catalog.services.store, p.request.captureId)).toEqual([]);
    });

    it('bytes that are the chunk but not as declared (identity sent for gzip), and a gzip bomb: 422 and 413', async () => {
      const { p, bytes } = await open('esx-a', randomBytes(2000));
      const [sha] = [...p.stored.keys()];
      await refused(422, await send(catalog, p.request.captureId, frameChunks([[sha, bytes]]), tokens['esx-a']));
      // A declared chunk whose stored bytes inflate past 1 MiB.
      const bomb = gzipSync(new Uint8Array(8 * 1024 * 1024));
      const q = prepareCapture({ host: 'esx-a', artifacts: [] });
      const fake = sha256Hex(randomBytes(1024 * 1024));
      q.request.artifacts = [
        {
          kind: 'vmfs-undelete',
          fileName: 'b.bin',
          sourcePath: '/b.bin',
          size: 1024 * 1024,
          sha256: fake,
          chunks: [{ sha256: fake, size: 1024 * 1024, encoding: 'gzip', storedSize: bomb.length, storedSha256: sha256Hex(bomb), storedMd5: md5Base64(bomb) }],
        },
      ];
      await begin(catalog, q.request, tokens['esx-a']);
      await refused(413, await send(catalog, q.request.captureId, frameChunks([[fake, bomb]]), tokens['esx-a']));
    });

    it('garbage and oversize framing: 400 and 413', async () => {
      const { p, answer } = await open('esx-a');
      const id = p.request.captureId;
      const sha = answer.missing[0].sha256;
      const stored = p.stored.get(sha)!;
      const good = frameChunks([[sha, stored]]);
      const t = tokens['esx-a'];
      await refused(400, await send(catalog, id, new Uint8Array(0), t));
      await refused(400, await send(catalog, id, good.subarray(0, 20), t));
      await refused(400, await send(catalog, id, good.subarray(0, good.length - 1), t));
      await refused(400, await send(catalog, id, Buffer.concat([good, Buffer.from([1, 2, 3])]), t));
      await refused(400, await send(catalog, id, Buffer.concat([good, good]), t));
      await refused(400, await send(catalog, id, frameChunks([[sha, new Uint8Array(0)]]), t));
      const long = Buffer.alloc(36);
      long.writeUInt32BE(SMALL_CHUNK_MAX_STORED_BYTES + 1, 32);
      await refused(413, await send(catalog, id, Buffer.concat([long, Buffer.alloc(SMALL_CHUNK_MAX_STORED_BYTES + 1)]), t));
      const huge = Buffer.alloc(36);
      huge.writeUInt32BE(0xffffffff, 32);
      await refused(413, await send(catalog, id, huge, t));
      await refused(413, await send(catalog, id, Buffer.alloc(CHUNK_BATCH_MAX_BYTES + 1), t));
      expect(await catalog.services.db.select().from(captureChunks).where(eq(captureChunks.captureId, id))).toEqual([]);
    });

    it('a committed capture: 409; a chunk the host already holds: 409', async () => {
      const { p, answer } = await open('esx-a');
      expect((await send(catalog, p.request.captureId, missingOf(p, answer), tokens['esx-a'])).status).toBe(200);
      await commit(catalog, p.request.captureId, tokens['esx-a']);
      await refused(409, await send(catalog, p.request.captureId, missingOf(p, answer), tokens['esx-a']));
      // The same bytes in a new capture of the same host: begin answers them present.
      const again = prepareCapture({ host: 'esx-a', artifacts: [] });
      again.request.artifacts = p.request.artifacts;
      expect((await begin(catalog, again.request, tokens['esx-a'])).missing).toEqual([]);
      await refused(409, await send(catalog, again.request.captureId, missingOf(p, answer), tokens['esx-a']));
    });

    it('an operator token: 403', async () => {
      const res = await catalog.request('/v1/tokens', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'operator', name: 'op' }),
      });
      const op = ((await res.json()) as { token: string }).token;
      const { p, answer } = await open('esx-a');
      await refused(403, await send(catalog, p.request.captureId, missingOf(p, answer), op));
    });
  });

  describe('crashes and retries', () => {
    it('an object stored but not recorded (killed in between) is found and recorded by the retry', async () => {
      const { p, answer, bytes } = await open('esx-a');
      // What a crash after the store write leaves: the object, no record, no `blobs` row.
      for (const [sha, stored] of p.stored) await catalog.services.store.putIfAbsent(chunkKey(sha), stored);
      expect(await catalog.services.db.select().from(captureChunks).where(eq(captureChunks.captureId, p.request.captureId))).toEqual([]);
      expect((await send(catalog, p.request.captureId, missingOf(p, answer), tokens['esx-a'])).status).toBe(200);
      const done = await commit(catalog, p.request.captureId, tokens['esx-a']);
      const res = await catalog.request(`/v1/artifacts/${done.artifacts[0].id}/content`);
      expect(sha256Hex(new Uint8Array(await res.arrayBuffer()))).toBe(sha256Hex(bytes));
    });

    it('a damaged object resting under the key (no row vouches for it) is replaced by the verified bytes', async () => {
      const { p, answer } = await open('esx-a');
      const { sha256: sha, size } = p.request.artifacts[0].chunks.find((c) => c.sha256 === answer.missing[0].sha256)!;
      await catalog.services.store.put(chunkKey(sha), randomBytes(77));
      expect((await send(catalog, p.request.captureId, missingOf(p, answer), tokens['esx-a'])).status).toBe(200);
      await storedChunkIs(catalog, sha, size);
      await commit(catalog, p.request.captureId, tokens['esx-a']);
    });

    it('a batch sent twice, and the same chunks sent by two captures of two hosts at once, commit once each', async () => {
      const bytes = dump();
      const a = await open('esx-a', bytes);
      const b = await open('esx-b', bytes);
      const [r1, r2, r3] = await Promise.all([
        send(catalog, a.p.request.captureId, missingOf(a.p, a.answer), tokens['esx-a']),
        send(catalog, a.p.request.captureId, missingOf(a.p, a.answer), tokens['esx-a']),
        send(catalog, b.p.request.captureId, missingOf(b.p, b.answer), tokens['esx-b']),
      ]);
      expect([r1.status, r2.status, r3.status]).toEqual([200, 200, 200]);
      const rows = await catalog.services.db.select().from(captureChunks).where(eq(captureChunks.captureId, a.p.request.captureId));
      expect(rows).toHaveLength(a.answer.missing.length);
      const [da, db] = await Promise.all([commit(catalog, a.p.request.captureId, tokens['esx-a']), commit(catalog, b.p.request.captureId, tokens['esx-b'])]);
      for (const d of [da, db]) {
        const res = await catalog.request(`/v1/artifacts/${d.artifacts[0].id}/content`);
        expect(sha256Hex(new Uint8Array(await res.arrayBuffer()))).toBe(sha256Hex(bytes));
      }
      for (const sha of a.p.stored.keys()) expect(await catalog.services.db.select().from(blobs).where(eq(blobs.sha256, sha))).toHaveLength(1);
      // A commit repeated answers the same.
      expect((await commit(catalog, a.p.request.captureId, tokens['esx-a'])).artifacts).toEqual(da.artifacts);
    });

    it('a commit that fails after writing its rows keeps the records (they go only with a commit), and its retry commits', async () => {
      const { p, answer, bytes } = await open('esx-a');
      const id = p.request.captureId;
      expect((await send(catalog, id, missingOf(p, answer), tokens['esx-a'])).status).toBe(200);
      const records = () => catalog.services.db.select().from(captureChunks).where(eq(captureChunks.captureId, id));
      const store = catalog.services.store;
      const put = store.put;
      // The manifest is written inside the commit's transaction: failing it rolls the commit back.
      store.put = (key, ...rest) => (key.startsWith('manifests/') ? Promise.reject(new Error('store went away')) : put.call(store, key, ...rest));
      try {
        await expect(commit(catalog, id, tokens['esx-a'])).rejects.toThrow();
      } finally {
        store.put = put;
      }
      expect((await records()).map((r) => r.sha256).sort()).toEqual(answer.missing.map((m) => m.sha256).sort());
      const done = await commit(catalog, id, tokens['esx-a']);
      const res = await catalog.request(`/v1/artifacts/${done.artifacts[0].id}/content`);
      expect(sha256Hex(new Uint8Array(await res.arrayBuffer()))).toBe(sha256Hex(bytes));
      expect(await records()).toEqual([]);
    });

    it('garbage collection between the chunks and the commit takes none of them', async () => {
      const { p, answer, bytes } = await open('esx-b');
      expect((await send(catalog, p.request.captureId, missingOf(p, answer), tokens['esx-b'])).status).toBe(200);
      await sweepUnreferencedChunks(catalog.services);
      for (const sha of p.stored.keys()) expect(await catalog.services.store.head(chunkKey(sha))).not.toBeNull();
      const done = await commit(catalog, p.request.captureId, tokens['esx-b']);
      const res = await catalog.request(`/v1/artifacts/${done.artifacts[0].id}/content`);
      expect(sha256Hex(new Uint8Array(await res.arrayBuffer()))).toBe(sha256Hex(bytes));
    });
  });
});
