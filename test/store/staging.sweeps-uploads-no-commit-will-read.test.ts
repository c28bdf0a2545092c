/**
 * Staged uploads are swept when no commit will read them: an open capture's uploads stay
 * while it may still commit (24 h after its latest begin), and go once it is abandoned, with
 * the capture itself; a later begin opens it again, hands out new URLs and it still commits. Staging a commit left
 * behind (it died before its cleanup) goes at the next sweep.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stagingKey } from '../../api/store/types.js';
import { STAGING_MAX_AGE_MS, sweepStaging } from '../../api/ingest/staging.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, prepareCapture, uploadMissing } from '../helpers/ingest-client.js';

describeEachFlavour('staging sweep', (flavour) => {
  let catalog: TestCatalog;
  let clock = new Date('2026-11-10T00:00:00Z').getTime();
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { now: () => new Date(clock) });
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it("keeps an open capture's uploads for a day after its latest begin, then sweeps them; a new begin still commits", async () => {
    const bytes = randomBytes(3000);
    const prepared = prepareCapture({ host: 'esx-sweep', artifacts: [{ kind: 'vmfs-undelete', fileName: 's.tgz', bytes }] });
    const answer = await begin(catalog, prepared.request);
    await uploadMissing(catalog, prepared, answer);
    const key = stagingKey(prepared.request.captureId, answer.missing[0].sha256);
    expect(await catalog.services.store.head(key)).not.toBeNull();

    clock += STAGING_MAX_AGE_MS - 60_000;
    expect(await sweepStaging(catalog.services)).toEqual({ deleted: 0, captures: 0, expired: 0 });
    expect(await catalog.services.store.head(key)).not.toBeNull();

    clock += 120_000;
    // The abandoned capture goes with its uploads: a commit of it finds nothing (404), which
    // the collector answers with a new begin of the same capture (collector/deliver.ts).
    expect(await sweepStaging(catalog.services)).toEqual({ deleted: 1, captures: 1, expired: 1 });
    expect(await catalog.services.store.head(key)).toBeNull();
    await expect(commit(catalog, prepared.request.captureId)).rejects.toMatchObject({ status: 404 });

    const again = await begin(catalog, prepared.request);
    expect(again.missing.map((m) => m.sha256)).toEqual(answer.missing.map((m) => m.sha256));
    await uploadMissing(catalog, prepared, again);
    expect((await commit(catalog, prepared.request.captureId)).state).toBe('committed');
  });

  it('sweeps what a committed capture left in staging', async () => {
    const bytes = randomBytes(2000);
    const prepared = prepareCapture({ host: 'esx-sweep', artifacts: [{ kind: 'vmfs-undelete', fileName: 't.tgz', bytes }] });
    const answer = await begin(catalog, prepared.request);
    await uploadMissing(catalog, prepared, answer);
    await commit(catalog, prepared.request.captureId);
    // The commit's own cleanup first (on S3 it goes on after the answer: S3BlobStore.closeStaging).
    await catalog.services.store.settled();
    // What a commit that died after its transaction, before its cleanup, leaves behind.
    const key = stagingKey(prepared.request.captureId, answer.missing[0].sha256);
    await catalog.services.store.openStaging(prepared.request.captureId);
    await catalog.services.store.put(key, bytes);
    expect(await sweepStaging(catalog.services)).toEqual({ deleted: 1, captures: 1, expired: 0 });
    expect(await catalog.services.store.head(key)).toBeNull();
  });
});
