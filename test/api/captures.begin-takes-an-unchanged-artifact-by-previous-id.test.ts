/**
 * A begin may declare an artifact by `previous` — the id of one the same host committed with
 * the same kind, file name, source path, device, size and SHA-256 — instead of its chunk list
 * (api/ingest/begin.ts resolvePrevious). The catalog takes that artifact's chunks: the
 * capture is the one a full declaration makes (a repeat may switch between the two forms),
 * and its commit reads nothing. An unknown id, another host's artifact, or any field that
 * differs are all one and the same 422, and nothing is recorded; the full declaration then
 * goes. `Prefer: return=minimal` leaves `present` out of the answer; without it the answer
 * is as before.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import type { BeginBody, BeginRequest, BeginResponse } from '../../formats/protocol.js';
import { queryRows } from '../../db/client.js';
import { lunHeader, referencing } from './previous-id-capture.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, ingest, prepareCapture, uuidv7 } from '../helpers/ingest-client.js';

describeEachFlavour('begin takes an unchanged artifact by its previous id', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const artifacts = [lunHeader(1, 1), lunHeader(2, 2)];

  /** POST /v1/captures with a body as given; the raw answer. */
  const post = (body: BeginBody, prefer?: string) =>
    catalog.request('/v1/captures', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(prefer ? { prefer } : {}) },
      body: JSON.stringify(body),
    });
  const storedRequest = async (captureId: string) =>
    (await queryRows<{ request: BeginRequest | string }>(catalog.services.db, sql`SELECT request FROM captures WHERE id = ${captureId}`))[0]?.request;

  it('resolves the host’s own committed artifacts into their chunk lists, and the commit reads nothing', async () => {
    const first = await ingest(catalog, { host: 'esx-prev', artifacts });
    const ids = first.artifacts.map((a) => a.id);
    const { request } = prepareCapture({ host: 'esx-prev', artifacts });
    const body = referencing(request, ids);
    const res = await post(body, 'return=minimal');
    expect(res.status).toBe(200);
    const answer = (await res.json()) as BeginResponse;
    expect(answer).toEqual({ captureId: body.captureId, state: 'open', missing: [] });
    // The capture recorded is the full declaration.
    const stored = await storedRequest(body.captureId);
    const recorded = (typeof stored === 'string' ? JSON.parse(stored) : stored) as BeginRequest;
    expect(recorded.artifacts.map((a) => a.chunks.map((c) => [c.sha256, c.size]))).toEqual(
      request.artifacts.map((a) => a.chunks.map((c) => [c.sha256, c.size])),
    );
    // A repeat in either form is the same capture.
    expect((await post(body, 'return=minimal')).status).toBe(200);
    const full = await begin(catalog, { ...request, captureId: body.captureId });
    expect(full.missing).toEqual([]);
    expect(full.present?.length).toBeGreaterThan(0);

    const reads = { n: 0 };
    const store = catalog.services.store as unknown as Record<string, (...a: unknown[]) => unknown>;
    const getBytes = store.getBytes;
    store.getBytes = (...a: unknown[]) => {
      reads.n++;
      return getBytes.apply(catalog.services.store, a);
    };
    try {
      const done = await commit(catalog, body.captureId);
      expect(done.artifacts.map((a) => a.found)).toEqual(first.artifacts.map((a) => a.found));
      expect(done.artifacts.map((a) => a.parseStatus)).toEqual(['ok', 'ok']);
    } finally {
      store.getBytes = getBytes;
    }
    expect(reads.n).toBe(0);

    // A mix: one by reference, one by chunk list.
    const mixed = referencing(request, [ids[0], null]);
    expect((await post(mixed)).status).toBe(200);
    expect((await commit(catalog, mixed.captureId)).state).toBe('committed');
  });

  it('answers the same 422 for an unknown id, another host’s artifact and any field that differs, and records nothing', async () => {
    const mine = await ingest(catalog, { host: 'esx-prev2', artifacts });
    const theirs = await ingest(catalog, { host: 'esx-theirs', artifacts });
    const { request } = prepareCapture({ host: 'esx-prev2', artifacts });
    const own = mine.artifacts[0].id;
    const cases: Array<[string, BeginBody]> = [
      ['unknown id', referencing(request, ['0193a000-0000-7000-8000-000000000000', null])],
      ['another host’s artifact', referencing(request, [theirs.artifacts[0].id, null])],
      ['another artifact of this host', referencing(request, [mine.artifacts[1].id, null])],
    ];
    for (const field of ['fileName', 'sourcePath', 'device', 'sha256', 'size', 'kind'] as const) {
      const body = referencing(request, [own, null]);
      const a = body.artifacts[0] as unknown as Record<string, unknown>;
      a[field] = field === 'size' ? (a.size as number) - 1 : field === 'sha256' ? 'f'.repeat(64) : field === 'kind' ? 'vh-sf' : `${a[field]}x`;
      cases.push([`another ${field}`, body]);
    }
    const answers = new Set<string>();
    for (const [what, body] of cases) {
      const res = await post(body);
      expect(res.status, what).toBe(422);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      answers.add(JSON.stringify([error.code, error.message]));
      expect(await storedRequest(body.captureId), what).toBeUndefined();
    }
    expect([...answers]).toHaveLength(1);
    expect([...answers][0]).toMatch(/artifact 0: .*declare its chunks/);
  });

  it('refuses an artifact with both or neither of chunks and previous (400)', async () => {
    const { request } = prepareCapture({ host: 'esx-prev3', artifacts: [artifacts[0]] });
    const both = { ...request, artifacts: [{ ...request.artifacts[0], previous: uuidv7() }] };
    const { chunks: _, ...bare } = request.artifacts[0];
    const neither = { ...request, captureId: uuidv7(), artifacts: [bare] };
    for (const body of [both, neither]) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/either chunks or previous/);
    }
  });
});
