/**
 * A JSON route sent a body of another media type (a form, as `curl -d` sends it, or a body
 * without a Content-Type) answers 415 with the code the taxonomy maps to 415,
 * `unsupported_media_type`, and says what to send — it answered 415 with the code
 * `bad_request` (400's) and the bare message "Unsupported Media Type", so a client reading
 * the code took it for a request it had built wrong.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

describeEachFlavour('errors: a body that is not JSON', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it.each([
    ['a form', { 'content-type': 'application/x-www-form-urlencoded' }, 'application/x-www-form-urlencoded'],
    ['text', { 'content-type': 'text/plain;charset=UTF-8' }, 'text/plain;charset=UTF-8'],
  ])('POST /v1/tokens with %s is 415 unsupported_media_type naming application/json', async (_what, headers, sent) => {
    const res = await catalog.request('/v1/tokens', { method: 'POST', headers, body: 'role=operator&name=night' });
    expect(res.status).toBe(415);
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe('unsupported_media_type');
    expect(body.error.message).toContain('Content-Type: application/json');
    expect(body.error.message).toContain(sent);
    expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
  });
});
