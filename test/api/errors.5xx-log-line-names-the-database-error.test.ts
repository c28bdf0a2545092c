/**
 * A 5xx leaves one log line an operator can act on: the database's own error (SQLSTATE,
 * message, constraint, table), the capture, artifact and request id; under 2 KB; never
 * the parameter list drizzle puts in its message, nor artifact bytes or row data.
 * A database that is gone answers 503 service_unavailable with Retry-After instead.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, IngestHttpError, prepareCapture, uploadMissing } from '../helpers/ingest-client.js';
import { createLogger, type Logger } from '../../api/logger.js';

const MARKER = 'MARKER-e8a3b1';

describeEachFlavour('errors: the 5xx log line', (flavour) => {
  let catalog: TestCatalog;
  const lines: string[] = [];
  beforeEach(async () => {
    catalog = await startTestCatalog(flavour);
    lines.length = 0;
    (catalog.services as { logger: Logger }).logger = createLogger('warn', (l) => lines.push(l));
  });
  afterEach(async () => {
    await catalog?.close().catch(() => {});
  });

  it('names SQLSTATE, constraint, table, capture, artifact and request id, and nothing of the row', async () => {
    // A constraint the catalog does not have: the artifact row of this capture violates it.
    await catalog.services.db.execute(sql.raw(`alter table artifacts add constraint no_marker check (source_path not like '%${MARKER}%')`));
    const bytes = new TextEncoder().encode(`tank/a@${MARKER}\t1793491200\t1\n`);
    const prepared = prepareCapture({ host: 'esx-log', artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', sourcePath: `/tmp/${MARKER}`, bytes }] });
    await uploadMissing(catalog, prepared, await begin(catalog, prepared.request));
    const failed = await commit(catalog, prepared.request.captureId).then(
      () => null,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(IngestHttpError);
    const answer = (failed as IngestHttpError).body as { error: { code: string; message: string; requestId: string } };
    expect((failed as IngestHttpError).status).toBe(500);
    expect(answer.error.code).toBe('internal');
    expect(answer.error.message).not.toContain(MARKER);

    const errorLines = lines.filter((l) => JSON.parse(l).level === 'error');
    expect(errorLines).toHaveLength(1);
    const line = errorLines[0];
    expect(Buffer.byteLength(line)).toBeLessThan(2048);
    const logged = JSON.parse(line) as Record<string, unknown>;
    expect(logged).toMatchObject({
      msg: 'request failed',
      status: 500,
      requestId: answer.error.requestId,
      captureId: prepared.request.captureId,
      sqlstate: '23514',
      constraint: 'no_marker',
      table: 'artifacts',
    });
    expect(String(logged.dbMessage)).toContain('no_marker');
    expect(String(logged.artifactId)).toMatch(/^[0-9a-f-]{36}$/);
    // Never the parameters, the row, or the artifact's bytes.
    expect(line).not.toContain(MARKER);
    expect(line).not.toMatch(/params:|Failing row/);
  });

  it('answers 503 with Retry-After when the database is gone, and logs why in one line', async () => {
    const prepared = prepareCapture({ host: 'esx-log', artifacts: [{ kind: 'unknown', fileName: 'one.bin', bytes: new Uint8Array([1]) }] });
    // The catalog's own connection ends under it: every query now fails to reach the database.
    await catalog.close();
    const res = await catalog.request('/v1/captures', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(prepared.request),
    });
    const body = (await res.json()) as { error: { code: string; requestId: string } };
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(body.error.code).toBe('service_unavailable');
    const line = lines.find((l) => JSON.parse(l).requestId === body.error.requestId && JSON.parse(l).level === 'error');
    expect(line).toBeDefined();
    expect(Buffer.byteLength(line!)).toBeLessThan(2048);
    expect(JSON.parse(line!)).toMatchObject({ status: 503, code: 'service_unavailable' });
  });
});
