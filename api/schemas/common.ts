/** Shapes every route shares: the error body, error responses, health. */
import { z } from '@hono/zod-openapi';
import { ERROR_STATUS, type ErrorCode, RETRY_AFTER_SECONDS } from '../errors.js';
import { SMALL_BODY_MAX_BYTES } from '../http/body-limit.js';

/** Every code an error answer may carry: the taxonomy's own keys, so a client can switch on them. */
const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES).openapi({ example: 'not_found', description: 'What went wrong, one code per HTTP status: a client may switch on it' }),
      message: z.string(),
      requestId: z.string(),
    }),
  })
  .openapi('Error');

/** An error response entry for createRoute. */
export const err = (description: string) => ({ description, content: { 'application/json': { schema: ErrorSchema } } });

/** The Retry-After header a 503 or a 429 carries (api/app.ts onError). */
export const RETRY_AFTER_HEADER = z.object({ 'retry-after': z.string().describe('Seconds to wait before sending the request again') });

/** A 503 (or 429) entry: the error body plus its Retry-After header. */
export const retryLater = (description: string) => ({ ...err(description), headers: RETRY_AFTER_HEADER });

/**
 * What any route that reads the database or the store answers while either is down or does
 * not answer in time (api/errors.ts toApiError): every guarded route does, since checking its
 * token reads the database.
 */
export const UNAVAILABLE = retryLater(
  `The catalog's database or store is unavailable or did not answer in time; wait the seconds of the Retry-After header (${RETRY_AFTER_SECONDS}), then send the request again`,
);

/** Error responses every read route can give. */
export const READ_ERRORS = {
  400: err('Bad identifier or parameter'),
  401: err('No or bad token'),
  403: err("The token's role may not read the catalog"),
  404: err('Not in the catalog'),
  503: UNAVAILABLE,
} as const;

export const Health = z
  .object({
    status: z.string(),
    checks: z.record(z.string(), z.string()).optional().describe('database and store: "ok", or what failed'),
  })
  .openapi('Health');

/** Any route answers this for a path or query holding NUL, control characters or bad percent-encoding (api/app.ts). */
export const PATH_ERROR = err('A path or query with NUL, control characters or bad percent-encoding');

/** What a route that takes a JSON body answers to a body sent as another media type (api/app.ts). */
export const NOT_JSON = err('The body is not sent as JSON (Content-Type: application/json)');

/** What a POST, PATCH or DELETE under /v1 but a begin answers to a body over the limit (api/http/body-limit.ts SMALL_BODY_MAX_BYTES). */
export const JSON_TOO_LARGE = err(`The request body is over ${SMALL_BODY_MAX_BYTES} bytes, as sent or inflated`);

/** Error responses of the admin routes (a route with its own 400 puts it after these). */
export const ADMIN_ERRORS = {
  400: PATH_ERROR,
  401: err('No or bad token'),
  403: err("The token's role is not admin"),
  503: UNAVAILABLE,
} as const;
