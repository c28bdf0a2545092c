/** GET /v1/search?q=: whatever an operator pastes, typed and answered with scored hits. */
import { createRoute, z } from '@hono/zod-openapi';
import { isFormatError } from '../../formats/errors.js';
import { parseQuery, type SearchQuery } from '../../formats/ids.js';
import { requireRole } from '../http/auth.js';
import { ApiError } from '../errors.js';
import type { App } from '../context.js';
import { DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT, searchCatalog } from '../read/search.js';
import { READ_ERRORS } from '../schemas/common.js';
import { SearchResponse } from '../schemas/catalog.js';

const searchRoute = createRoute({
  method: 'get',
  path: '/v1/search',
  operationId: 'search',
  tags: ['catalog'],
  security: [{ bearer: [] }],
  summary: 'Search by VMFS UUID (any spelling or an 8+ digit prefix), naa./vml. id, label fragment, host, IQN or zvol path',
  middleware: [requireRole('operator')] as const,
  request: {
    query: z.object({
      q: z.string().max(1024).openapi({ description: 'What you know', example: 'naa.600144F0AABBCCDDEEFF001122334455' }),
      limit: z.coerce
        .number()
        .int()
        .min(1)
        .max(MAX_SEARCH_LIMIT)
        .optional()
        .openapi({ description: `At most this many hits (default ${DEFAULT_SEARCH_LIMIT})` }),
    }),
  },
  responses: { 200: { description: 'Typed hits, best first', content: { 'application/json': { schema: SearchResponse } } }, ...READ_ERRORS },
});

/** Registers GET /v1/search. */
export function registerSearchRoutes(app: App): void {
  app.openapi(searchRoute, async (c) => {
    const { q, limit } = c.req.valid('query');
    let query: SearchQuery;
    try {
      query = parseQuery(q);
    } catch (e) {
      if (isFormatError(e)) throw new ApiError('bad_request', `q: ${e.message}`);
      throw e;
    }
    const result = await searchCatalog(c.var.services.db, query, limit ?? DEFAULT_SEARCH_LIMIT);
    return c.json(result, 200);
  });
}
