/**
 * The collector configuration the tokens page shows for a new collector token names the
 * token's host as "host" only when the scope is one host: a pattern (`esxi-*`, one token for
 * an SSH proxy's cluster) is no host name, and with it in the file every run without --ssh
 * named its capture's host "esxi-*", which begin refuses (400): each night's capture was set
 * aside as rejected (exit 65).
 *
 * And the page shows the new secret with that configuration file and the way to schedule the
 * collector from it — never inside a command line. It offered `CATALOG_URL=… CATALOG_TOKEN=vrc_…
 * node collector.cjs collect` "in the environment of its cron job", while the README and
 * `collector cron` (which refuses --token) keep the token out of a crontab, where cron's logs
 * and mail would copy it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

let catalog: TestCatalog;
let cookie: string;
let csrf: string;
beforeAll(async () => {
  catalog = await startTestCatalog('embedded');
  const signIn = await catalog.request('/sign-in', { method: 'POST', body: new URLSearchParams({ token: catalog.adminToken, next: '/' }), token: null });
  expect(signIn.status).toBe(303);
  cookie = signIn.headers.get('set-cookie')!.split(';')[0];
  const page = await (await catalog.request('/tokens', { headers: { cookie }, token: null })).text();
  csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1];
});
afterAll(async () => {
  await catalog?.close();
});

/** The tokens page answering the creation of a collector token for `host`. */
async function postCollectorToken(host: string): Promise<string> {
  const res = await catalog.request('/tokens', {
    method: 'POST',
    headers: { cookie },
    body: new URLSearchParams({ _csrf: csrf, name: `t-${host}`, role: 'collector', host }),
    token: null,
  });
  const html = await res.text();
  expect(res.status, html.slice(0, 300)).toBe(200);
  return html;
}

async function createCollectorToken(host: string): Promise<Record<string, string>> {
  const html = await postCollectorToken(host);
  const fromHtml = (s: string) => s.replace(/&quot;/g, '"').replace(/&amp;/g, '&');
  return JSON.parse(fromHtml(/<pre class="secret" id="collector-config">([^<]*)<\/pre>/.exec(html)![1])) as Record<string, string>;
}

it('names the host of a one-host token', async () => {
  const config = await createCollectorToken('esx01');
  expect(config.host).toBe('esx01');
});

it('leaves "host" out for a pattern scope', async () => {
  const config = await createCollectorToken('esxi-*');
  expect(Object.keys(config).sort()).toEqual(['catalogUrl', 'token']);
});

it('shows the secret and the config file, and schedules through collector cron', async () => {
  const html = await postCollectorToken('esx07');
  const secret = /<pre class="secret" id="new-secret">([^<]+)<\/pre>/.exec(html)![1].trim();
  expect(secret).toMatch(/^vrc_/);
  // Once on its own, once in the configuration file's JSON: nowhere else.
  expect(html.split(secret)).toHaveLength(3);
  expect(html).toMatch(/id="collector-config">[^<]*&quot;token&quot;:&quot;vrc_/);
  expect(html).not.toContain('CATALOG_TOKEN');
  expect(html).toContain('<code>node collector.cjs cron</code>');
  expect(html).toContain('/etc/vmfs-collector.json');
});
