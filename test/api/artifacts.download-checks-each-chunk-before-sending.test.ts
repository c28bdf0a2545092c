/**
 * A download checks each chunk whole against its SHA-256 before any of its bytes go out, for
 * a whole artifact and for a Range (also one that wants only part of a chunk): a damaged
 * chunk reached before the answer starts is a 502 `chunk_corrupt` naming the artifact and the
 * chunk; one reached later ends the transfer short. Nothing of it ever arrives as a success,
 * and the catalog records it as the scrub would: its bytes set aside, chunk-corrupt raised.
 */
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chunkKey } from '../../api/store/types.js';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describeEachFlavour('artifact download checks each chunk before sending it', (flavour) => {
  let catalog: TestCatalog;
  const bytes = new Uint8Array(3 * CHUNK_SIZE + 1000);
  const shas: string[] = [];
  const ids: Record<'identity' | 'gzip', string> = { identity: '', gzip: '' };
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    bytes.set(randomBytes(bytes.length));
    for (let off = 0; off < bytes.length; off += CHUNK_SIZE) shas.push(sha256(bytes.subarray(off, off + CHUNK_SIZE)));
    for (const encoding of ['identity', 'gzip'] as const) {
      // Each its own bytes (one differing byte at the end), so each has its own chunk 2.
      const own = new Uint8Array(bytes);
      if (encoding === 'gzip') own[own.length - 1] ^= 1;
      const res = await ingest(catalog, {
        host: `esx-${encoding}`,
        collectedAt: new Date('2026-03-01T00:00:00Z'),
        artifacts: [{ kind: 'unknown', fileName: `dump-${encoding}.bin`, bytes: own, gzip: encoding === 'gzip' }],
      });
      ids[encoding] = res.artifacts[0].id;
    }
  });
  afterAll(async () => {
    await catalog?.close();
  });

  /** Damages chunk 2 of the artifact (same length, one flipped byte), as a disk or a hand would. */
  async function damage(encoding: 'identity' | 'gzip'): Promise<void> {
    const good = Buffer.from(bytes.subarray(2 * CHUNK_SIZE, 3 * CHUNK_SIZE));
    const bad = Buffer.from(good);
    bad[5000] ^= 0xff;
    await catalog.services.store.put(chunkKey(shas[2]), encoding === 'gzip' ? gzipSync(bad) : bad);
  }
  async function repair(): Promise<void> {
    await catalog.services.store.delete(`quarantine/${shas[2]}`);
    await catalog.services.store.put(chunkKey(shas[2]), bytes.subarray(2 * CHUNK_SIZE, 3 * CHUNK_SIZE));
  }
  /** A chunk found damaged mid-transfer is recorded after the answer broke off: waits for it. */
  async function setAside(): Promise<void> {
    for (let i = 0; i < 200 && !(await catalog.services.store.head(`quarantine/${shas[2]}`)); i++) await new Promise((r) => setTimeout(r, 25));
    expect(await catalog.services.store.head(`quarantine/${shas[2]}`)).not.toBeNull();
  }
  /** Every byte the server sends before the transfer ends, and whether it ended cleanly. */
  async function receive(res: Response): Promise<{ got: Uint8Array; clean: boolean }> {
    const parts: Uint8Array[] = [];
    const reader = res.body!.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parts.push(value);
      }
    } catch {
      return { got: Buffer.concat(parts), clean: false };
    }
    return { got: Buffer.concat(parts), clean: true };
  }
  const get = (id: string, range?: string) => catalog.request(`/v1/artifacts/${id}/content`, { headers: range ? { range } : {} });
  async function chunkCorruptEvents(id: string) {
    const body = await (await catalog.request('/v1/events?type=chunk-corrupt')).json();
    return (body.events ?? body.items ?? body).filter((e: { artifactId: string }) => e.artifactId === id) as Array<{ message: string }>;
  }

  // The artifact with identity chunks is the one a partial range used to read unchecked.
  for (const encoding of ['identity', 'gzip'] as const) {
    it(`${encoding} chunks: a range inside a damaged chunk is a 502 naming it, recorded as chunk-corrupt`, async () => {
      await damage(encoding);
      const res = await get(ids[encoding], `bytes=${2 * CHUNK_SIZE + 10}-${2 * CHUNK_SIZE + 20000}`);
      expect(res.status).toBe(502);
      const body = await res.json();
      expect(body.error.code).toBe('chunk_corrupt');
      expect(body.error.message).toContain(ids[encoding]);
      expect(body.error.message).toContain(shas[2]);
      // Set aside and raised, as the scrub does: the next capture of these bytes stores the chunk again.
      expect(await catalog.services.store.head(`quarantine/${shas[2]}`)).not.toBeNull();
      expect(await catalog.services.store.head(chunkKey(shas[2]))).toBeNull();
      expect((await chunkCorruptEvents(ids[encoding])).length).toBe(1);
      await repair();
    });

    it(`${encoding} chunks: a whole download stops before the damaged chunk's bytes, never a clean end`, async () => {
      await damage(encoding);
      const res = await get(ids[encoding]);
      expect(res.status).toBe(200);
      const { got, clean } = await receive(res);
      expect(clean).toBe(false);
      expect(got.length).toBeLessThanOrEqual(2 * CHUNK_SIZE);
      expect(Buffer.from(got).equals(Buffer.from(bytes.subarray(0, got.length)))).toBe(true);
      await setAside();
      await repair();
    });

    it(`${encoding} chunks: a range from a good chunk into the damaged one ends short`, async () => {
      await damage(encoding);
      const res = await get(ids[encoding], `bytes=${CHUNK_SIZE}-${3 * CHUNK_SIZE - 1}`);
      expect(res.status).toBe(206);
      const { got, clean } = await receive(res);
      expect(clean).toBe(false);
      expect(got.length).toBeLessThanOrEqual(CHUNK_SIZE);
      expect(Buffer.from(got).equals(Buffer.from(bytes.subarray(CHUNK_SIZE, CHUNK_SIZE + got.length)))).toBe(true);
      await setAside();
      await repair();
    });
  }

  it('sends every range whole once the chunk is good again', async () => {
    await repair();
    const res = await get(ids.identity, `bytes=${2 * CHUNK_SIZE + 10}-${2 * CHUNK_SIZE + 20000}`);
    expect(res.status).toBe(206);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(bytes.subarray(2 * CHUNK_SIZE + 10, 2 * CHUNK_SIZE + 20001)))).toBe(true);
  });
});
