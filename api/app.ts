/**
 * The one app factory: the Node server, the Lambda handler and every test build
 * the same app from injected services (docs/architecture.md, "The app and its routes").
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { HTTPException } from 'hono/http-exception';
import { getPath } from 'hono/utils/url';
import type { Context } from 'hono';
import {
  ApiError,
  ERROR_STATUS,
  type ErrorCode,
  RETRY_AFTER_SECONDS,
  TOO_MANY_RETRY_AFTER_SECONDS,
  describeError,
  errorBody,
  errorContext,
  toApiError,
} from './errors.js';
import { CONTROL_CHARS, LIMITS } from './ingest/limits.js';
import { gzipAnswers, inflateFailure, inflateRequest } from './http/content-encoding.js';
import { bodyLimit, SMALL_BODY_MAX_BYTES } from './http/body-limit.js';
import type { AppEnv, App, Services } from './context.js';
import { routeModules } from './routes/index.js';
import { registerDocsRoutes } from './routes/docs.js';
import { errorPage, notFoundPage, registerConsole, searchWithBlanks } from './console/index.js';
import { createBlobRoutes } from './routes/blobs.js';
import { servesOwnUrls } from './store/types.js';
import { VERSION } from './version.js';

/** JSON request bodies above this are refused with 413 before they are parsed (see LIMITS): a begin's (BEGIN_PATH). */
export const MAX_JSON_BODY_BYTES = LIMITS.requestBodyBytes;

/** The routes that take a begin's body, up to MAX_JSON_BODY_BYTES (every other one SMALL_BODY_MAX_BYTES): POST /v1/captures and POST /v1/captures/{id}/partial. */
const BEGIN_PATH = /^\/v1\/captures(?:\/[^/]+\/partial)?$/;

const PLAIN_URL = /^[!-$&-~]*$/;

/**
 * Why a request's path or query cannot be right, or null: a segment or value that does
 * not decode, or that holds NUL or another control character (no name the catalog
 * stores can hold one, and the database refuses NUL in text).
 */
export function pathOrQueryProblem(rawUrl: string): string | null {
  // Printable ASCII without a percent sign (most requests: ids, names, search terms) holds no
  // control character and no escape to decode, and parsing it escapes only printable ones.
  return PLAIN_URL.test(rawUrl) ? null : decodedUrlProblem(rawUrl);
}

/** pathOrQueryProblem's full check: decodes every path segment and query value. */
export function decodedUrlProblem(rawUrl: string): string | null {
  const url = new URL(rawUrl);
  for (const segment of url.pathname.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return 'the request path does not decode (bad percent-encoding)';
    }
    if (CONTROL_CHARS.test(decoded)) return 'the request path holds a NUL or control character';
  }
  let query: URLSearchParams;
  try {
    query = new URLSearchParams(url.search);
  } catch {
    return 'the query does not decode';
  }
  for (const [k, v] of query) {
    if (CONTROL_CHARS.test(k) || CONTROL_CHARS.test(v))
      return `query parameter ${JSON.stringify(k.replace(CONTROL_CHARS, '?').slice(0, 40))} holds a NUL or control character`;
  }
  if (/%(?![0-9A-Fa-f]{2})/.test(url.search)) return 'the query does not decode (bad percent-encoding)';
  return null;
}

/** The code of each 4xx an HTTPException (a validator's, a middleware's) carries, as the taxonomy maps it. */
const CODE_OF_STATUS = new Map<number, ErrorCode>(Object.entries(ERROR_STATUS).map(([code, status]) => [status, code as ErrorCode]));

/** Builds the catalog app around its services. */
export function createApp(services: Services, extraRoutes: Array<(app: App) => void> = []): App {
  const app = new OpenAPIHono<AppEnv>({
    // `//v1/…` is `/v1/…`: a base URL given with its trailing slash (the console's address, as
    // `npm start` prints it) before a path that starts with one, as the DR plan's
    // `"${CATALOG_URL}/v1/artifacts/…"` downloads and curl lines typed by hand do.
    getPath: (req) => getPath(req).replace(/^\/{2,}/, '/'),
    defaultHook: (result) => {
      if (!result.success) {
        const issues = result.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
        throw new ApiError('bad_request', `invalid request: ${issues.join('; ')}`);
      }
    },
  });

  app.use('*', async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && /^[\w.-]{1,100}$/.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    c.set('services', services);
    c.header('x-request-id', requestId);
    const started = performance.now();
    const problem = pathOrQueryProblem(c.req.url);
    if (problem) {
      // A console search pasted with a tab in it (a column of `zfs list -H`) is searched with blanks.
      const blanks = searchWithBlanks(c.req.method, c.req.path, c.req.url);
      if (blanks) return c.redirect(blanks, 303);
      throw new ApiError('bad_request', problem);
    }
    await next();
    // Never log headers: they carry bearer tokens.
    services.logger.debug('request', { requestId, method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) });
  });

  app.use('/v1/*', async (c, next) => {
    if (c.req.method === 'POST' || c.req.method === 'DELETE' || c.req.method === 'PATCH') {
      // A gzip body is held to the limit twice: as sent, then inflated when the route reads it,
      // after its token and role checks (inflateRequest).
      const limit = c.req.method === 'POST' && BEGIN_PATH.test(c.req.path) ? MAX_JSON_BODY_BYTES : SMALL_BODY_MAX_BYTES;
      return bodyLimit({
        maxSize: limit,
        onError: () => {
          throw new ApiError('payload_too_large', `request body over ${limit} bytes`);
        },
      })(c, async () => {
        inflateRequest(c, limit);
        await next();
      });
    }
    await next();
  });
  // Ingest answers (a commit's found ids, a begin's upload URLs) go gzipped to a client that
  // accepts it; anything under 1 KiB goes as is.
  // `/v1/captures/*` matches `/v1/captures` too: one registration, one pass per answer.
  app.use('/v1/captures/*', gzipAnswers);

  /** The JSON error a failure is answered with. */
  const errorAnswer = (thrown: Error, c: Context<AppEnv>): Response => {
    const requestId = c.var.requestId ?? randomUUID();
    // A validator that could not read a gzip body says "malformed"; the inflate knows why (413, 400).
    const err = (thrown instanceof HTTPException && inflateFailure(c)) || thrown;
    if (err instanceof HTTPException) {
      const status = err.status;
      const code = status >= 500 ? 'internal' : (CODE_OF_STATUS.get(status) ?? 'bad_request');
      // The route's media-type gate names no type: every body a route validates is JSON.
      const message =
        status === 415
          ? `the request body must be JSON: send it with Content-Type: application/json (got ${JSON.stringify(c.req.header('content-type')?.slice(0, 100) ?? 'no Content-Type')})`
          : err.message || code;
      return c.json(errorBody(code, status >= 500 ? 'internal error' : message, requestId), status);
    }
    if (err instanceof SyntaxError) return c.json(errorBody('bad_request', 'the request body is not valid JSON', requestId), 400);
    const api = toApiError(err);
    if (api.status >= 500) {
      // One line an operator can act on: the database's or store's own error, where it
      // happened, never parameters or bytes (see describeError).
      services.logger.error('request failed', {
        requestId,
        method: c.req.method,
        path: c.req.path,
        status: api.status,
        code: api.code,
        ...errorContext(err),
        ...(api === err && api.cause === undefined ? { error: api.message } : describeError(api === err ? api.cause : err)),
      });
    }
    if (api.code === 'service_unavailable') c.header('retry-after', String(RETRY_AFTER_SECONDS));
    else if (api.code === 'too_many_requests') c.header('retry-after', String(TOO_MANY_RETRY_AFTER_SECONDS));
    return c.json(errorBody(api.code, api.message, requestId, api.details), api.status);
  };
  // A browser's failed console page is a page (console/index.tsx errorPage); the JSON error otherwise.
  app.onError(async (thrown, c) => {
    const answer = errorAnswer(thrown, c);
    return (await errorPage(c, answer)) ?? answer;
  });

  app.notFound(
    async (c) => (await notFoundPage(c)) ?? c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`, c.var.requestId ?? randomUUID()), 404),
  );

  // The web console first: its session bridge for download links must run before the API's guards.
  registerConsole(app);
  for (const register of [...routeModules, ...extraRoutes]) register(app);
  // The filesystem store's signed upload/download URLs point at this API (S3 serves its own).
  if (servesOwnUrls(services.store)) app.route('/', createBlobRoutes(services.store));
  registerDocsRoutes(app, VERSION);
  return app;
}
