/** OpenAPI schemas shared by several route modules. */
import { z } from '@hono/zod-openapi';

export const ErrorSchema = z.object({
  error: z.object({
    code: z.string().openapi({ example: 'not_found' }),
    message: z.string(),
    requestId: z.string(),
  }),
}).openapi('Error');
