/**
 * Request body limits that read nothing when the request states its length. hono's bodyLimit
 * first asks for the request's body stream (`c.req.raw.body`), and on the Node server that
 * turns the request into a web Request reading its socket through a ReadableStream: every
 * later read of the body (a begin's JSON, a chunk batch's bytes) then went through that stream
 * instead of straight from the socket. A body with a Content-Length (and no Transfer-Encoding)
 * is held to the limit by that header, as hono holds it; one without (chunked) goes to hono's
 * bodyLimit, which counts it as it streams.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit as streamedBodyLimit } from 'hono/body-limit';

type BodyLimitOptions = Parameters<typeof streamedBodyLimit>[0];

/**
 * Every other POST, PATCH and DELETE under /v1 takes at most this, as sent and as inflated: a
 * token's creation (a name of at most 200 characters, a host scope of at most 255) or an admin's run
 * takes a few hundred bytes, and a route that reads no body (a commit, a scan) none. Held to the
 * begin's 64 MiB, an admin's or operator's body of 64 MiB of `{},` in a field the route ignores
 * was parsed whole (1.5 GB of heap, tens of seconds of the event loop) and answered 201 after.
 * Routes with a bound of their own (an ack, a pin, a chunk batch) keep it.
 */
export const SMALL_BODY_MAX_BYTES = 16 * 1024;

/** The stated length of the bodies replaced by one of another length (an inflated gzip body, api/http/content-encoding.ts). */
const sentLengths = new WeakMap<Context, number>();

/** The request body's length as sent (Content-Length, without Transfer-Encoding), if it says. */
export function sentLength(c: Context): number | undefined {
  const replaced = sentLengths.get(c);
  if (replaced !== undefined) return replaced;
  if (c.req.header('transfer-encoding') !== undefined) return undefined;
  const stated = c.req.header('content-length');
  return stated !== undefined && /^\d{1,15}$/.test(stated) ? Number(stated) : undefined;
}

/** Keeps the body's length as sent before its body is replaced: sentLength answers it after. */
export function keepSentLength(c: Context): void {
  const sent = sentLength(c);
  if (sent !== undefined) sentLengths.set(c, sent);
}

/** hono's bodyLimit, without touching the body of a request that says how long it is. */
export function bodyLimit(options: BodyLimitOptions): MiddlewareHandler {
  const streamed = streamedBodyLimit(options);
  return async (c, next) => {
    const length = sentLength(c);
    if (length === undefined) return streamed(c, next);
    if (length > options.maxSize) {
      if (options.onError) return options.onError(c);
      return streamed(c, next);
    }
    await next();
  };
}
