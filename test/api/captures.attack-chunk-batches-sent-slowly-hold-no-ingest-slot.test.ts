/**
 * At most INGEST_IN_FLIGHT begins, commits and chunk batches run at once (api/ingest/admission.ts),
 * and a chunk batch entered that gate before its body was read: one collector token that opened
 * 16 batches and sent their bodies a few bytes at a time (Node's server waits 5 minutes for a
 * request's body) held every slot, so every other host's begin waited INGEST_WAIT_MS in the queue
 * and was answered 503, its collector spooling, for as long as the token kept it up. A batch's
 * body is now read before it enters the gate, as a begin's is (its JSON is counted there): the
 * slow bodies hold sockets, not slots. Over a real socket, both flavours.
 */
import { request, type ClientRequest } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { admissionOf, INGEST_IN_FLIGHT } from '../../api/ingest/admission.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, prepareCapture, uuidv7 } from '../helpers/ingest-client.js';

describeEachFlavour('captures: chunk batches sent slowly hold no ingest slot', (flavour) => {
  let catalog: TestCatalog;
  let tokens: Record<string, string>;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    tokens = await collectorTokens(catalog, ['esx-slow', 'esx-victim']);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it("another host's begin is answered while a token's batches trickle in", async () => {
    const url = new URL(catalog.url);
    const slow: ClientRequest[] = [];
    const answered: number[] = [];
    for (let i = 0; i < INGEST_IN_FLIGHT; i++) {
      const req = request({
        host: url.hostname,
        port: url.port,
        path: `/v1/captures/${uuidv7()}/chunks`,
        method: 'PUT',
        agent: false,
        headers: { authorization: `Bearer ${tokens['esx-slow']}`, 'content-type': 'application/octet-stream', 'content-length': String(1024 * 1024) },
      });
      req.on('response', (res) => {
        answered.push(res.statusCode ?? 0);
        res.resume();
      });
      req.on('error', () => {});
      req.write(Buffer.alloc(64));
      slow.push(req);
    }
    try {
      // Before the fix the batches take every slot as soon as their headers are in; wait for that,
      // or a while for the server to have read them all when they take none.
      const gate = admissionOf(catalog.services);
      for (let waited = 0; gate.load.running < INGEST_IN_FLIGHT && waited < 3000; waited += 50) await new Promise((r) => setTimeout(r, 50));

      const p = prepareCapture({ host: 'esx-victim', artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.tgz', bytes: new Uint8Array(200).fill(7) }] });
      const answer = await begin(catalog, p.request, tokens['esx-victim']).catch((e: unknown) => e);
      expect(answer).toMatchObject({ captureId: p.request.captureId.toLowerCase(), state: 'open' });
      // The slow batches are still waiting for their bodies, unanswered.
      expect(answered).toEqual([]);
    } finally {
      for (const req of slow) req.destroy();
    }
  }, 90_000);
});
