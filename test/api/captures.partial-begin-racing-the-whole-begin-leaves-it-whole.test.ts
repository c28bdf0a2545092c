/**
 * A part of a capture (POST /v1/captures/{id}/partial) that the collector gave up waiting for
 * may still run in the catalog when the begin that declares the capture whole arrives. Between
 * the part's read of the capture's row and its write, that begin declared the capture whole:
 * the part must not write its declaration in part back over the whole one, or the commit that
 * follows is refused (409, "declared in part") and the collector sets the capture aside for
 * good. The part's write is held (the database handle it uses waits before any UPDATE) until
 * the whole begin has answered.
 */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { captures } from '../../db/schema.js';
import { beginCapture, type StoredRequest } from '../../api/ingest/begin.js';
import type { Db } from '../../db/client.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, prepareCapture, uploadMissing } from '../helpers/ingest-client.js';

const small = (i: number) => {
  const bytes = Buffer.alloc(64 * 1024);
  randomBytes(4096).copy(bytes, 1024);
  return { kind: 'vmfs-undelete' as const, fileName: `u${i}.tgz`, bytes, gzip: true };
};

/** `target` whose awaiting (and that of whatever its methods build) waits for `gate` first. */
function heldUntil<T extends object>(target: T, gate: Promise<void>): T {
  return new Proxy(target, {
    get(t, k) {
      const v: unknown = Reflect.get(t, k, t);
      if (k === 'then' && typeof v === 'function') {
        return (ok: (x: unknown) => void, fail: (e: unknown) => void) => gate.then(() => (v as PromiseLike<unknown>['then']).call(t, ok, fail));
      }
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const out: unknown = v.apply(t, args);
        return out !== null && typeof out === 'object' ? heldUntil(out, gate) : out;
      };
    },
  });
}

describeEachFlavour('a late part racing the whole begin', (flavour) => {
  let catalog: TestCatalog;
  let tokens: Record<string, string>;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    tokens = await collectorTokens(catalog, ['esx-a']);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('leaves the capture declared whole, and its commit goes through', async () => {
    const p = prepareCapture({ host: 'esx-a', artifacts: [small(0), small(1), small(2)] });
    const req = p.request;
    const first = await catalog.request(`/v1/captures/${req.captureId}/partial`, {
      method: 'POST',
      token: tokens['esx-a'],
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...req, artifacts: req.artifacts.slice(0, 1) }),
    });
    expect(first.status).toBe(200);

    // The second part: its writes wait until the whole begin below has answered.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let atWrite!: () => void;
    const writing = new Promise<void>((r) => (atWrite = r));
    const db = catalog.services.db;
    const slow = new Proxy(db, {
      get(t, k) {
        const v: unknown = Reflect.get(t, k, t);
        if (k === 'update') {
          return (...args: unknown[]) => {
            atWrite();
            return heldUntil((v as (...a: unknown[]) => object).apply(t, args), gate);
          };
        }
        return typeof v === 'function' ? v.bind(t) : v;
      },
    }) as Db;
    const late = beginCapture(
      { ...catalog.services, db: slow },
      { tokenId: 'late-part', role: 'collector', host: 'esx-a' },
      { ...req, artifacts: req.artifacts.slice(0, 2) },
      true,
      true,
    );
    late.catch(() => undefined);
    await writing;

    const whole = await begin(catalog, req, tokens['esx-a']);
    release();
    const answer = await late;
    expect(answer.state).toBe('open');

    const [row] = await db.select().from(captures).where(eq(captures.id, req.captureId));
    const stored = row.request as StoredRequest;
    expect(stored.partial).toBeUndefined();
    expect(stored.artifacts).toHaveLength(3);

    await uploadMissing(catalog, p, whole);
    const done = await commit(catalog, req.captureId, tokens['esx-a']);
    expect(done.state).toBe('committed');
    expect(done.artifacts.map((a) => a.fileName)).toEqual(['u0.tgz', 'u1.tgz', 'u2.tgz']);
  });
});
