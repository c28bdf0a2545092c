/**
 * A chunk-corrupt event (raised by the scrub, which sets the damaged copy aside) is resolved
 * once the chunk rests whole under its key again, and only on bytes the catalog verified:
 * the next capture of the host holding the good bytes uploads them (the commit verifies and
 * publishes them), or a later scrub reads the chunk back whole. Another host's collector
 * naming the chunk, with bytes that do not hash to it or with none, resolves nothing, and may
 * not acknowledge the event. Raising and resolving are both queued for webhooks; a chunk
 * corrupt again after its event was resolved raises a new one.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queryRows } from '../../db/client.js';
import { chunkKey } from '../../api/store/types.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, ingest, IngestHttpError, prepareCapture, putChunk, sha256Hex } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;

interface EventRow {
  id: number;
  type: string;
  artifactId: string;
  resolvedAt: string | null;
}

describeEachFlavour('chunk-corrupt resolved once the chunk is whole again', (flavour) => {
  let catalog: TestCatalog;
  let tokens: Record<string, string>;
  let artifactId: string;
  const bytes = randomBytes(2 * MiB + 100);
  const chunkA = bytes.subarray(0, MiB);
  const chunkB = bytes.subarray(MiB, 2 * MiB);
  const shaA = sha256Hex(chunkA);
  const shaB = sha256Hex(chunkB);
  const artifact = { kind: 'unknown' as const, fileName: 'u.bin', bytes };

  beforeAll(async () => {
    // Deliveries to a closed port fail and stay in the outbox, which is what is looked at.
    catalog = await startTestCatalog(flavour, { env: { WEBHOOK_URL: 'http://127.0.0.1:9/hook' } });
    tokens = await collectorTokens(catalog, ['esx-good', 'esx-evil']);
    artifactId = (await ingest(catalog, { host: 'esx-good', token: tokens['esx-good'], artifacts: [artifact] })).artifacts[0].id;
  }, 60_000);
  afterAll(async () => {
    await catalog?.close();
  });

  const scrub = async () => (await catalog.request('/v1/admin/check?read_data_subset=100', { method: 'POST' })).json();
  const eventsOf = async (sha: string): Promise<EventRow[]> => {
    const rows = await queryRows<{ id: number | string }>(
      catalog.services.db,
      sql`SELECT id FROM events WHERE type = 'chunk-corrupt' AND details->>'sha256' = ${sha} ORDER BY id`,
    );
    const all = (await (await catalog.request('/v1/events?type=chunk-corrupt&limit=100')).json()) as { events: EventRow[] };
    return rows.map((r) => all.events.find((e) => e.id === Number(r.id))!);
  };
  const webhooks = async (type: string, id: number) =>
    (await queryRows<{ body: string }>(catalog.services.db, sql`SELECT body FROM webhook_outbox WHERE event_id = ${id}`)).filter(
      (r) => (JSON.parse(r.body) as { type: string }).type === type,
    ).length;
  const corrupt = async (sha: string, good: Uint8Array) => {
    const bad = new Uint8Array(good);
    bad[7] ^= 0xff;
    await catalog.services.store.put(chunkKey(sha), bad);
  };

  it('another host naming the chunk resolves nothing; the next capture of the good bytes resolves it', async () => {
    await corrupt(shaA, chunkA);
    expect((await scrub()).scrub.corrupt.map((c: { sha256: string }) => c.sha256)).toEqual([shaA]);
    const [raised] = await eventsOf(shaA);
    expect(raised).toMatchObject({ artifactId, resolvedAt: null });
    expect(await webhooks('event.raised', raised.id)).toBe(1);

    // A collector token of another host: bytes that do not hash to the chunk are refused, and
    // naming the chunk without uploading it is "never uploaded". The event stays open.
    const evil = prepareCapture({ host: 'esx-evil', artifacts: [artifact] });
    const answer = await begin(catalog, evil.request, tokens['esx-evil']);
    const target = answer.missing.find((m) => m.sha256 === shaA)!;
    const forged = new Uint8Array(chunkA);
    forged[0] ^= 1;
    await putChunk(catalog, target, forged);
    await expect(commit(catalog, evil.request.captureId, tokens['esx-evil'])).rejects.toBeInstanceOf(IngestHttpError);
    const bare = prepareCapture({ host: 'esx-evil', artifacts: [artifact] });
    await begin(catalog, bare.request, tokens['esx-evil']);
    await expect(commit(catalog, bare.request.captureId, tokens['esx-evil'])).rejects.toThrow(`chunk ${shaA} was never uploaded`);
    const ack = await catalog.request(`/v1/events/${raised.id}/ack`, {
      method: 'POST',
      token: tokens['esx-evil'],
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ note: 'fine' }),
    });
    expect(ack.status).toBe(403);
    expect((await eventsOf(shaA))[0].resolvedAt).toBeNull();

    // The host holding the good bytes: its next capture uploads them, the commit verifies them.
    await ingest(catalog, { host: 'esx-good', token: tokens['esx-good'], artifacts: [artifact] });
    const [resolved] = await eventsOf(shaA);
    expect(resolved.resolvedAt).not.toBeNull();
    expect(await webhooks('event.resolved', raised.id)).toBe(1);
    const open = (await (await catalog.request('/v1/events?type=chunk-corrupt&status=open')).json()) as { events: EventRow[] };
    expect(open.events).toEqual([]);
  });

  it('a scrub that reads the chunk whole again resolves it; one still reading it damaged does not', async () => {
    // Both of esx-good's captures name the chunk now: one event for the host's artifacts on no
    // volume, naming the newest and listing both.
    await corrupt(shaB, chunkB);
    await scrub();
    const [raised] = await eventsOf(shaB);
    expect((await eventsOf(shaB)).map((e) => e.resolvedAt)).toEqual([null]);
    const [row] = await queryRows<{ message: string; details: { artifactCount: number; artifacts: string[] } }>(
      catalog.services.db,
      sql`SELECT message, details FROM events WHERE id = ${raised.id}`,
    );
    expect(row.message).toContain('(and 1 other artifact holding it)');
    expect(row.details.artifactCount).toBe(2);
    expect(row.details.artifacts).toHaveLength(2);
    // Damaged bytes put back under its key: corrupt again, the open events are not repeated.
    await corrupt(shaB, chunkB);
    expect((await scrub()).scrub.corrupt.map((c: { sha256: string }) => c.sha256)).toEqual([shaB]);
    expect((await eventsOf(shaB)).map((e) => e.resolvedAt)).toEqual([null]);
    // The good bytes put back (say, from a copy of the bucket): the next scrub reads them whole.
    await catalog.services.store.put(chunkKey(shaB), chunkB);
    await scrub();
    const resolved = await eventsOf(shaB);
    expect(resolved.map((e) => e.resolvedAt !== null)).toEqual([true]);
    for (const e of resolved) expect(await webhooks('event.resolved', e.id)).toBe(1);
  });

  it('a chunk corrupt again after its event was resolved raises a new one', async () => {
    await corrupt(shaA, chunkA);
    await scrub();
    // The resolved one stays resolved; one new open event for the host's artifacts naming the chunk.
    const events = await eventsOf(shaA);
    expect(events.map((e) => e.resolvedAt === null)).toEqual([false, true]);
  });
});
