/**
 * PUBLIC_URL with a path: a signed-out request for a console page is sent to the sign-in page
 * under that path, once. `/hosts`, `/events` and `/tokens` are matched by two of the console's
 * route patterns (`/hosts` and `/hosts/*`), and each prefixed the redirect, so a bookmark of the
 * events page, or any of the three after the session's 4 idle hours, went to
 * `/vmfs-catalog/vmfs-catalog/sign-in?next=%2Fevents`: a 404 at the proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

const PREFIX = '/vmfs-catalog';

describe('a signed-out console page under a PUBLIC_URL path', () => {
  let catalog: TestCatalog;

  beforeAll(async () => {
    catalog = await startTestCatalog('embedded', { env: { PUBLIC_URL: `http://proxy.example${PREFIX}` } });
  }, 120_000);

  afterAll(async () => {
    await catalog?.close();
  });

  it.each(['/', '/hosts', '/hosts/esx01', '/events', '/tokens', '/volumes/5a1c3e07-2b4d6e80-91a2-0050569a1b2c', '/search?q=prod'])(
    '%s redirects to the sign-in page under the path once',
    async (path) => {
      const res = await catalog.request(path, { token: null, redirect: 'manual' });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe(`${PREFIX}/sign-in?next=${encodeURIComponent(path)}`);
    },
  );
});
