/**
 * A collector token created on the tokens page is shown with the configuration file that
 * holds it and the way to schedule the collector from that file — never inside a command
 * line. The page offered `CATALOG_URL=… CATALOG_TOKEN=vrc_… node collector.cjs collect`
 * "in the environment of its cron job", while the README and `collector cron` (which
 * refuses --token) keep the token out of a crontab, where cron's logs and mail would copy it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

let catalog: TestCatalog;
beforeAll(async () => {
  catalog = await startTestCatalog('embedded');
});
afterAll(async () => {
  await catalog?.close();
});

it('shows the secret and the config file, and schedules through collector cron', async () => {
  const signIn = await catalog.request('/sign-in', { method: 'POST', body: new URLSearchParams({ token: catalog.adminToken, next: '/' }), token: null });
  const cookie = signIn.headers.get('set-cookie')!.split(';')[0];
  const form = await (await catalog.request('/tokens', { headers: { cookie }, token: null })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form)![1];
  const res = await catalog.request('/tokens', {
    method: 'POST',
    headers: { cookie },
    body: new URLSearchParams({ _csrf: csrf, name: 'esx07', role: 'collector', host: 'esx07' }),
    token: null,
  });
  const html = await res.text();
  expect(res.status).toBe(200);
  const secret = /<pre class="secret" id="new-secret">([^<]+)<\/pre>/.exec(html)![1].trim();
  expect(secret).toMatch(/^vrc_/);
  // Once on its own, once in the configuration file's JSON: nowhere else.
  expect(html.split(secret)).toHaveLength(3);
  expect(html).toMatch(/id="collector-config">[^<]*&quot;token&quot;:&quot;vrc_/);
  expect(html).not.toContain('CATALOG_TOKEN');
  expect(html).toContain('<code>node collector.cjs cron</code>');
  expect(html).toContain('/etc/vmfs-collector.json');
});
