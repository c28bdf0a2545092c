/**
 * A restore time without a zone (`--at 2026-12-03T03:00`, `?at=2026-12-03`) was read in a zone
 * the operator did not choose: ECMAScript takes a date-time without an offset as the reading
 * process's local time — the catalog's, UTC in a container or on Lambda — and a date alone as
 * UTC midnight (ECMA-262, Date Time String Format). An operator two hours east of UTC asking
 * for 03:00 got the captures of 05:00 their time, after the accident, and a plan cloning the
 * snapshot taken after it. Now the collector refuses such a time (exit 64, nothing sent) and
 * the catalog answers 400 on the bundle and DR plan routes, each saying to add Z or an offset;
 * a time with either is taken as before. Against the real catalog over a socket.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { EXTENT1, PROD, seedDatacenter } from '../api/read-side-seed.js';
import { buildBundle, isolatedEnv, runCollector, serveApp } from './run-collector.js';

describeEachFlavour('a restore time without a zone', (flavour) => {
  const dir = mkdtempSync(join(tmpdir(), 'restore-at-'));
  let catalog: TestCatalog;
  let served: Awaited<ReturnType<typeof serveApp>>;
  let url: string;
  let requests = 0;

  beforeAll(async () => {
    buildBundle();
    catalog = await startTestCatalog(flavour);
    await seedDatacenter(catalog);
    served = await serveApp(catalog.app, () => requests++);
    url = served.url;
  });
  afterAll(async () => {
    await served?.close();
    await catalog?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${catalog.adminToken}` } });
  let n = 0;
  const restore = (at: string) => {
    requests = 0;
    return runCollector(
      ['restore', '--volume', PROD.vmfsUuid, '--at', at, '-o', join(dir, `out-${++n}`), '--url', url, '--token', catalog.adminToken, '--retries', '0'],
      // A zone far from the catalog's, where a local reading would be 14 hours off.
      { ...isolatedEnv(join(dir, 'absent.json')), TZ: 'Pacific/Kiritimati' },
    );
  };

  it.each(['2030-12-03T03:00', '2030-12-03T03:00:00.000', '2030-12-03'])('collector restore --at %s: exit 64, one line, nothing sent', async (at) => {
    const r = await restore(at);
    expect(r.code, r.stderr).toBe(64);
    expect(r.stderr.trim().split('\n')).toEqual([
      `collector restore: --at "${at}" names no time zone, so it would be read in another one than yours: add Z (UTC) or your offset, e.g. 2026-12-03T03:00:00+01:00`,
    ]);
    expect(requests).toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith(`out-${n}`))).toEqual([]);
  });

  // The catalog's other rules for a time (formats/zoned-time.ts timeProblem): these were its 400, exit 1, after the request.
  it.each([
    ['2030-02-30T03:00Z', '--at 2030-02-30 is no day of the calendar: "2030-02-30T03:00Z"'],
    ['2030-04-31T03:00:00+02:00', '--at 2030-04-31 is no day of the calendar: "2030-04-31T03:00:00+02:00"'],
    ['0000-06-01T00:00Z', '--at "0000-06-01T00:00Z" is outside the years 0001–9999'],
  ])('collector restore --at %s, which the catalog would refuse: exit 64, its one line, nothing sent', async (at, said) => {
    const r = await restore(at);
    expect(r.code, r.stderr).toBe(64);
    expect(r.stderr.trim().split('\n')).toEqual([`collector restore: ${said}`]);
    expect(requests).toBe(0);
    const api = await get(`/v1/volumes/${PROD.vmfsUuid}/restore-bundle?at=${encodeURIComponent(at)}`);
    expect(api.status).toBe(400);
    expect(((await api.json()) as { error: { message: string } }).error.message).toBe(`at: ${said.replace(/^--at /, '')}`);
  });

  it.each(['2030-12-03T03:00Z', '2030-12-03T03:00:00+14:00', '2030-12-03T03:00:00.000-0500'])('collector restore --at %s restores', async (at) => {
    const r = await restore(at);
    expect(r.code, r.stderr).toBe(0);
  });

  it.each(['2030-12-03T03:00', '2030-12-03'])('?at=%s is a 400 saying to add a zone on every route that takes it', async (at) => {
    for (const path of [
      `/v1/volumes/${PROD.vmfsUuid}/restore-bundle`,
      `/v1/luns/${EXTENT1.deviceId}/restore-bundle`,
      `/v1/volumes/${PROD.vmfsUuid}/dr-plan`,
      `/v1/volumes/${PROD.vmfsUuid}/dr-plan?format=text&`,
    ]) {
      const res = await get(`${path}${path.endsWith('&') ? '' : '?'}at=${encodeURIComponent(at)}`);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status, path).toBe(400);
      expect(body.error.code).toBe('bad_request');
      expect(body.error.message).toBe(
        `at: "${at}" names no time zone, so it would be read in another one than yours: add Z (UTC) or your offset, e.g. 2026-12-03T03:00:00+01:00`,
      );
    }
  });

  it('a time with Z or an offset is taken', async () => {
    expect((await get(`/v1/volumes/${PROD.vmfsUuid}/dr-plan?at=${encodeURIComponent('2030-12-03T03:00:00+01:00')}`)).status).toBe(200);
    expect((await get(`/v1/volumes/${PROD.vmfsUuid}/restore-bundle?at=2030-12-03T03:00Z`)).status).toBe(200);
  });
});
