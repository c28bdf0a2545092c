/** Shapes every route shares: the error body, error responses, health. */
import { z } from '@hono/zod-openapi';
import { ERROR_STATUS, type ErrorCode } from '../errors.js';

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

/** Error responses every read route can give. */
export const READ_ERRORS = {
  400: err('Bad identifier or parameter'),
  401: err('No or bad token'),
  403: err("The token's role may not read the catalog"),
  404: err('Not in the catalog'),
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

/** Error responses of the admin routes. */
export const ADMIN_ERRORS = {
  401: err('No or bad token'),
  403: err("The token's role is not admin"),
} as const;
