/**
 * An unknown path outside the API (`/login`) answered a browser with the JSON error body.
 * A request that accepts text/html now gets a 404 page in the console's frame with a link
 * to the start page; API clients, and every /v1 path, keep the JSON error shape.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
let catalog: TestCatalog;
beforeAll(async () => {
  catalog = await startTestCatalog('embedded', { listen: true });
});
afterAll(async () => {
  await catalog?.close();
});

const get = (path: string, accept?: string) => fetch(`${catalog.url}${path}`, { headers: accept ? { accept } : {} });

it('a browser asking for /login gets an HTML 404 page linking to the start page', async () => {
  const r = await get('/login', BROWSER_ACCEPT);
  expect(r.status).toBe(404);
  expect(r.headers.get('content-type')).toMatch(/^text\/html/);
  expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
  const body = await r.text();
  expect(body).toMatch(/^<!doctype html>/);
  expect(body).toContain('<title>Not found · VMFS Recovery Catalog</title>');
  expect(body).toContain('There is no page at /login.');
  expect(body).toContain('<a href="/">Back to search</a>');
});

it('an API client (JSON or no Accept) gets the JSON error for the same path', async () => {
  for (const accept of ['application/json', undefined, '*/*']) {
    const r = await get('/login', accept);
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await r.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe('not_found');
    expect(body.error.message).toBe('no route for GET /login');
    expect(body.error.requestId).toEqual(expect.any(String));
  }
});

it('an unknown /v1 path stays JSON even for a browser', async () => {
  const r = await get('/v1/nothing-here', BROWSER_ACCEPT);
  expect(r.status).toBe(404);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  expect(((await r.json()) as { error: { code: string } }).error.code).toBe('not_found');
});
