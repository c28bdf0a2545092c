/**
 * A console error page the catalog answers without reading the session (a 503 with the
 * database out of reach, a 500) said 'signed in as nobody' in its footer, to a user who was
 * signed in a moment before and still is: the catalog could not tell, and claimed it knew. Such
 * a page now says nothing of who is signed in; a page that read the session still says the
 * role, and one without a session 'not signed in'. Over HTTP with a console session, no browser.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog, withDatabaseFailing } from '../helpers/catalog.js';

const VOLUME = '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c';

describeEachFlavour('the footer of an error page', (flavour) => {
  let catalog: TestCatalog;
  let cookie: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    const signIn = await catalog.request('/sign-in', { method: 'POST', token: null, body: new URLSearchParams({ token: catalog.adminToken, next: '/' }) });
    expect(signIn.status).toBe(303);
    cookie = signIn.headers.get('set-cookie')!.split(';')[0];
  });
  afterAll(async () => catalog?.close());

  /** The status and footer text (tags dropped) of a console page asked with the session cookie, or without. */
  async function footerOf(path: string, withSession = true): Promise<[number, string]> {
    const res = await catalog.request(path, { token: null, headers: { accept: 'text/html', ...(withSession ? { cookie } : {}) } });
    const footer = /<footer>([\s\S]*?)<\/footer>/.exec(await res.text());
    return [res.status, footer ? footer[1].replace(/<[^>]+>/g, '').trim() : 'no footer'];
  }

  it('says nothing of who is signed in when the database is out of reach, or the page failed', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(await withDatabaseFailing(catalog, refused, () => footerOf(`/volumes/${VOLUME}`))).toEqual([503, 'VMFS Recovery Catalog · times in UTC · API']);
    expect(await withDatabaseFailing(catalog, new Error('something unexpected'), () => footerOf('/hosts'))).toEqual([
      500,
      'VMFS Recovery Catalog · times in UTC · API',
    ]);
  });

  it('says the role of a session it read, and a page without one says not signed in', async () => {
    expect(await footerOf('/no-such-page')).toEqual([404, 'VMFS Recovery Catalog · signed in as admin · times in UTC · API']);
    expect(await footerOf('/sign-in', false)).toEqual([200, 'VMFS Recovery Catalog · not signed in · times in UTC · API']);
  });
});
