/**
 * A capture id names one collection run: repeating its begin with another `collectedAt`
 * is a conflict (409), and neither the stored request nor `captures.collected_at` changes.
 * The same instant spelt differently (milliseconds, offset) is the same capture.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { captures } from '../../db/schema.js';
import type { BeginRequest } from '../../formats/protocol.js';
import { zfsListSnapshots } from '../fixtures/text-fixtures.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, prepareCapture, uploadMissing } from '../helpers/ingest-client.js';

const zfs = new TextEncoder().encode(zfsListSnapshots([{ name: 'tank/a@daily-2026-11-01', creation: 1793491200, used: 1024 }]));

describeEachFlavour('captures: a repeated begin with another collectedAt', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('answers 409 conflict and keeps the first request and collected_at', async () => {
    const prepared = prepareCapture({
      host: 'esx21',
      collectedAt: '2026-11-01T02:00:00.000Z',
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: zfs }],
    });
    const answer = await begin(catalog, prepared.request);
    const later: BeginRequest = { ...prepared.request, collectedAt: '2026-11-02T02:00:00.000Z' };
    await expect(begin(catalog, later)).rejects.toMatchObject({ status: 409, code: 'conflict' });

    const [row] = await catalog.services.db.select().from(captures).where(eq(captures.id, prepared.request.captureId));
    expect(row.collectedAt.toISOString()).toBe('2026-11-01T02:00:00.000Z');
    expect((row.request as BeginRequest).collectedAt).toBe('2026-11-01T02:00:00.000Z');

    await uploadMissing(catalog, prepared, answer);
    await commit(catalog, prepared.request.captureId);
    // Committed: still a conflict, not a silent "committed".
    await expect(begin(catalog, later)).rejects.toMatchObject({ status: 409, code: 'conflict' });
  });

  it('accepts the same instant spelt differently', async () => {
    const prepared = prepareCapture({
      host: 'esx22',
      collectedAt: '2026-11-01T02:00:00.000Z',
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: zfs }],
    });
    await begin(catalog, prepared.request);
    const again = await begin(catalog, { ...prepared.request, collectedAt: '2026-11-01T04:00:00+02:00' });
    expect(again.state).toBe('open');
  });
});
