/**
 * The staging sweep drops an open capture still declared in part an hour after its latest begin
 * (PARTIAL_MAX_AGE_MS), a whole one after 24 h (STAGING_MAX_AGE_MS); `drop --help` and the
 * DELETE /v1/captures/{id} route said 24 h of every open capture, so an operator waiting out
 * a stopped run's capture read a day where the catalog takes an hour.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { PARTIAL_MAX_AGE_MS, STAGING_MAX_AGE_MS } from '../../api/ingest/staging.js';
import { startTestCatalog } from '../helpers/catalog.js';
import { cli } from '../helpers/in-process-cli.js';

const dataDir = mkdtempSync(join(tmpdir(), 'vrc-cli-drop-help-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it('drop --help and the DELETE route name both ages the sweep drops an open capture at', async () => {
  expect([PARTIAL_MAX_AGE_MS, STAGING_MAX_AGE_MS]).toEqual([3600_000, 24 * 3600_000]);
  const r = await cli(['drop', '--help'], { DATA_DIR: dataDir });
  expect(r.code, r.err).toBe(0);
  const help = r.out.replace(/\s+/g, ' ');
  expect(help).toContain('24 h after its last begin, one still declared in part an hour after');
  // A part a stopped run left was never spooled: no run sends it again (both said every one is sent again).
  expect(help).toContain('its collector sends it again if it spooled it');
  const catalog = await startTestCatalog('embedded');
  const doc = (await (await catalog.request('/openapi.json')).json()) as any;
  await catalog.close();
  const route = doc.paths['/v1/captures/{id}'].delete;
  expect(route.summary).toContain('24 h after its last begin, one still declared in part an hour after');
  expect(route.summary).toContain('one a stopped run left declared in part never does');
});
