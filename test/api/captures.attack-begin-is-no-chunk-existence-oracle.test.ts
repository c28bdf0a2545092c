/**
 * Attack: host A's collector token names host B's chunk hashes in a begin. It used to be
 * told they were present, and could commit a capture built from B's bytes it never had.
 * Dedup is now scoped per host: a chunk counts as present for a host only when one of that
 * host's committed captures holds it, so A is asked to upload B's chunks like any other,
 * its commit without them is refused with the same words as for a chunk no one has, and
 * only bytes that really are the chunk commit (publishing then leaves B's object alone).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chunkKey } from '../../api/store/types.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, ingest, prepareCapture, putChunk, sha256Hex, uploadMissing } from '../helpers/ingest-client.js';

describeEachFlavour('attack: begin is no chunk-existence oracle', (flavour) => {
  let catalog: TestCatalog;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    for (const host of ['host-a', 'host-b']) {
      const res = await catalog.request('/v1/tokens', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'collector', host, name: host }),
      });
      tokens[host] = ((await res.json()) as { token: string }).token;
    }
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('another host\'s chunk is "missing" for A, exactly like one no one has', async () => {
    const secretOfB = randomBytes(5000);
    const nobodys = randomBytes(5000);
    await ingest(catalog, { host: 'host-b', token: tokens['host-b'], artifacts: [{ kind: 'vmfs-undelete', fileName: 'b.tgz', bytes: secretOfB }] });
    const before = await catalog.services.store.getBytes(chunkKey(sha256Hex(secretOfB)));

    const probe = prepareCapture({
      host: 'host-a',
      artifacts: [
        { kind: 'vmfs-undelete', fileName: 'guess.tgz', bytes: secretOfB },
        { kind: 'vmfs-undelete', fileName: 'none.tgz', bytes: nobodys },
      ],
    });
    const answer = await begin(catalog, probe.request, tokens['host-a']);
    expect(answer.present).toEqual([]);
    expect(answer.missing.map((m) => m.sha256).sort()).toEqual([sha256Hex(secretOfB), sha256Hex(nobodys)].sort());

    // A commit without the bytes is refused, with one message shape for both chunks.
    const refused = await commit(catalog, probe.request.captureId, tokens['host-a']).catch((e) => e);
    expect(refused).toMatchObject({ status: 422 });
    const problems = (refused.body.error.details as { chunks: Array<{ sha256: string; reason: string; message: string }> }).chunks;
    const shape = (p: { sha256: string; reason: string; message: string }) => ({ reason: p.reason, message: p.message.replace(p.sha256, 'X') });
    expect(problems).toHaveLength(2);
    expect(shape(problems[0])).toEqual(shape(problems[1]));

    // Wrong bytes for B's chunk do not commit and do not touch B's object.
    const fake = new Uint8Array(secretOfB.length);
    const target = answer.missing.find((m) => m.sha256 === sha256Hex(secretOfB))!;
    // The URL binds the declared bytes, so the store refuses others outright.
    const put = await putChunk(catalog, target, fake);
    expect(put.status).toBeGreaterThanOrEqual(400);
    expect(put.status).toBeLessThan(500);

    // With the real bytes A may commit; publishing leaves B's object as it was.
    await uploadMissing(catalog, probe, answer);
    const done = await commit(catalog, probe.request.captureId, tokens['host-a']);
    expect(done.state).toBe('committed');
    expect(Buffer.from((await catalog.services.store.getBytes(chunkKey(sha256Hex(secretOfB))))!).equals(Buffer.from(before!))).toBe(true);

    // Having uploaded it, A now holds the chunk: its next capture of those bytes uploads nothing.
    const next = prepareCapture({ host: 'host-a', artifacts: [{ kind: 'vmfs-undelete', fileName: 'guess.tgz', bytes: secretOfB }] });
    const nextAnswer = await begin(catalog, next.request, tokens['host-a']);
    expect(nextAnswer.missing).toEqual([]);
  });
});
