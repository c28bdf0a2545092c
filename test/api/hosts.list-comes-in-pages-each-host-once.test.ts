/**
 * GET /v1/hosts answered every host in one answer, and the console's hosts page drew them all:
 * a catalog of thousands of hosts (a wildcard token's invented ones among them) was one query,
 * one answer and one page as large. Now a page holds `limit` hosts by name (DEFAULT_HOST_LIMIT,
 * at most MAX_HOST_LIMIT), and `nextAfter` names the host the next page starts after (`after`),
 * as the events' `before` does: walked page by page, every host comes exactly once, one brought
 * in meanwhile neither repeats nor hides another, and a bad `after` or `limit` is a 400 in the
 * JSON error shape. The console shows the first page and a link to the next.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queryRows } from '../../db/client.js';
import { DEFAULT_HOST_LIMIT, MAX_HOST_LIMIT } from '../../api/read/hosts.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

interface Page {
  hosts: Array<{ name: string; lastCapture: { id: string } | null }>;
  nextAfter: string | null;
  staleAfterHours: number;
}

/** 105 names in several spellings (case, `-`, `_`, dots), so the order is the database's own. */
const NAMES = Array.from({ length: 104 }, (_, i) => {
  const n = String(i).padStart(3, '0');
  return [`esx-${n}`, `ESX_${n}`, `esxi${n}.lab.example`, `Sol-${n}`][i % 4];
});

describeEachFlavour('GET /v1/hosts: pages by name', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    // One host through the protocol, the rest as rows: the list reads the rows either way.
    await ingest(catalog, { host: 'esx-real', artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.tgz', bytes: new Uint8Array(300) }] });
    await queryRows(
      catalog.services.db,
      sql`INSERT INTO hosts (name, kind, first_seen, last_seen)
          SELECT n, 'esxi', now(), now() FROM jsonb_array_elements_text(${JSON.stringify(NAMES)}::jsonb) AS x(n)`,
    );
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const get = async (query: string) => {
    const res = await catalog.request(`/v1/hosts${query}`);
    return { status: res.status, body: (await res.json()) as Page & { error?: { code: string; message: string; requestId: string } } };
  };
  const walk = async (limit: number, between?: (page: number) => Promise<void>) => {
    const names: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const { status, body } = await get(`?limit=${limit}${after === null ? '' : `&after=${encodeURIComponent(after)}`}`);
      expect(status).toBe(200);
      expect(body.hosts.length).toBeLessThanOrEqual(limit);
      names.push(...body.hosts.map((h) => h.name));
      after = body.nextAfter;
      if (after !== null) expect(after).toBe(body.hosts.at(-1)!.name);
      pages++;
      await between?.(pages);
    } while (after !== null && pages < 1000);
    return { names, pages };
  };

  it('lists every host exactly once across its pages, in the order of one whole page', async () => {
    const whole = await get(`?limit=${MAX_HOST_LIMIT}`);
    expect(whole.status).toBe(200);
    expect(whole.body.nextAfter).toBeNull();
    expect(whole.body.hosts).toHaveLength(NAMES.length + 1);
    expect(new Set(whole.body.hosts.map((h) => h.name))).toEqual(new Set([...NAMES, 'esx-real']));
    expect(whole.body.hosts.find((h) => h.name === 'esx-real')?.lastCapture).toBeTruthy();

    for (const limit of [1, 7, 35, 104, 105]) {
      const { names, pages } = await walk(limit);
      expect(names, `limit ${limit}`).toEqual(whole.body.hosts.map((h) => h.name));
      expect(pages, `limit ${limit}`).toBe(Math.ceil(105 / limit));
    }

    // Unasked, a page holds DEFAULT_HOST_LIMIT: here the first 100, then the other 5.
    const first = await get('');
    expect(first.body.hosts).toHaveLength(DEFAULT_HOST_LIMIT);
    expect(first.body.staleAfterHours).toBe(36);
    const rest = await get(`?after=${encodeURIComponent(first.body.nextAfter!)}`);
    expect(rest.body.hosts.map((h) => h.name)).toEqual(whole.body.hosts.slice(DEFAULT_HOST_LIMIT).map((h) => h.name));
    expect(rest.body.nextAfter).toBeNull();
  });

  it('neither repeats nor hides a host when hosts come in between pages', async () => {
    const before = (await get(`?limit=${MAX_HOST_LIMIT}`)).body.hosts.map((h) => h.name);
    const added = ['aaa-added', 'zzz-added', 'esx-050-added'];
    const { names } = await walk(10, async (page) => {
      if (page === 3)
        await queryRows(
          catalog.services.db,
          sql`INSERT INTO hosts (name, kind, first_seen, last_seen) VALUES (${added[0]}, 'esxi', now(), now()), (${added[1]}, 'esxi', now(), now()), (${added[2]}, 'esxi', now(), now())`,
        );
    });
    expect(new Set(names).size).toBe(names.length);
    for (const name of before) expect(names).toContain(name);
    // One past the pages already read is listed; one before them is on the first pages, read again only from the start.
    expect(names).toContain('zzz-added');
  });

  it('answers a bad after or limit with 400 in the error shape', async () => {
    for (const query of [
      '?after=',
      `?after=${'x'.repeat(256)}`,
      '?limit=0',
      '?limit=-1',
      `?limit=${MAX_HOST_LIMIT + 1}`,
      '?limit=ten',
      '?limit=2.5',
      '?limit=',
    ]) {
      const { status, body } = await get(query);
      expect(status, query).toBe(400);
      expect(body.error?.code, query).toBe('bad_request');
      expect(body.error?.requestId, query).toBeTruthy();
      expect(body.error?.message, query).toMatch(/^invalid request: (after|limit): /);
    }
  });

  it("shows the console's first page of hosts and a link to the next", async () => {
    const signIn = await fetch(`${catalog.url}/sign-in`, {
      method: 'POST',
      body: new URLSearchParams({ token: catalog.adminToken, next: '/' }),
      redirect: 'manual',
    });
    expect(signIn.status).toBe(303);
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0];
    const page = async (path: string) => {
      const res = await fetch(`${catalog.url}${path}`, { headers: { cookie } });
      expect(res.status, path).toBe(200);
      return res.text();
    };
    const whole = (await get(`?limit=${MAX_HOST_LIMIT}`)).body.hosts.map((h) => h.name);
    const first = await page('/hosts');
    const listed = (html: string) => [...html.matchAll(/<td><a href="\/hosts\/([^"]+)">/g)].map((m) => decodeURIComponent(m[1]));
    expect(listed(first)).toEqual(whole.slice(0, DEFAULT_HOST_LIMIT));
    expect(first).toContain(`(${DEFAULT_HOST_LIMIT} on this page,`);
    const next = /<a href="(\/hosts\?after=[^"]+)" rel="next">/.exec(first)?.[1];
    expect(next).toBe(`/hosts?after=${encodeURIComponent(whole[DEFAULT_HOST_LIMIT - 1])}`);
    const second = await page(next!.replaceAll('&amp;', '&'));
    expect(listed(second)).toEqual(whole.slice(DEFAULT_HOST_LIMIT));
    expect(second).not.toContain('rel="next"');
    expect(second).toContain('<a href="/hosts">First page</a>');
  });
});
