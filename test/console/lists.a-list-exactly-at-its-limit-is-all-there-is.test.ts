/**
 * A list the read side cuts at its limit says '(the newest N; older ones not listed)' only when
 * rows were left out. The console decided it from the count (`length >= limit`), so a volume
 * with exactly 500 artifacts, or a host with exactly 100 captures, was labelled as cut with
 * nothing missing. The views now read one row past the limit and answer whether any was left
 * out (`artifactsTruncated` of a volume or LUN, `capturesTruncated` of a host); the pages
 * read that. One capture through the protocol, copied a day apart (copyDaily), seeds each
 * side of the limit; the pages are read over HTTP with a console session, no browser.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HOST_VIEW_LIMITS, VIEW_LIMITS } from '../../api/schemas/catalog.js';
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { EXTENT1, PROD, T0 } from '../api/read-side-seed.js';
import { copyDaily, seedDailyCaptures } from './harness.js';

/** Each daily capture holds two artifacts of the volume: a header dump of EXTENT1 and the `.vh.sf`. */
const DAYS = VIEW_LIMITS.artifacts / 2;

describeEachFlavour('a list exactly at its limit', (flavour) => {
  let catalog: TestCatalog;
  let db: Db;
  let cookie: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    db = await seedDailyCaptures(catalog, DAYS);
    const first = await ingest(catalog, {
      host: 'esx20',
      hostKind: 'esxi',
      collectedAt: new Date(T0.getTime() + 400 * 86_400_000),
      artifacts: [{ kind: 'unknown', fileName: 'notes.txt', sourcePath: '/etc/notes.txt', bytes: new TextEncoder().encode('no volume here\n') }],
    });
    await copyDaily(
      db,
      'captures',
      `id = '${first.captureId}'`,
      ['id', 'manifest_key'],
      ['collected_at', 'received_at', 'committed_at'],
      HOST_VIEW_LIMITS.captures - 1,
    );
    const signIn = await catalog.request('/sign-in', { method: 'POST', token: null, body: new URLSearchParams({ token: catalog.adminToken, next: '/' }) });
    expect(signIn.status).toBe(303);
    cookie = signIn.headers.get('set-cookie')!.split(';')[0];
  }, 60_000);
  afterAll(async () => catalog?.close());

  const view = async <T>(path: string): Promise<T> => {
    const res = await catalog.request(path);
    expect(res.status, path).toBe(200);
    return (await res.json()) as T;
  };
  const heading = async (path: string, name: string): Promise<string> => {
    const res = await catalog.request(path, { token: null, headers: { cookie } });
    expect(res.status, path).toBe(200);
    const h2 = new RegExp(`<h2[^>]*>\\s*${name} <span class="group-count">([^<]*)</span>`).exec(await res.text());
    return h2 ? h2[1] : `no ${name} heading`;
  };

  it('labels a volume of exactly 500 artifacts and a host of exactly 100 captures with their count, not as cut', async () => {
    expect(await heading(`/volumes/${PROD.vmfsUuid}`, 'Artifacts')).toBe(`(${VIEW_LIMITS.artifacts})`);
    expect(await heading('/hosts/esx20', 'Captures')).toBe(`(${HOST_VIEW_LIMITS.captures})`);
    const volume = await view<{ artifacts: unknown[]; artifactsTruncated: boolean }>(`/v1/volumes/${PROD.vmfsUuid}`);
    expect([volume.artifacts.length, volume.artifactsTruncated]).toEqual([VIEW_LIMITS.artifacts, false]);
    const host = await view<{ captures: unknown[]; capturesTruncated: boolean }>('/v1/hosts/esx20');
    expect([host.captures.length, host.capturesTruncated]).toEqual([HOST_VIEW_LIMITS.captures, false]);

    // A LUN under its limit is not cut either (esx10's daily header dumps of it).
    const lun = await view<{ artifacts: unknown[]; artifactsTruncated: boolean }>(`/v1/luns/${EXTENT1.deviceId}`);
    expect([lun.artifacts.length, lun.artifactsTruncated]).toEqual([DAYS, false]);
  });

  it('says the newest are listed once one more is held', async () => {
    // One day before the oldest of each host: two more artifacts of the volume, one more capture of esx20.
    const oldest = async (host: string) =>
      (await queryRows<{ id: string }>(db, sql`SELECT id FROM captures WHERE host = ${host} ORDER BY collected_at LIMIT 1`))[0].id;
    const esx10 = await oldest('esx10');
    await copyDaily(db, 'captures', `id = '${esx10}'`, ['id', 'manifest_key'], ['collected_at', 'received_at', 'committed_at'], 1);
    await copyDaily(db, 'artifacts', `capture_id = '${esx10}'`, ['id', 'capture_id'], ['collected_at'], 1);
    await copyDaily(db, 'extents', `capture_id = '${esx10}'`, ['artifact_id', 'capture_id'], ['seen_at'], 1);
    await copyDaily(db, 'segments', `artifact_id IN (SELECT id FROM artifacts WHERE capture_id = '${esx10}')`, ['artifact_id'], ['seen_at'], 1);
    await copyDaily(db, 'captures', `id = '${await oldest('esx20')}'`, ['id', 'manifest_key'], ['collected_at', 'received_at', 'committed_at'], 1);

    const volume = await view<{ artifacts: unknown[]; artifactsTruncated: boolean }>(`/v1/volumes/${PROD.vmfsUuid}`);
    expect([volume.artifacts.length, volume.artifactsTruncated]).toEqual([VIEW_LIMITS.artifacts, true]);
    expect(await heading(`/volumes/${PROD.vmfsUuid}`, 'Artifacts')).toBe(`(the newest ${VIEW_LIMITS.artifacts}; older ones not listed)`);
    const host = await view<{ captures: unknown[]; capturesTruncated: boolean }>('/v1/hosts/esx20');
    expect([host.captures.length, host.capturesTruncated]).toEqual([HOST_VIEW_LIMITS.captures, true]);
    expect(await heading('/hosts/esx20', 'Captures')).toBe(`(the newest ${HOST_VIEW_LIMITS.captures}; older ones not listed)`);
  });
});
