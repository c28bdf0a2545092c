/**
 * A catalog stand-in for answers the real one gives only in rare states (a commit
 * refused with 422 after it deleted a corrupt chunk, a token refused mid-run): it
 * speaks the ingest protocol, keeps PUT chunks in memory and logs every request.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { ArtifactRef, BeginBody, BeginRequest } from '../../formats/index.js';

export interface ScriptedCatalog {
  url: string;
  /** Method and path of each request, in order. */
  log: string[];
  chunks: Map<string, Buffer>;
  /** Each begin as taken (inflated), with its Prefer header and whether it came gzipped. */
  begins: Array<{ prefer: string | undefined; gzipped: boolean; body: BeginBody }>;
  /** How the next requests are answered. */
  mode: { token: string; refuse?: 401 | 403; commit422: number; putStatus?: number; answer?: ScriptedAnswer; plainOnly?: boolean };
  close(): Promise<void>;
}

/**
 * Answers a request itself instead of the protocol (undefined: the protocol answers).
 * `captureId` is the capture a begin or commit names.
 */
export type ScriptedAnswer = (req: {
  method: string;
  path: string;
  captureId: string | null;
}) => { status: number; headers?: Record<string, string>; body?: unknown } | undefined;

/** Starts the stand-in on 127.0.0.1; `commit422` commits are refused (each deletes one stored chunk). */
export async function startScriptedCatalog(token: string): Promise<ScriptedCatalog> {
  const begins = new Map<string, BeginRequest>();
  const committed = new Map<string, ArtifactRef>();
  const cat: ScriptedCatalog = {
    url: '',
    log: [],
    chunks: new Map(),
    begins: [],
    mode: { token, commit422: 0 },
    close: () => new Promise((r) => server.close(() => r())),
  };
  const json = (res: any, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    const sent = Buffer.concat(parts);
    const gzipped = req.headers['content-encoding'] === 'gzip';
    // A catalog that predates gzip bodies reads the bytes as JSON, and refuses them.
    if (gzipped && cat.mode.plainOnly) return json(res, 400, { error: { code: 'bad_request', message: 'the request body is not valid JSON' } });
    const body = gzipped ? gunzipSync(sent) : sent;
    const path = new URL(req.url!, 'http://x').pathname;
    cat.log.push(`${req.method} ${path}`);
    if (req.headers.authorization !== `Bearer ${cat.mode.token}` || cat.mode.refuse) {
      const status = cat.mode.refuse ?? 401;
      return json(res, status, {
        error: { code: status === 401 ? 'unauthorized' : 'forbidden', message: status === 401 ? 'invalid token' : 'host not in token scope' },
      });
    }
    const named =
      /^\/v1\/captures\/([^/]+)\/commit$/.exec(path)?.[1] ?? (path === '/v1/captures' ? (JSON.parse(body.toString('utf8')) as BeginRequest).captureId : null);
    const scripted = cat.mode.answer?.({ method: req.method!, path, captureId: named });
    if (scripted) {
      res.writeHead(scripted.status, { 'content-type': 'application/json', ...scripted.headers });
      return res.end(JSON.stringify(scripted.body ?? {}));
    }
    if (req.method === 'PUT' && path.startsWith('/put/')) {
      if (cat.mode.putStatus) return json(res, cat.mode.putStatus, { error: { code: 'AccessDenied', message: 'Request has expired' } });
      cat.chunks.set(path.slice(5), body);
      res.writeHead(200);
      return res.end();
    }
    if (req.method === 'POST' && path === '/v1/captures') {
      const taken = JSON.parse(body.toString('utf8')) as BeginBody;
      cat.begins.push({ prefer: req.headers.prefer as string | undefined, gzipped, body: taken });
      // An artifact declared by `previous` takes the chunks of the committed one, as the catalog does.
      const artifacts = taken.artifacts.map((a) => {
        const before = a.previous ? committed.get(a.previous) : undefined;
        return a.chunks ? a : before?.sha256 === a.sha256 ? { ...a, chunks: before.chunks } : null;
      });
      if (artifacts.includes(null))
        return json(res, 422, { error: { code: 'unprocessable', message: 'artifact: previous is not one this host committed; declare its chunks' } });
      const b = { ...taken, artifacts } as BeginRequest;
      begins.set(b.captureId, b);
      const all = new Map(b.artifacts.flatMap((a) => a.chunks.map((ch) => [ch.sha256, ch] as const)));
      const missing = [...all.values()]
        .filter((ch) => !cat.chunks.has(ch.sha256))
        .map((ch) => ({
          sha256: ch.sha256,
          encoding: ch.encoding ?? 'identity',
          method: 'PUT',
          url: `${cat.url}/put/${ch.sha256}`,
          headers: {},
          expiresAt: new Date(Date.now() + 3600_000).toISOString(),
        }));
      return json(res, 200, { captureId: b.captureId, state: 'open', missing, present: [...all.keys()].filter((s) => cat.chunks.has(s)) });
    }
    const m = /^\/v1\/captures\/([^/]+)\/commit$/.exec(path);
    if (req.method === 'POST' && m) {
      const b = begins.get(m[1])!;
      if (cat.mode.commit422 > 0) {
        cat.mode.commit422--;
        cat.chunks.delete(b.artifacts[0].chunks[0].sha256);
        return json(res, 422, { error: { code: 'chunk_mismatch', message: 'a chunk did not match its hash and was deleted; upload it again' } });
      }
      for (const [i, a] of b.artifacts.entries()) committed.set(`${b.captureId}/${i}`, a);
      return json(res, 200, {
        captureId: b.captureId,
        state: 'committed',
        committedAt: new Date().toISOString(),
        manifestKey: `manifests/x/${b.captureId}.json.gz`,
        artifacts: b.artifacts.map((a, i) => ({
          id: `${b.captureId}/${i}`,
          kind: a.kind,
          fileName: a.fileName,
          parseStatus: 'opaque',
          parseError: null,
          found: {},
        })),
      });
    }
    json(res, 404, { error: { code: 'not_found', message: path } });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cat.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return cat;
}
