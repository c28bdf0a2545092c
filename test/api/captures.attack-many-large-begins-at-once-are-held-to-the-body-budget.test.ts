/**
 * Each route's limit bounds one request's body, not how many are read at once: one collector
 * token's 40 begins sent together, each a 60 KiB gzip that inflates to 60 MiB of blanks in a
 * field the catalog ignores (a handful of JSON values, so the value count lets it through),
 * took the catalog's process to 3.1 GB (120 of them: 8.3 GB, and /healthz unanswered for
 * minutes) from 2.4 MB sent. Bodies are now read within a budget of BODY_BUDGET_BYTES for the
 * process and a quarter of it for one token (api/ingest/body-budget.ts): what does not fit is a
 * 503 with Retry-After, which a collector takes for "try later", and another host's begin is
 * answered meanwhile. Over a real socket, both flavours; the catalog runs in this process, so
 * its memory is this process's.
 */
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BODY_BUDGET_PER_TOKEN_BYTES } from '../../api/ingest/body-budget.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, prepareCapture } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;
const SENT_AT_ONCE = 40;

describeEachFlavour('captures: many large begins at once are held to the body budget', (flavour) => {
  let catalog: TestCatalog;
  let tokens: Record<string, string>;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    tokens = await collectorTokens(catalog, ['esx-flood', 'esx-victim']);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  /** A begin of `host` padded with `blanks` MiB of blanks inside its host object, gzipped. */
  function paddedBegin(host: string, blanks: number): Buffer {
    const { request: body } = prepareCapture({ host, artifacts: [] });
    const text = JSON.stringify(body).replace('"host":{', '"host":{"note":"x",');
    const at = text.indexOf('"note"');
    return gzipSync(Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.alloc(blanks * MiB, 0x20), Buffer.from(text.slice(at))]));
  }

  function post(body: Buffer, token: string): Promise<{ status: number; retryAfter?: string; code?: string }> {
    const url = new URL(catalog.url);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/v1/captures',
          method: 'POST',
          agent: false,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(body.length) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => {
            const code = text.startsWith('{"error"') ? JSON.parse(text).error.code : undefined;
            resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, code });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  it("answers a token's 40 begins of 60 MiB each within the budget, 503 for what does not fit, and another host's begin meanwhile", async () => {
    const body = paddedBegin('esx-flood', 60);
    expect(body.length).toBeLessThan(100 * 1024);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    try {
      const flood = Array.from({ length: SENT_AT_ONCE }, () => post(body, tokens['esx-flood']));
      const victim = prepareCapture({ host: 'esx-victim', artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.tgz', bytes: new Uint8Array(300).fill(3) }] });
      expect(await begin(catalog, victim.request, tokens['esx-victim'])).toMatchObject({ state: 'open' });
      const answers = await Promise.all(flood);
      const taken = answers.filter((a) => a.status === 200);
      const refused = answers.filter((a) => a.status === 503);
      // Every answer is one of the two; a 503 says when to come back.
      expect(taken.length + refused.length, JSON.stringify(answers)).toBe(SENT_AT_ONCE);
      for (const a of refused) expect(a).toMatchObject({ code: 'service_unavailable', retryAfter: expect.stringMatching(/^\d+$/) });
      // One token's share holds one such body at a time: most were refused, not read.
      expect(refused.length).toBeGreaterThanOrEqual(SENT_AT_ONCE / 2);
    } finally {
      clearInterval(sampler);
    }
    const grew = peak - before;
    console.log(`process memory grew by ${Math.round(grew / MiB)} MiB during the flood (share of one token: ${BODY_BUDGET_PER_TOKEN_BYTES / MiB} MiB)`);
    // Before the budget: every body inflated and read at once, about 3 GB.
    expect(grew).toBeLessThan(1024 * MiB);
  }, 120_000);

  it('still takes one such begin on its own, and the budget is all given back', async () => {
    expect((await post(paddedBegin('esx-flood', 60), tokens['esx-flood'])).status).toBe(200);
  }, 60_000);
});
