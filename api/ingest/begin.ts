/**
 * Begin, the first step of the ingest protocol (docs/architecture.md, "Ingest protocol"):
 * record the capture (idempotent on its id) and answer which chunks the store lacks,
 * with upload URLs to per-capture staging keys.
 */
import { createHash } from 'node:crypto';
import { and, eq, isNull, type SQL, sql } from 'drizzle-orm';
import type { ArtifactRef, BeginBody, BeginRequest, BeginResponse, UploadTarget } from '../../formats/protocol.js';
import { captures } from '../../db/schema.js';
import { queryRows, type Db } from '../../db/client.js';
import { assertHostAllowed } from './host-scope.js';
import type { Principal, Services } from '../context.js';
import { ApiError } from '../errors.js';
import { stagingKey } from '../store/types.js';
import { confirmHeld, heldBlobsJson, type HeldJson, heldRowsOf, PARTIAL_MAX_AGE_MS, pool, readHeldBlobs, STAGING_MAX_AGE_MS } from './staging.js';
import { checkBeginLimits, LIMITS } from './limits.js';
import { INGEST_LOCK_WAITED_QUERY } from '../retention/lock.js';
import { stagedSizes } from '../pipeline/verify.js';
import { deliveredChunks } from './chunks.js';
import { arrivedOf } from './arrived.js';

/**
 * Deterministic artifact id from (captureId, index), shaped like a UUID (version
 * nibble 5, RFC 4122 variant), so `rebuild` recreates the same ids and links.
 */
export function artifactId(captureId: string, index: number): string {
  const b = createHash('sha256').update(`vmfs-catalog/artifact/${captureId}/${index}`).digest();
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** 0001-01-01T00:00:00Z, the earliest instant a timestamptz holds in the common era (PostgreSQL has no year 0). */
export const EARLIEST_COLLECTED_AT = Date.parse('0001-01-01T00:00:00Z');
/**
 * 9999-12-31T23:59:59.999Z: later instants are written `+010000-…` (toISOString), which
 * PostgreSQL refuses; `9999-12-31T23:59:59.999-14:00` is one, and the datetime check takes it.
 */
export const LATEST_COLLECTED_AT = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * What identifies a capture: host, collection time (as an instant, so a retry may spell it
 * differently) and content — everything but how chunks travel (a repeat may add encodings).
 * `captures.collected_at` is written by the first begin only, so a repeat with another
 * time must be refused rather than let the stored request disagree with it. Answered in two
 * parts, the capture's and one per artifact, so a declaration in part can be held against the
 * whole one (`declaresPart`).
 */
function captureIdentity(req: BeginRequest): { head: string; artifacts: string[] } {
  const at = new Date(req.collectedAt);
  return {
    head: JSON.stringify([req.host.name, Number.isNaN(at.getTime()) ? req.collectedAt : at.toISOString()]),
    artifacts: req.artifacts.map((a) =>
      JSON.stringify([a.kind, a.fileName, a.sourcePath, a.device ?? null, a.size, a.sha256, a.chunks.map((c) => [c.sha256, c.size])]),
    ),
  };
}

/** Whether `part` is `whole` or its first artifacts, each unchanged (host, collection time and content; encodings aside). */
function declaresPart(whole: BeginRequest, part: BeginRequest): boolean {
  const w = captureIdentity(whole);
  const p = captureIdentity(part);
  return w.head === p.head && p.artifacts.length <= w.artifacts.length && p.artifacts.every((a, i) => a === w.artifacts[i]);
}

/**
 * A capture's stored request while its collector still reads: begun with the artifacts read
 * so far (POST /v1/captures/{id}/partial), it takes chunks as any open capture, and each later
 * declaration must hold it as its first artifacts; its commit is refused until a begin
 * (POST /v1/captures) declares it whole.
 */
export type StoredRequest = BeginRequest & { partial?: true };

/** Refuses the commit of a capture declared in part (409). */
export function assertDeclaredWhole(captureId: string, request: unknown): void {
  if ((request as StoredRequest | null)?.partial) {
    throw new ApiError(
      'conflict',
      `capture ${captureId} is declared in part (POST /v1/captures/{id}/partial); begin it with its whole declaration (POST /v1/captures) before its commit`,
    );
  }
}

/** Every distinct chunk of a request, first declaration first. */
export function distinctChunks(req: BeginRequest): Map<string, ArtifactRef['chunks'][number]> {
  const m = new Map<string, ArtifactRef['chunks'][number]>();
  for (const a of req.artifacts)
    for (const c of a.chunks) {
      const prev = m.get(c.sha256);
      // A later declaration with an encoding refines one without.
      if (!prev || (!prev.encoding && c.encoding)) m.set(c.sha256, c);
    }
  return m;
}
/**
 * The begin with every artifact declared by `previous` given the chunk list of that artifact:
 * one the same host committed (rows exist only for committed captures) with the same kind,
 * file name, source path, device, size and SHA-256. Anything else — an unknown id, another
 * host's, a field that differs — is one and the same 422, so a reference tells nothing about
 * what exists. The chunks taken are ones the host holds, and are verified at commit as any
 * declared chunk is. One query: the referenced chunk lists (repeats counted) are fetched only
 * when they fit in LIMITS.chunksPerCapture with the declared ones; past it, nothing resolves.
 */
export async function resolvePrevious(db: Db, body: BeginBody): Promise<BeginRequest> {
  const ids = body.artifacts.flatMap((a) => (a.chunks === undefined && a.previous ? [a.previous.toLowerCase()] : []));
  if (ids.length === 0) return body as BeginRequest;
  const declared = body.artifacts.reduce((n, a) => n + (a.chunks?.length ?? 0), 0);
  const rows = await queryRows<{
    id: string;
    kind: string;
    file_name: string;
    source_path: string;
    device: string | null;
    size: number | string;
    sha256: string;
    chunks: Array<{ sha256: string; size: number }> | string;
  }>(
    db,
    sql`
    WITH wanted AS (SELECT w.id FROM jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb) AS w(id)),
         found AS MATERIALIZED (
           SELECT a.id, jsonb_array_length(a.chunks) AS n FROM artifacts a
            WHERE a.host = ${body.host.name} AND a.id IN (SELECT id FROM wanted)),
         total AS (SELECT coalesce(sum(f.n), 0) AS n FROM wanted JOIN found f USING (id))
    SELECT a.id, a.kind, a.file_name, a.source_path, a.device, a.size, a.sha256, a.chunks
      FROM artifacts a JOIN found f USING (id), total
     WHERE total.n <= ${LIMITS.chunksPerCapture - declared}`,
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return {
    ...body,
    artifacts: body.artifacts.map((a, i) => {
      if (a.chunks !== undefined || !a.previous) return a as ArtifactRef;
      const r = byId.get(a.previous.toLowerCase());
      if (
        !r ||
        r.kind !== a.kind ||
        r.file_name !== a.fileName ||
        r.source_path !== a.sourcePath ||
        r.device !== (a.device ?? null) ||
        Number(r.size) !== a.size ||
        r.sha256 !== a.sha256
      ) {
        throw new ApiError(
          'unprocessable',
          `artifact ${i}: its previous artifact is not one host ${body.host.name} committed with this kind, file name, source path, device, size and sha256; declare its chunks`,
        );
      }
      const { previous: _, ...ref } = a;
      const chunks = typeof r.chunks === 'string' ? (JSON.parse(r.chunks) as Array<{ sha256: string; size: number }>) : r.chunks;
      return { ...ref, chunks: chunks.map((c) => ({ sha256: c.sha256, size: c.size })) };
    }),
  };
}

/**
 * Captures a host may have begun and not committed within STAGING_MAX_AGE_MS; a new one past
 * that is answered 429 with Retry-After, and the collector keeps it spooled for its next
 * run. A collector sends its spooled captures one after another, each begun and committed
 * before the next, so a working one has one or two open; the bound is what keeps a token
 * from filling the database with begin requests (a `previous` reference of a few bytes
 * stands for an artifact's whole chunk list, stored with the capture) that nothing commits.
 * Repeating the begin of a capture already open is never refused. They count in any letter case of
 * the host's name, as its collector tokens cover every spelling (host-scope.ts): counted by the name
 * as sent, a token for esx01 held 32 under each of esx01, ESX01, Esx01, …. An open capture past that
 * age stops counting, and the staging sweep deletes it (api/ingest/staging.ts sweepStaging).
 */
export const MAX_OPEN_CAPTURES = 32;

/**
 * Captures one collector token may have begun and not committed within STAGING_MAX_AGE_MS, over
 * every host of its scope. MAX_OPEN_CAPTURES bounds each host name, and a wildcard token
 * (`esxi-*`, one SSH proxy collecting a cluster) covers as many names as it cares to invent: 32
 * under each of esxi-1, esxi-2, … was no bound at all. A proxy sends its hosts' captures one
 * after another, each begun and committed before the next, so a working one has a few open; 256
 * leaves two for each host of a proxy serving 128 (a vSphere 7 or 8 cluster holds at most 96, by VMware's configuration maximums). Past it a
 * new capture is answered 429 as past the host's bound. Counted by `captures.opened_by` (migration
 * 0025): a capture begun before it has none and counts for no token. Admin tokens are not held to it.
 */
export const MAX_OPEN_CAPTURES_PER_TOKEN = 256;

/**
 * Hosts a collector token may bring into the catalog is the setting COLLECTOR_TOKEN_HOSTS_MAX
 * (256 by default): a host comes in with the commit of its first capture, and a wildcard token
 * (`esxi-*`) covers every name its collector cares to invent — each a row in `hosts`, in the
 * hosts list, the search and the stale-host checks, for good (hosts are never dropped). A token's
 * hosts are those its commits brought in (`hosts.introduced_by`, migration 0026) and the names
 * its open captures give that no host holds yet (brought in once one commits), so a begin past
 * the bound is refused before anything is stored. Only a begin naming a new host is held to it:
 * hosts already there, whoever brought them (an admin, another token, this one), are begun for
 * as ever. Names count as the catalog keeps them, as sent: `ESX01` beside `esx01` is a host of
 * its own, which is how an exact scope could otherwise add one for each spelling. A host brought
 * in before migration 0026 (or rebuilt from the store) counts for no token.
 */
function hostsOfToken(tokenId: string): SQL {
  return sql`((SELECT count(*) FROM hosts h WHERE h.introduced_by = ${tokenId})
            + (SELECT count(DISTINCT o.host) FROM captures o
                WHERE o.opened_by = ${tokenId} AND o.state = 'open' AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.name = o.host)))`;
}

/** True when `host` is in the catalog, or a name an open capture of `tokenId` gives (not new to the token). */
function hostKnownTo(tokenId: string, host: string): SQL {
  return sql`(EXISTS (SELECT 1 FROM hosts h WHERE h.name = ${host})
           OR EXISTS (SELECT 1 FROM captures o WHERE o.opened_by = ${tokenId} AND o.state = 'open' AND o.host = ${host}))`;
}

/**
 * The 403 of a begin naming a new host past the token's bound. `details.limit` names the setting,
 * so a collector tells it from a refused token: only this host's captures wait, its others go.
 */
function tooManyHosts(principal: Principal, host: string, held: number, max: number): ApiError {
  return new ApiError(
    'forbidden',
    `this collector token (host scope ${principal.host}) has brought ${held} hosts into the catalog, the most COLLECTOR_TOKEN_HOSTS_MAX (${max}) allows, and may not bring in host ${host}; its begins for hosts the catalog holds are taken as before. Give the host a token of its own, or raise COLLECTOR_TOKEN_HOSTS_MAX`,
    { limit: 'COLLECTOR_TOKEN_HOSTS_MAX', host, hosts: held, max },
  );
}

/**
 * POST /v1/captures: records the capture (idempotent on its id) and answers which chunks to
 * upload where; `minimal` (`Prefer: return=minimal`) leaves the present chunks unlisted.
 */
export async function beginCapture(services: Services, principal: Principal, body: BeginBody, minimal = false, partial = false): Promise<BeginResponse> {
  const { db, store, config, now } = services;
  assertHostAllowed(principal, body.host.name);
  const request = await resolvePrevious(db, body);
  const req: BeginRequest = { ...request, captureId: request.captureId.toLowerCase() };
  checkBeginLimits(req);
  const collectedAt = new Date(req.collectedAt);
  if (Number.isNaN(collectedAt.getTime())) throw new ApiError('bad_request', `collectedAt is not a date: ${req.collectedAt}`);
  // PostgreSQL has no year 0: an earlier time (0000-…, or 0001-01-01 at a positive offset) cannot be stored.
  if (collectedAt.getTime() < EARLIEST_COLLECTED_AT) throw new ApiError('bad_request', `collectedAt is before year 1 in UTC: ${req.collectedAt}`);
  if (collectedAt.getTime() > LATEST_COLLECTED_AT) throw new ApiError('bad_request', `collectedAt is after year 9999 in UTC: ${req.collectedAt}`);
  // A capture needs the store (uploads, then the manifest): while it has just shown an
  // outage, say "later" now rather than hand out upload URLs that cannot work.
  if (store.recentlyUnavailable?.()) throw new ApiError('service_unavailable', 'the blob store is unavailable; retry after Retry-After seconds');

  // The open row is written under the sweep lock, shared (api/retention/lock.ts): from here
  // on garbage collection sees this capture's chunks as referenced, and a sweep batch in
  // progress finishes before this begin says which chunks are present. One statement takes
  // the lock and inserts (its implicit transaction holds the lock until the row is
  // committed), and reads the `blobs` rows of the declared chunks the host holds: a new
  // capture's begin costs one round trip here, not five. Those rows are read with the snapshot
  // the statement started with: when it had to wait for a sweep batch (`waited`) they may be
  // rows the batch deleted, and are read again.
  const begunAt = now().toISOString();
  const openSince = new Date(now().getTime() - STAGING_MAX_AGE_MS).toISOString();
  const chunks = distinctChunks(req);
  const shas = [...chunks.keys()];
  // The token whose open captures and hosts are counted: a collector's (MAX_OPEN_CAPTURES_PER_TOKEN, COLLECTOR_TOKEN_HOSTS_MAX).
  const counted = principal.role === 'collector' ? principal.tokenId : null;
  const hostsMax = config.COLLECTOR_TOKEN_HOSTS_MAX;
  const [begun] = await queryRows<{
    id: string | null;
    waited: boolean | null;
    held: HeldJson;
    host_room: boolean | null;
    token_room: boolean | null;
    hosts_room: boolean | null;
    new_host: boolean | null;
  }>(
    db,
    sql`
    WITH gate AS MATERIALIZED (${INGEST_LOCK_WAITED_QUERY}),
         room AS MATERIALIZED (
           SELECT (SELECT count(*) FROM captures o
                    WHERE lower(o.host) = lower(${req.host.name}) AND o.state = 'open'
                      AND coalesce(o.last_begun_at, o.received_at) > ${openSince}::timestamptz) < ${MAX_OPEN_CAPTURES} AS host_room,
                  (${counted}::text IS NULL OR (SELECT count(*) FROM captures o
                    WHERE o.opened_by = ${counted} AND o.state = 'open'
                      AND coalesce(o.last_begun_at, o.received_at) > ${openSince}::timestamptz) < ${MAX_OPEN_CAPTURES_PER_TOKEN}) AS token_room,
                  ${counted ? sql`NOT ${hostKnownTo(counted, req.host.name)}` : sql`FALSE`} AS new_host
             FROM gate),
         hosts_room AS MATERIALIZED (
           SELECT CASE WHEN r.new_host THEN ${counted ? hostsOfToken(counted) : sql`0`} < ${hostsMax} ELSE TRUE END AS hosts_room FROM room r),
         inserted AS (
           INSERT INTO captures (id, host, state, collected_at, received_at, collector_version, imported, request, last_begun_at, opened_by)
           SELECT ${req.captureId}, ${req.host.name}, 'open', ${collectedAt.toISOString()}::timestamptz, ${begunAt}::timestamptz,
                  ${req.collector.version}, ${req.collector.mode === 'import'}, ${JSON.stringify(partial ? { ...req, partial: true } : req)}::jsonb, ${begunAt}::timestamptz,
                  ${principal.tokenId}
             FROM room, hosts_room
            WHERE room.host_room AND room.token_room AND hosts_room.hosts_room
           ON CONFLICT DO NOTHING RETURNING id)
    SELECT (SELECT id FROM inserted) AS id, (SELECT waited FROM gate) AS waited,
           CASE WHEN (SELECT waited FROM gate) THEN NULL ELSE ${heldBlobsJson(req.host.name, shas)} END AS held,
           room.host_room, room.token_room, hosts_room.hosts_room, room.new_host
      FROM room, hosts_room`,
  );
  // A begin naming a new host counts again once its capture is in: two such begins at once may
  // each have found room for one more. One that now finds the bound passed drops its capture and
  // is refused (both may be; a later begin finds the room).
  if (counted && begun?.id && begun.new_host) {
    const [recount] = await queryRows<{ n: number | string }>(db, sql`SELECT ${hostsOfToken(counted)} AS n`);
    if (Number(recount?.n ?? 0) > hostsMax) {
      await db.delete(captures).where(and(eq(captures.id, req.captureId), eq(captures.state, 'open')));
      throw tooManyHosts(principal, req.host.name, hostsMax, hostsMax);
    }
  }
  const inserted = begun?.id ? [begun.id] : [];
  // A repeat (a retry, or a collector resuming its spool): the capture must be the same one. The
  // row is written only as it was read (its state open, its latest begin the one read): a part
  // the collector gave up waiting for may still run here beside the begin that declares the
  // capture whole, and written over that declaration it would hold the commit back (409) — so a
  // repeat that finds the row moved on decides again on the row as it is now.
  for (let attempt = 0; inserted.length === 0; attempt++) {
    const [row] = await db.select().from(captures).where(eq(captures.id, req.captureId));
    // Dropped or swept since this begin's insert found it: begun afresh.
    if (!row && attempt > 0) return beginCapture(services, principal, body, minimal, partial);
    if (!row) {
      // Refused by a bound, as the begin's own statement found the counts (they may have moved since).
      if (begun?.hosts_room === false) throw tooManyHosts(principal, req.host.name, hostsMax, hostsMax);
      if (begun?.token_room === false) {
        throw new ApiError(
          'too_many_requests',
          `this collector token (host scope ${principal.host}) has ${MAX_OPEN_CAPTURES_PER_TOKEN} captures begun and not committed within ${STAGING_MAX_AGE_MS / 3600_000} h over all its hosts; commit them, or retry after Retry-After seconds (the staging sweep drops an open capture ${STAGING_MAX_AGE_MS / 3600_000} h after its latest begin, one still declared in part after ${PARTIAL_MAX_AGE_MS / 3600_000} h)`,
        );
      }
      if (begun?.host_room === false) {
        throw new ApiError(
          'too_many_requests',
          `host ${req.host.name} (in any letter case) has ${MAX_OPEN_CAPTURES} captures begun and not committed within ${STAGING_MAX_AGE_MS / 3600_000} h; commit them, or retry after Retry-After seconds (the staging sweep drops an open capture ${STAGING_MAX_AGE_MS / 3600_000} h after its latest begin, one still declared in part after ${PARTIAL_MAX_AGE_MS / 3600_000} h)`,
        );
      }
      // Its id was taken when the insert ran, and the capture dropped or swept since: begun afresh.
      return beginCapture(services, principal, body, minimal, partial);
    }
    const accepted = row.request as StoredRequest;
    // The same declaration; or one that holds the capture's declaration in part as its first
    // artifacts (extending it, or declaring it whole); or, in part, the first artifacts of a
    // capture declared whole already (a late repeat: the whole one stays).
    const extended = row.state === 'open' && !!accepted.partial && declaresPart(req, accepted);
    if (row.host !== req.host.name || !(extended || (declaresPart(accepted, req) && (partial || declaresPart(req, accepted))))) {
      throw new ApiError(
        'conflict',
        accepted.partial && row.host === req.host.name
          ? `capture ${req.captureId} is declared in part with other artifacts: a later declaration must hold the earlier one's artifacts, unchanged, as its first; pick a new capture id`
          : `capture ${req.captureId} already exists with a different host, collection time or artifacts; pick a new capture id`,
      );
    }
    if (row.state === 'committed') return { captureId: req.captureId, state: 'committed', missing: [], ...(minimal ? {} : { present: shas }) };
    // A repeat may declare encodings the first call did not: keep the newest declaration.
    // The time of this begin starts its upload URLs' lives (the staging sweep waits for them),
    // and names the declaration a batch reads (chunks.ts Declarations): a changed one moves it on,
    // and none moves it back to the time of an earlier declaration.
    const next: StoredRequest = !partial ? req : extended ? { ...req, partial: true } : accepted;
    const changed = JSON.stringify(accepted) !== JSON.stringify(next);
    const last = row.lastBegunAt?.getTime() ?? 0;
    const written = await db
      .update(captures)
      .set({ lastBegunAt: new Date(Math.max(now().getTime(), last + (changed ? 1 : 0))), ...(changed ? { request: next } : {}) })
      .where(
        and(
          eq(captures.id, req.captureId),
          eq(captures.state, 'open'),
          row.lastBegunAt ? eq(captures.lastBegunAt, row.lastBegunAt) : isNull(captures.lastBegunAt),
        ),
      )
      .returning({ id: captures.id });
    if (written.length > 0) break;
    if (attempt >= 7)
      throw new ApiError('service_unavailable', `capture ${req.captureId} is being begun by other requests at once; retry after Retry-After seconds`);
  }

  // Present means: this host holds the chunk (dedup is per host, see api/ingest/staging.ts) and
  // the store answers that it has it, or this capture already staged it (the commit verifies)
  // or delivered it through the catalog (verified on arrival, api/ingest/chunks.ts).
  const known = begun?.waited ? await readHeldBlobs(db, req.host.name, shas) : heldRowsOf(begun?.held ?? null);
  const held = await confirmHeld(db, store, now(), known);
  // Staged and delivered chunks matter only for chunks the host does not hold (an unchanged
  // run lists nothing), and only for a capture begun before (uploads follow a begin).
  const again = inserted.length === 0 && !shas.every((s) => held.has(s));
  const [staged, delivered] = again
    ? await Promise.all([stagedSizes(store, req.captureId), deliveredChunks(db, req.captureId)])
    : [new Map<string, number>(), new Map<string, { size: number }>()];
  const present: string[] = [];
  const lacking: string[] = [];
  for (const sha of shas) {
    const c = chunks.get(sha)!;
    if (held.has(sha) || staged.get(sha) === (c.storedSize ?? c.size) || delivered.get(sha)?.size === c.size) present.push(sha);
    else lacking.push(sha);
  }
  // S3 servers verify Content-MD5, which is what binds an upload URL to one body; only
  // chunks that need an upload URL must declare it.
  const noMd5 = store.kind === 's3' ? lacking.filter((sha) => !chunks.get(sha)!.storedMd5) : [];
  if (noMd5.length > 0) {
    // Refused as sent: the capture this begin opened goes again, or a client repeating the
    // mistake would fill its host's open captures (MAX_OPEN_CAPTURES) and be refused with 429.
    if (inserted.length > 0) await db.delete(captures).where(and(eq(captures.id, req.captureId), eq(captures.state, 'open')));
    throw new ApiError(
      'bad_request',
      `chunk ${noMd5[0]}${noMd5.length > 1 ? ` (and ${noMd5.length - 1} more)` : ''} needs storedMd5 (base64 MD5 of the bytes as uploaded): this catalog stores chunks in S3, which binds upload URLs to it`,
    );
  }
  // The host's own chunks count with those its batches bring for the early work of each
  // artifact (a changed dump: most of its chunks held, one or two sent).
  if (lacking.length > 0) arrivedOf(store).held(req.captureId, new Set(held.keys()));
  const missing: UploadTarget[] = [];
  if (lacking.length > 0) await store.openStaging(req.captureId);
  await pool(lacking, 16, async (sha) => {
    const c = chunks.get(sha)!;
    const encoding = c.encoding ?? 'identity';
    // Never the chunk's own key: an upload lands in this capture's staging area and is
    // published by the commit only after verification (write once).
    const signed = await store.presignPut(stagingKey(req.captureId, sha), {
      contentLength: c.storedSize ?? c.size,
      payloadSha256: c.storedSha256 ?? sha,
      ...(c.storedMd5 ? { contentMd5: c.storedMd5 } : {}),
      expiresInSeconds: config.UPLOAD_URL_TTL,
    });
    missing.push({ sha256: sha, encoding, method: 'PUT', url: signed.url, headers: signed.headers, expiresAt: signed.expiresAt.toISOString() });
  });
  const order = new Map(shas.map((s, i) => [s, i]));
  missing.sort((a, b) => order.get(a.sha256)! - order.get(b.sha256)!);
  if (minimal) return { captureId: req.captureId, state: 'open', missing };
  present.sort((a, b) => order.get(a)! - order.get(b)!);
  return { captureId: req.captureId, state: 'open', missing, present };
}
