/**
 * The collector bundle against a catalog that hands large commits to its worker
 * (COMMIT_INLINE_MAX_BYTES set to 1 MiB here): the commit answers 202, the collector waits
 * Retry-After and asks again, and the run ends committed with exit 0 and the parse results,
 * on each catalog flavour this machine can run.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runHere, settleCommitJobs } from '../../api/ingest/commit-jobs.js';
import { captures, commitJobs } from '../../db/schema.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { MiB, stageEsxiHost, stagedIds, type EsxiHost } from '../helpers/staged-hosts.js';
import { buildBundle, runJson } from './run-collector.js';

describeEachFlavour('collector and a commit handed to the catalog worker', (flavour) => {
  let catalog: TestCatalog;
  let esxi: EsxiHost;
  const handed: string[] = [];

  beforeAll(async () => {
    buildBundle();
    catalog = await startTestCatalog(flavour, { listen: true, env: { COMMIT_INLINE_MAX_BYTES: String(MiB) } });
    // The catalog's own in-process worker, with a note of each hand-off.
    catalog.services.dispatchCommit = async (captureId) => {
      handed.push(captureId);
      runHere(catalog.services, captureId);
    };
    esxi = await stageEsxiHost([{ deviceId: 'naa.600144f0c0ffee000000000000000061', index: 61, lun: 4, sizeBytes: 40 * MiB }]);
    // Whole chunks of random bytes in the header dump: they do not compress, so they go to
    // staging through upload URLs (not through the catalog, whose chunks the commit need not
    // read back), and make more than 1 MiB for the commit to verify.
    const fd = openSync(join(esxi.root, esxi.devices[0].path), 'r+');
    for (let m = 8; m < 11; m++) writeSync(fd, randomBytes(MiB), 0, MiB, m * MiB);
    closeSync(fd);
  }, 300_000);

  afterAll(async () => {
    if (catalog) await settleCommitJobs(catalog.services);
    await catalog?.close();
    esxi?.cleanup();
  });

  it('waits out the 202s and ends committed', { timeout: 180_000 }, async () => {
    const r = await runJson(['collect', '--json', '--root', esxi.root, '--host', 'esxi-big', '--spool', join(esxi.dir, 'spool'), '--url', catalog.url], {
      ...esxi.env,
      CATALOG_TOKEN: catalog.adminToken,
    });
    expect(r.code, r.stderr).toBe(0);
    const [cap] = r.json.captures;
    expect(cap.state).toBe('committed');
    for (const a of cap.artifacts) expect([a.kind, a.parseStatus]).toEqual([a.kind, 'ok']);
    expect(cap.artifacts.some((a: { found: Record<string, string[]> | null }) => a.found?.vmfsUuid?.includes(stagedIds(61).vmfsUuid))).toBe(true);
    // The commit went through the worker, once; nothing of it is left behind.
    expect(handed).toContain(cap.captureId);
    const { db } = catalog.services;
    expect(await db.select({ state: captures.state }).from(captures).where(eq(captures.id, cap.captureId))).toEqual([{ state: 'committed' }]);
    expect(await db.select().from(commitJobs)).toEqual([]);
    expect(r.json.spool.pending).toBe(0);
  });
});
