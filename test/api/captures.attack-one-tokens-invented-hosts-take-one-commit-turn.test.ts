/**
 * Large commits wait as jobs and are taken in turns (api/ingest/commit-jobs.ts takeableJobs), so
 * one collector's many do not keep another's waiting behind them all. The turns were per host name
 * as sent: a wildcard token (`esxi-*`) took one for each host it invented, and a token for one host
 * one for each spelling of it (esx-case, ESX-CASE, …), and another host's job queued after them
 * waited behind one of each. Now a collector is the token that opened the capture: its invented
 * hosts and spellings share one turn, and the other host's job is taken second. Jobs are held back
 * from dispatch (as on Lambda) so the order can be read before anything runs; both flavours.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { settleCommitJobs, takeableJobs } from '../../api/ingest/commit-jobs.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, prepareCapture, uploadMissing } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;

describeEachFlavour('commit jobs: one token’s invented hosts take one turn', (flavour) => {
  let catalog: TestCatalog;
  let tokens: Record<string, string>;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true, env: { COMMIT_INLINE_MAX_BYTES: String(1 * MiB) } });
    tokens = await collectorTokens(catalog, ['esxi-*', 'esx-case', 'esx-victim']);
    catalog.services.dispatchCommit = async () => {};
  });
  afterAll(async () => {
    if (catalog) await settleCommitJobs(catalog.services);
    await catalog?.close();
  });

  /** Begins, uploads and POSTs commit for a capture of 2 MiB of random bytes with `token`: a 202 and a queued job. */
  async function queued(host: string, token: string): Promise<string> {
    const p = prepareCapture({
      host,
      hostKind: 'esxi',
      artifacts: [
        {
          kind: 'vmfs-header',
          fileName: 'lun.bin',
          sourcePath: `/vmfs/devices/disks/${DEFAULTS.deviceId}`,
          device: DEFAULTS.deviceId,
          bytes: buildVmfsDisk({ dumpLength: 3 * MiB, extraRegions: [{ offset: 1 * MiB + 512 * 1024, bytes: randomBytes(2 * MiB) }] }),
          gzip: true,
        },
      ],
    });
    await uploadMissing(catalog, p, await begin(catalog, p.request, token));
    const res = await catalog.request(`/v1/captures/${p.request.captureId}/commit`, { method: 'POST', token, headers: { prefer: 'respond-async' } });
    expect(res.status).toBe(202);
    await res.body?.cancel();
    return p.request.captureId;
  }

  it('a wildcard token’s hosts, and one token’s spellings of its host, each share one turn', async () => {
    const invented = [];
    for (const host of ['esxi-1', 'esxi-2', 'esxi-3']) invented.push(await queued(host, tokens['esxi-*']));
    const spelled = [];
    for (const host of ['esx-case', 'ESX-CASE', 'Esx-Case']) spelled.push(await queued(host, tokens['esx-case']));
    const victim = await queued('esx-victim', tokens['esx-victim']);
    expect(await takeableJobs(catalog.services)).toEqual([invented[0], spelled[0], victim, invented[1], spelled[1], invented[2], spelled[2]]);
  });
});
