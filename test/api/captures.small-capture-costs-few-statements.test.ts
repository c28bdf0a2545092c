/**
 * A small capture as the collector sends it (begin → its small chunks through
 * `PUT /v1/captures/{id}/chunks` → commit) costs few statements: each one is a round trip, a
 * socket write and, outside a transaction, a transaction of its own, and under load they were
 * most of the catalog's CPU per commit. A new capture's begin is one statement (its row, with the
 * `blobs` rows of the declared chunks its host holds: it was two), two for a host's first. A chunk batch is two statements (what its checks read,
 * then its records with the check that the capture is open): it was seven (the capture, its
 * declaration, three lookups, the state re-check, the records). The commit reads the capture
 * and its chunk records in one (it was four), records the chunk lists it will name, and its
 * transaction writes the shared rows in one statement and clears the records in the claim's. The counts are the statements the
 * catalog sends (drizzle's query log), on the embedded database, where they are the same ones.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, frameChunks, prepareCapture } from '../helpers/ingest-client.js';

let catalog: TestCatalog;
let token: string;
const sent: string[] = [];

beforeAll(async () => {
  catalog = await startTestCatalog('embedded');
  token = (await collectorTokens(catalog, ['sol-few']))['sol-few'];
  // Every statement of the database handle and of its transactions (they take the session's options).
  const session = (catalog.services.db as unknown as { session: { logger: unknown; options: { logger?: unknown } } }).session;
  const logger = { logQuery: (query: string) => sent.push(query) };
  session.logger = logger;
  session.options.logger = logger;
});
afterAll(async () => {
  await catalog?.close();
});

it('a begin is one statement, a chunk batch two, and the commit reads its capture and chunk records in one', async () => {
  const statements: Record<string, number> = {};
  for (let c = 0; c < 2; c++) {
    const p = prepareCapture({
      host: 'sol-few',
      hostKind: 'solaris',
      artifacts: [
        { kind: 'zfs-snapshots', fileName: 'zfs-list.txt', bytes: new TextEncoder().encode(`tank/vmfs/lun0@daily-${c}\t${1790000000 + c}\t4096\n`.repeat(40)) },
        {
          kind: 'unknown',
          fileName: 'stmfadm-list-lu.txt',
          bytes: new TextEncoder().encode(`LU Name: 600144F0${c}\n    Data File: /dev/zvol/rdsk/tank/lun${c}\n`.repeat(20)),
        },
      ],
    });
    const beginning = sent.length;
    const answer = await begin(catalog, p.request, token);
    expect(answer.missing).toHaveLength(2);
    // Its own statements: the token's lookup (once in VERIFIED_TOKEN_MS) is the request's, not the begin's.
    statements.begin = sent.slice(beginning).filter((q) => !/"tokens"/.test(q)).length;
    const before = sent.length;
    const res = await catalog.request(`/v1/captures/${p.request.captureId}/chunks`, {
      method: 'PUT',
      token,
      headers: { 'content-type': 'application/octet-stream' },
      body: frameChunks(answer.missing.map((m) => [m.sha256, p.stored.get(m.sha256)!])) as unknown as BodyInit,
    });
    expect(res.status).toBe(200);
    statements.batch = sent.length - before;
    const committing = sent.length;
    const done = await commit(catalog, p.request.captureId, token);
    expect(done.artifacts).toHaveLength(2);
    const mine = sent.slice(committing);
    // The statements before the commit's transaction: the capture with its job, then its chunk
    // records, read in one; and the one write that must outlive a commit failing after its
    // manifest went out, the chunk lists it names (gc.a-failed-commit-keeps-its-chunk-lists).
    const ahead = mine.slice(
      0,
      mine.findIndex((q) => /^\s*WITH gate AS MATERIALIZED/.test(q)),
    );
    const lists = ahead.filter((q) => /^update "captures" set "chunk_lists"/i.test(q));
    expect(lists).toHaveLength(1);
    statements.commitReads = ahead.length - lists.length;
    statements.commit = mine.length;
    console.log(
      `capture ${c}: begin ${statements.begin} statements, chunk batch ${statements.batch}, commit ${statements.commit} (${statements.commitReads} before its transaction)`,
    );
    // The first capture of a host new to its collector token is one more: the token's hosts
    // counted again once its row is in, as begins at once may each have found room for one more
    // (COLLECTOR_TOKEN_HOSTS_MAX). A host the catalog holds is one statement, as every day's is.
    expect(statements.begin).toBe(c === 0 ? 2 : 1);
    expect(statements.batch).toBe(2);
    expect(statements.commitReads).toBe(1);
  }
});
