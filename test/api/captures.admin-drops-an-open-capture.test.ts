/**
 * DELETE /v1/captures/{id}: an admin drops an open capture now (what the staging sweep does
 * 24 h after its last begin), for a host refused new captures or one stuck. The host's page
 * (GET /v1/hosts/{name}) lists its open captures. Only admins drop; a committed capture and
 * one a worker is committing under its lease are 409 and stay as they were; the collector can
 * begin the dropped capture again and commit it byte for byte. Both flavours, real protocol.
 */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settleCommitJobs } from '../../api/ingest/commit-jobs.js';
import { stagingPrefix } from '../../api/store/types.js';
import { audit, captureChunks, captures, commitJobs } from '../../db/schema.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, frameChunks, prepareCapture, sha256Hex, uploadMissing, type PreparedCapture } from '../helpers/ingest-client.js';
import { tokenFor } from './read-side-seed.js';

const MiB = 1024 * 1024;
const THRESHOLD = 1 * MiB;

/** A header dump whose 2 MiB of random bytes go by upload URL (stored past 128 KiB) and, committed, past THRESHOLD: a worker's job. */
function dumpCapture(
  host: string,
  bytes = buildVmfsDisk({ dumpLength: 3 * MiB, extraRegions: [{ offset: MiB + 512 * 1024, bytes: randomBytes(2 * MiB) }] }),
): PreparedCapture {
  return prepareCapture({
    host,
    hostKind: 'esxi',
    artifacts: [
      { kind: 'vmfs-header', fileName: 'lun.bin', sourcePath: `/vmfs/devices/disks/${DEFAULTS.deviceId}`, device: DEFAULTS.deviceId, bytes, gzip: true },
    ],
  });
}

describeEachFlavour('an admin drops an open capture', (flavour) => {
  let catalog: TestCatalog;
  let tokens: Record<string, string>;
  let operator: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true, env: { COMMIT_INLINE_MAX_BYTES: String(THRESHOLD) } });
    tokens = await collectorTokens(catalog, ['esx-open', 'esx-other']);
    operator = await tokenFor(catalog, 'operator');
    // Handed-off commits wait queued: the test decides when (and whether) they run.
    catalog.services.dispatchCommit = async () => {};
  });
  afterAll(async () => {
    if (catalog) await settleCommitJobs(catalog.services);
    await catalog?.close();
  });

  const drop = (id: string, token?: string) => catalog.request(`/v1/captures/${id}`, { method: 'DELETE', token });
  const hostPage = async () => {
    const res = await catalog.request('/v1/hosts/esx-open', { token: operator });
    expect(res.status).toBe(200);
    return (await res.json()) as {
      openCaptures: Array<{ id: string; artifactCount: number; commitJob: { state: string } | null }>;
      captures: Array<{ id: string }>;
    };
  };
  const staged = async (id: string) => {
    const keys: string[] = [];
    for await (const o of catalog.services.store.list(stagingPrefix(id))) keys.push(o.key);
    return keys;
  };
  const postCommit = (id: string) =>
    catalog.request(`/v1/captures/${id}/commit`, { method: 'POST', token: tokens['esx-open'], headers: { prefer: 'respond-async' } });

  /** Begins `small` and sends its missing chunks through the catalog. */
  async function beginAndSendSmall() {
    const answer = await begin(catalog, small.request, tokens['esx-open']);
    const res = await catalog.request(`/v1/captures/${small.request.captureId}/chunks`, {
      method: 'PUT',
      token: tokens['esx-open'],
      headers: { 'content-type': 'application/octet-stream' },
      body: frameChunks(answer.missing.map((m) => [m.sha256, small.stored.get(m.sha256)!])) as unknown as BodyInit,
    });
    return { answer, res };
  }

  let committed: { id: string; artifactId: string; sha: string };
  let open: PreparedCapture;
  let small: PreparedCapture;

  beforeAll(async () => {
    // One committed capture (the host exists), then two left open: one with uploads in staging
    // and a queued commit job, one with small chunks delivered through the catalog.
    const first = dumpCapture('esx-open', buildVmfsDisk({ dumpLength: 2 * MiB }));
    await uploadMissing(catalog, first, await begin(catalog, first.request, tokens['esx-open']));
    catalog.services.config.COMMIT_INLINE_MAX_BYTES = 2 ** 40;
    const done = await commit(catalog, first.request.captureId, tokens['esx-open']);
    catalog.services.config.COMMIT_INLINE_MAX_BYTES = THRESHOLD;
    committed = { id: first.request.captureId, artifactId: done.artifacts[0].id, sha: first.request.artifacts[0].sha256 };

    open = dumpCapture('esx-open');
    await uploadMissing(catalog, open, await begin(catalog, open.request, tokens['esx-open']));
    const handed = await postCommit(open.request.captureId);
    expect(handed.status).toBe(202);
    await handed.body?.cancel();

    small = prepareCapture({
      host: 'esx-open',
      hostKind: 'esxi',
      artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.bin', bytes: randomBytes(4096), gzip: true }],
    });
    const { res } = await beginAndSendSmall();
    expect(res.status).toBe(200);
  });

  it("the host's page lists its open captures, with a handed-off commit's job", async () => {
    const page = await hostPage();
    expect(page.openCaptures.map((c) => c.id).sort()).toEqual([open.request.captureId, small.request.captureId].sort());
    expect(page.openCaptures.find((c) => c.id === open.request.captureId)).toMatchObject({ artifactCount: 1, commitJob: { state: 'queued' } });
    expect(page.openCaptures.find((c) => c.id === small.request.captureId)).toMatchObject({ artifactCount: 1, commitJob: null });
    expect(page.captures.map((c) => c.id)).toEqual([committed.id]);
  });

  describe('who may drop', () => {
    it('no token 401; the host’s own collector, another host’s, an operator: 403; not an id: 400 — and nothing changes', async () => {
      expect((await drop(open.request.captureId, '')).status).toBe(401);
      for (const token of [tokens['esx-open'], tokens['esx-other'], operator]) {
        const res = await drop(open.request.captureId, token);
        expect(res.status).toBe(403);
        expect(await res.json()).toMatchObject({ error: { code: 'forbidden', message: expect.any(String) } });
      }
      const bad = await drop('not-a-capture');
      expect(bad.status).toBe(400);
      expect((await hostPage()).openCaptures).toHaveLength(2);
    });
  });

  it('a committed capture is 409 and stays whole; an unknown one is 404', async () => {
    const res = await drop(committed.id);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: { code: 'conflict', message: expect.stringContaining('committed') } });
    const content = await catalog.request(`/v1/artifacts/${committed.artifactId}/content`, { token: operator });
    expect(sha256Hex(new Uint8Array(await content.arrayBuffer()))).toBe(committed.sha);
    expect((await drop('0190b5a0-0000-7000-8000-00000000abcd')).status).toBe(404);
  });

  it('a capture a worker is committing under its lease is 409', async () => {
    const { db } = catalog.services;
    const later = new Date(catalog.services.now().getTime() + 3600_000);
    await db.update(commitJobs).set({ state: 'running', runner: 'elsewhere', leaseUntil: later }).where(eq(commitJobs.captureId, open.request.captureId));
    const res = await drop(open.request.captureId);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: { code: 'conflict', message: expect.stringContaining('worker') } });
    await db.update(commitJobs).set({ state: 'queued', runner: null, leaseUntil: null }).where(eq(commitJobs.captureId, open.request.captureId));
  });

  it('an admin drops both: rows, records, job and staging go; the audit names it; again is 404', async () => {
    const { db } = catalog.services;
    expect(await staged(open.request.captureId)).not.toEqual([]);
    const a = await drop(open.request.captureId);
    expect(a.status).toBe(200);
    expect(await a.json()).toEqual({ captureId: open.request.captureId, host: 'esx-open', dropped: true, chunkRecords: 0 });
    const b = await drop(small.request.captureId);
    expect(b.status).toBe(200);
    expect(((await b.json()) as { chunkRecords: number }).chunkRecords).toBe(small.stored.size);

    expect((await hostPage()).openCaptures).toEqual([]);
    for (const id of [open.request.captureId, small.request.captureId]) {
      expect(await db.select().from(captures).where(eq(captures.id, id))).toEqual([]);
      expect(await db.select().from(captureChunks).where(eq(captureChunks.captureId, id))).toEqual([]);
      expect(await db.select().from(commitJobs).where(eq(commitJobs.captureId, id))).toEqual([]);
      expect(await staged(id)).toEqual([]);
      expect((await drop(id)).status).toBe(404);
    }
    const rows = await db.select().from(audit).where(eq(audit.action, 'drop-capture'));
    expect(rows.map((r) => r.subject).sort()).toEqual([open.request.captureId, small.request.captureId].sort());
    // A commit of a dropped capture finds nothing to commit.
    expect((await postCommit(open.request.captureId)).status).toBe(404);
  });

  it('the collector begins a dropped capture again and commits it byte for byte', async () => {
    const { answer, res } = await beginAndSendSmall();
    // The chunks the dropped capture published rest in the store, but no committed capture of the
    // host holds them: begin hands them out again, and the batch finds each key taken, checks it and records it.
    expect(answer.missing).toHaveLength(small.stored.size);
    expect(res.status).toBe(200);
    const done = await commit(catalog, small.request.captureId, tokens['esx-open']);
    const content = await catalog.request(`/v1/artifacts/${done.artifacts[0].id}/content`, { token: operator });
    expect(sha256Hex(new Uint8Array(await content.arrayBuffer()))).toBe(small.request.artifacts[0].sha256);
  });
});
