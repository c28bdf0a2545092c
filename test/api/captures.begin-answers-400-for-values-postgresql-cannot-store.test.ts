/**
 * A begin whose values pass the request's shape but that PostgreSQL cannot store is answered
 * 400 in the one error shape, naming the field, never a 500 (which a collector retries for
 * hours before it gives up on the capture): a collection time before year 1 once converted to
 * UTC (`0000-…`, or `0001-01-01T00:00:00+01:00`: PostgreSQL has no year 0), and text holding
 * half of a UTF-16 surrogate pair (JSON can carry `\ud800`, UTF-8 and jsonb cannot) in any
 * field the capture keeps — not only the file name, which was already checked.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BeginRequest } from '../../formats/protocol.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { collectorTokens, prepareCapture } from '../helpers/ingest-client.js';

describeEachFlavour('captures: begin answers 400 for values PostgreSQL cannot store', (flavour) => {
  let catalog: TestCatalog;
  let token: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    token = (await collectorTokens(catalog, ['esx-odd']))['esx-odd'];
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const request = (change: (r: BeginRequest) => void): BeginRequest => {
    const r = prepareCapture({ host: 'esx-odd', artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.tgz', bytes: new Uint8Array(100).fill(7) }] }).request;
    change(r);
    return r;
  };
  const begin = async (r: BeginRequest) => {
    const res = await catalog.request('/v1/captures', {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(r),
    });
    return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
  };

  it('refuses a collection time before year 1 in UTC, and takes year 1', async () => {
    for (const at of ['0000-06-01T00:00:00Z', '0001-01-01T00:00:00+01:00']) {
      const { status, body } = await begin(request((r) => (r.collectedAt = at)));
      expect(status, JSON.stringify(body)).toBe(400);
      expect(body.error).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/collectedAt/) });
    }
    const { status, body } = await begin(request((r) => (r.collectedAt = '0001-01-01T00:00:00Z')));
    expect(status, JSON.stringify(body)).toBe(200);
  });

  it('refuses half a surrogate pair in the source path, device, system UUID and collector version, naming the field', async () => {
    const cases: Array<[string, (r: BeginRequest) => void]> = [
      ['sourcePath', (r) => (r.artifacts[0].sourcePath = '/vmfs/volumes/\ud800x')],
      ['device', (r) => (r.artifacts[0].device = 'naa.\udc00')],
      ['systemUuid', (r) => (r.host.systemUuid = '\udbff')],
      ['collector.version', (r) => (r.collector.version = '1.0-\ud800')],
    ];
    for (const [field, change] of cases) {
      const { status, body } = await begin(request(change));
      expect(status, `${field}: ${JSON.stringify(body)}`).toBe(400);
      expect(body.error).toMatchObject({ code: 'bad_request', message: expect.stringContaining(field) });
    }
    // A whole pair is text like any other.
    const { status, body } = await begin(request((r) => (r.artifacts[0].sourcePath = '/vmfs/volumes/\ud83d\udcbe')));
    expect(status, JSON.stringify(body)).toBe(200);
  });
});
