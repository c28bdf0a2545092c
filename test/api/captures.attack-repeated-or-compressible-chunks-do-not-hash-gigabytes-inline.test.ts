/**
 * A commit hashes every new artifact whole (its SHA-256 is the collector's claim until the
 * catalog has hashed its bytes), and the hand-off estimate must count that work too, not only
 * the staged bytes it reads back. Otherwise one collector token commits inline, inside one
 * request, as much hashing as the limits table allows (32 GiB a capture) while sending almost
 * nothing: an artifact whose chunk list names one chunk it holds (or sends once, gzipped to
 * about 1 KiB) thousands of times, or many highly compressible chunks sent through the chunks
 * route (verified on arrival, so they count for nothing in the staged estimate). Such a commit
 * is handed to the worker (202); a capture whose new artifacts add up to little, and an
 * unchanged artifact taken over from the host's earlier commit, still commit at once.
 * Here COMMIT_INLINE_MAX_BYTES is 1 MiB: an inline commit hashes at most 16 MiB whole.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { INLINE_WHOLE_HASH_FACTOR, settleCommitJobs } from '../../api/ingest/commit-jobs.js';
import type { BeginRequest, BeginResponse, CommitInProgress, CommitResponse } from '../../formats/protocol.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, frameChunks, md5Base64, sha256Hex, uuidv7 } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;
const THRESHOLD = MiB;

/** A 1 MiB chunk of zeros but for a 4-byte counter: gzipped to about 1 KiB. */
function compressibleChunk(i: number): Uint8Array {
  const b = new Uint8Array(MiB);
  new DataView(b.buffer).setUint32(0, i + 1);
  return b;
}

/** A begin of one opaque artifact made of these chunks, in this order (repeats allowed), every chunk gzipped. */
function captureOf(host: string, order: Uint8Array[]): { request: BeginRequest; stored: Map<string, Uint8Array> } {
  const stored = new Map<string, Uint8Array>();
  const whole = sha256Stream(order);
  const chunks = order.map((raw) => {
    const sha256 = sha256Hex(raw);
    const gz = stored.get(sha256) ?? new Uint8Array(gzipSync(raw));
    stored.set(sha256, gz);
    return { sha256, size: raw.length, encoding: 'gzip' as const, storedSize: gz.length, storedSha256: sha256Hex(gz), storedMd5: md5Base64(gz) };
  });
  const size = order.reduce((n, c) => n + c.length, 0);
  return {
    request: {
      captureId: uuidv7(),
      host: { name: host, kind: 'esxi' },
      collectedAt: new Date().toISOString(),
      collector: { version: 'test-0' },
      artifacts: [{ kind: 'vmfs-undelete', fileName: 'undelete.tgz', sourcePath: '/tmp/undelete.tgz', device: null, size, sha256: whole, chunks }],
    },
    stored,
  };
}

function sha256Stream(parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

describeEachFlavour('captures: repeated or compressible chunks do not make a commit hash gigabytes inline', (flavour) => {
  let catalog: TestCatalog;
  let tokens: Record<string, string>;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { env: { COMMIT_INLINE_MAX_BYTES: String(THRESHOLD) } });
    tokens = await collectorTokens(catalog, ['esx-rep', 'esx-many', 'esx-small']);
  });
  afterAll(async () => {
    if (catalog) await settleCommitJobs(catalog.services);
    await catalog?.close();
  });

  const sendMissing = async (host: string, c: ReturnType<typeof captureOf>, answer: BeginResponse) => {
    if (answer.missing.length === 0) return;
    const res = await catalog.request(`/v1/captures/${c.request.captureId}/chunks`, {
      method: 'PUT',
      token: tokens[host],
      headers: { 'content-type': 'application/octet-stream' },
      body: frameChunks(answer.missing.map((m) => [m.sha256, c.stored.get(m.sha256)!])) as unknown as BodyInit,
    });
    expect(res.status).toBe(200);
    await res.body?.cancel();
  };
  const post = (captureId: string, host: string) =>
    catalog.request(`/v1/captures/${captureId}/commit`, { method: 'POST', token: tokens[host], headers: { prefer: 'respond-async' } });
  /** Begin, send what is missing through the chunks route, commit once: the first answer. */
  const deliver = async (host: string, c: ReturnType<typeof captureOf>) => {
    await sendMissing(host, c, await begin(catalog, c.request, tokens[host]));
    return post(c.request.captureId, host);
  };
  const finish = async (captureId: string, host: string) => {
    await settleCommitJobs(catalog.services);
    const done = await post(captureId, host);
    expect(done.status).toBe(200);
    return (await done.json()) as CommitResponse;
  };

  it('one chunk named 64 times (64 MiB to hash, 1 KiB sent) is handed to the worker, and commits there', async () => {
    expect(64 * MiB).toBeGreaterThan(INLINE_WHOLE_HASH_FACTOR * THRESHOLD);
    const zero = new Uint8Array(MiB);
    const c = captureOf(
      'esx-rep',
      Array.from({ length: 64 }, () => zero),
    );
    expect(c.stored.get(sha256Hex(zero))!.length).toBeLessThan(2048);
    const first = await deliver('esx-rep', c);
    expect(first.status).toBe(202);
    expect(((await first.json()) as CommitInProgress).bytes).toBeGreaterThanOrEqual(64 * MiB);
    const done = await finish(c.request.captureId, 'esx-rep');
    expect(done.artifacts).toHaveLength(1);

    // The same artifact again (its chunk list and hash unchanged): the earlier parse is taken, nothing is hashed, 200 at once.
    const again = captureOf(
      'esx-rep',
      Array.from({ length: 64 }, () => zero),
    );
    const res = await deliver('esx-rep', again);
    expect(res.status).toBe(200);
    await res.body?.cancel();

    // A new artifact of the chunk the host already holds, named 80 times: nothing staged, 80 MiB to hash.
    const held = captureOf(
      'esx-rep',
      Array.from({ length: 80 }, () => zero),
    );
    const answer = await begin(catalog, held.request, tokens['esx-rep']);
    expect(answer.missing).toEqual([]);
    const heldRes = await post(held.request.captureId, 'esx-rep');
    expect(heldRes.status).toBe(202);
    await heldRes.body?.cancel();
    await finish(held.request.captureId, 'esx-rep');
  });

  it('20 distinct compressible chunks sent through the chunks route (20 MiB to hash, 20 KiB sent) are handed to the worker', async () => {
    const c = captureOf(
      'esx-many',
      Array.from({ length: 20 }, (_, i) => compressibleChunk(i)),
    );
    const first = await deliver('esx-many', c);
    expect(first.status).toBe(202);
    await first.body?.cancel();
    await finish(c.request.captureId, 'esx-many');
  });

  it('a capture whose new artifacts add up to less than the budget still commits at once', async () => {
    const c = captureOf(
      'esx-small',
      Array.from({ length: 8 }, (_, i) => compressibleChunk(100 + i)),
    );
    const res = await deliver('esx-small', c);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ state: 'committed' });
  });
});
