/**
 * The console's guards, over a real socket: no session → sign-in; a collector token cannot
 * sign in; an operator gets no tokens page; a form posted from another origin, or without
 * the session's CSRF token, changes nothing; the cookie holds a random id (never the token)
 * and the database only its SHA-256; sessions end when idle too long, at sign-out and when
 * their token is revoked; the session opens only the download routes of the API.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../db/client.js';
import { PROD, tokenFor } from '../api/read-side-seed.js';
import { SESSION_IDLE_MS } from '../../api/console/session.js';
import { freshPage, noBrowser, screenAndCheck, startRig, type ConsoleRig } from './harness.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('console sessions, CSRF and roles', () => {
  let rig: ConsoleRig;
  let clock = new Date('2026-10-03T08:00:00Z');
  let url: string;
  beforeAll(async () => {
    rig = await startRig({ now: () => clock });
    url = rig.catalog.url;
  });
  afterAll(async () => rig?.close());

  const post = (path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(url + path, { method: 'POST', body: new URLSearchParams(form), headers, redirect: 'manual' });

  /** Signs in over HTTP; the cookie pair and the page's CSRF token. */
  async function session(token: string): Promise<{ cookie: string; value: string; csrf: string }> {
    const res = await post('/sign-in', { token, next: '/' });
    expect(res.status).toBe(303);
    const setCookie = res.headers.get('set-cookie')!;
    const cookie = setCookie.split(';')[0];
    const page = await (await fetch(`${url}/`, { headers: { cookie } })).text();
    return { cookie, value: cookie.split('=')[1], csrf: /name="_csrf" value="([^"]+)"/.exec(page)![1] };
  }

  it('sends a request without a session to the sign-in page, and refuses its posts', async () => {
    for (const path of ['/', `/volumes/${PROD.vmfsUuid}`, '/events', '/tokens', '/search?q=prod']) {
      const res = await fetch(url + path, { redirect: 'manual' });
      expect(res.status, path).toBe(303);
      expect(res.headers.get('location'), path).toBe(`/sign-in?next=${encodeURIComponent(path)}`);
    }
    expect((await post('/events/1/ack', { note: 'x' })).status).toBe(401);
    expect((await fetch(`${url}/v1/volumes/${PROD.vmfsUuid}/restore-bundle`)).status).toBe(401);
  });

  it('refuses a collector token at sign-in with a clear message, and an unknown one', async () => {
    const collector = await tokenFor(rig.catalog, 'collector', 'esx01');
    const res = await post('/sign-in', { token: collector, next: '/' });
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.text()).toContain('That is a collector token: it can only send captures.');
    const unknown = await post('/sign-in', { token: 'vrc_not-a-token-at-all-0000000000000', next: '/' });
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('set-cookie')).toBeNull();
  });

  it.skipIf(noBrowser !== null)('tells a browser why a collector token cannot sign in, and sets no cookie', async () => {
    const { page, context } = await freshPage(rig);
    await page.goto(`${url}/`);
    await page.fill('#token', await tokenFor(rig.catalog, 'collector', 'esx02'));
    await Promise.all([page.waitForNavigation(), page.press('#token', 'Enter')]);
    expect(await page.textContent('#sign-in-problem')).toContain('collector token');
    expect(await context.cookies()).toEqual([]);
    await screenAndCheck(page, '14-sign-in-collector-refused');
    await context.close();
  });

  it('keeps a random session id in the cookie, never the token, and only its SHA-256 in the database', async () => {
    const operator = await tokenFor(rig.catalog, 'operator');
    const res = await post('/sign-in', { token: operator, next: '/' });
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toMatch(/Secure/); // plain http on loopback
    const value = setCookie.split(';')[0].split('=')[1];
    expect(value).not.toContain(operator);
    expect(value).not.toBe(sha256(operator));
    const rows = await queryRows<Record<string, unknown>>(rig.catalog.services.db, sql`SELECT * FROM console_sessions`);
    expect(rows.map((r) => r.id_sha256)).toContain(sha256(value));
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(value);
    expect(stored).not.toContain(operator);
    expect(stored).not.toContain(sha256(operator));
    // The session id is no bearer token.
    expect((await rig.catalog.request('/v1/hosts', { token: value })).status).toBe(401);
  });

  it('sets a __Host- Secure cookie over HTTPS (behind a trusted proxy)', async () => {
    const https = await startRigTrustingProxy();
    try {
      const res = await fetch(`${https.url}/sign-in`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'x-forwarded-proto': 'https' },
        body: new URLSearchParams({ token: https.adminToken, next: '/' }),
      });
      const setCookie = res.headers.get('set-cookie')!;
      expect(setCookie).toMatch(/^__Host-vrc_session=/);
      expect(setCookie).toMatch(/Secure/);
      expect(setCookie).toMatch(/Path=\//);
    } finally {
      await https.close();
    }
  });

  it('shows an operator no tokens page and refuses its token posts', async () => {
    const s = await session(await tokenFor(rig.catalog, 'operator'));
    const page = await fetch(`${url}/tokens`, { headers: { cookie: s.cookie } });
    expect(page.status).toBe(403);
    expect(await page.text()).toContain('Tokens are managed by admins');
    const landing = await (await fetch(`${url}/`, { headers: { cookie: s.cookie } })).text();
    expect(landing).not.toContain('href="/tokens"');
    const before = await countTokens();
    expect((await post('/tokens', { _csrf: s.csrf, name: 'sneaky', role: 'admin' }, { cookie: s.cookie })).status).toBe(403);
    expect(await countTokens()).toBe(before);
  });

  it('refuses a form without the session CSRF token, with another one, or from another origin', async () => {
    const s = await session(rig.catalog.adminToken);
    const other = await session(rig.catalog.adminToken);
    const before = await countTokens();
    const form = { name: 'csrf-victim', role: 'admin' };
    expect((await post('/tokens', form, { cookie: s.cookie })).status).toBe(403);
    expect((await post('/tokens', { ...form, _csrf: other.csrf }, { cookie: s.cookie })).status).toBe(403);
    expect((await post('/tokens', { ...form, _csrf: s.csrf }, { cookie: s.cookie, origin: 'http://evil.example' })).status).toBe(403);
    expect((await post('/tokens', { ...form, _csrf: s.csrf }, { cookie: s.cookie, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post('/sign-out', {}, { cookie: s.cookie })).status).toBe(403);
    expect(await countTokens()).toBe(before);
    // The same form from the console itself works.
    expect((await post('/tokens', { ...form, _csrf: s.csrf }, { cookie: s.cookie, origin: url })).status).toBe(200);
    expect(await countTokens()).toBe(before + 1);
  });

  it.skipIf(noBrowser !== null)('refuses, in a browser, a form another origin on this host submits with the session cookie', async () => {
    const { page, context } = await freshPage(rig);
    await page.goto(`${url}/`);
    await page.fill('#token', rig.catalog.adminToken);
    await Promise.all([page.waitForNavigation(), page.press('#token', 'Enter')]);
    // Another port on the same host is the same site: the SameSite=Strict cookie goes along,
    // so the Origin check and the CSRF token are what stop it.
    const attacker = await serve(`<!doctype html><html lang="en"><head><title>Win a prize</title></head><body>
      <form id="f" method="post" action="${url}/tokens"><input name="name" value="evil"><input name="role" value="admin"></form>
      <script>document.getElementById('f').submit()</script></body></html>`);
    const before = await countTokens();
    try {
      const response = page.waitForResponse((r) => r.url() === `${url}/tokens` && r.request().method() === 'POST');
      await page.goto(attacker.url);
      expect((await response).status()).toBe(403);
      await page.waitForLoadState();
      await screenAndCheck(page, '13-cross-site-form-refused');
      expect(await countTokens()).toBe(before);
    } finally {
      attacker.server.close();
      await context.close();
    }
  });

  it('ends a session idle too long, at sign-out, and when its token is revoked; the session opens only downloads', async () => {
    const operator = await tokenFor(rig.catalog, 'operator');
    const s = await session(operator);
    const bundle = `${url}/v1/volumes/${PROD.vmfsUuid}/restore-bundle`;
    expect((await fetch(bundle, { headers: { cookie: s.cookie } })).status).toBe(200);
    expect((await fetch(`${url}/v1/volumes/${PROD.vmfsUuid}`, { headers: { cookie: s.cookie } })).status).toBe(401);

    clock = new Date(clock.getTime() + SESSION_IDLE_MS + 60_000);
    const idle = await fetch(`${url}/`, { headers: { cookie: s.cookie }, redirect: 'manual' });
    expect(idle.status).toBe(303);
    expect(idle.headers.get('location')).toBe('/sign-in?next=%2F');
    expect((await fetch(bundle, { headers: { cookie: s.cookie } })).status).toBe(401);

    const again = await session(operator);
    const out = await post('/sign-out', { _csrf: again.csrf }, { cookie: again.cookie, origin: url });
    expect(out.status).toBe(303);
    expect((await fetch(`${url}/`, { headers: { cookie: again.cookie }, redirect: 'manual' })).status).toBe(303);

    const third = await session(operator);
    const list = (await (await rig.catalog.request('/v1/tokens')).json()) as { tokens: Array<{ id: string; name: string; revokedAt: string | null }> };
    for (const t of list.tokens.filter((x) => x.name === 'operator-test' && !x.revokedAt)) {
      await rig.catalog.request(`/v1/tokens/${t.id}`, { method: 'DELETE' });
    }
    expect((await fetch(`${url}/`, { headers: { cookie: third.cookie }, redirect: 'manual' })).status).toBe(303);
  });

  it('answers unknown and malformed ids with pages, not JSON, and never a 5xx', async () => {
    const s = await session(rig.catalog.adminToken);
    const cases: Array<[string, number, string]> = [
      ['/volumes/00000000-00000000-0000-000000000000', 404, 'no volume 00000000-00000000-0000-000000000000'],
      ['/volumes/not-a-uuid', 400, 'Cannot do that'],
      ['/luns/naa.6000000000000000000000000000dead', 404, 'no device'],
      ['/hosts/nosuchhost', 404, 'No host nosuchhost'],
    ];
    for (const [path, status, text] of cases) {
      const res = await fetch(url + path, { headers: { cookie: s.cookie } });
      expect(res.status, path).toBe(status);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(await res.text(), path).toContain(text);
    }
    const bad = await post('/events/abc/ack', { _csrf: s.csrf }, { cookie: s.cookie });
    expect(bad.status).toBe(400);
    const control = await post('/events/1/ack', { _csrf: s.csrf, note: 'a\u0000b' }, { cookie: s.cookie });
    expect(control.status).toBe(400);
  });

  async function countTokens(): Promise<number> {
    const [row] = await queryRows<{ n: number }>(rig.catalog.services.db, sql`SELECT count(*)::int AS n FROM tokens`);
    return Number(row.n);
  }
});

async function serve(html: string): Promise<{ server: Server; url: string }> {
  const server = createServer((_, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

async function startRigTrustingProxy() {
  const { startTestCatalog } = await import('../helpers/catalog.js');
  return startTestCatalog('embedded', { listen: true, env: { TRUST_PROXY: 'true' } });
}
