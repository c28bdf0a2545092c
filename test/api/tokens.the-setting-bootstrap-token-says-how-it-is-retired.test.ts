/**
 * The first admin token given as a setting (CATALOG_BOOTSTRAP_TOKEN: the AWS deployment's
 * BootstrapTokenSecret, the compose file's) is no token the catalog keeps, so README's "create
 * your own admin token with it, then revoke it" met `404 no token bootstrap` and the token
 * stayed valid. Revoking it now answers 409 with the way it is retired (unset the setting; on
 * AWS `-c bootstrapToken=false`); the cdk test checks that deploy leaves it out.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

describeEachFlavour('tokens: the bootstrap token of CATALOG_BOOTSTRAP_TOKEN', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('answers a revocation with 409 and how to retire it; it still works until then', async () => {
    const res = await catalog.request('/v1/tokens/bootstrap', { method: 'DELETE' });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status, JSON.stringify(body)).toBe(409);
    expect(body.error.code).toBe('conflict');
    expect(body.error.message).toContain('the bootstrap admin token is the CATALOG_BOOTSTRAP_TOKEN setting');
    expect(body.error.message).toContain('-c bootstrapToken=false');
    expect((await catalog.request('/v1/tokens')).status).toBe(200);
    // Any other unknown id is still simply not found.
    expect((await catalog.request('/v1/tokens/00000000-0000-0000-0000-000000000000', { method: 'DELETE' })).status).toBe(404);
  });
});
