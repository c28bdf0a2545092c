/** Admin: create and revoke bearer tokens. */
import { createRoute, z } from '@hono/zod-openapi';
import { listTokens } from '../read/tokens.js';
import { requireRole } from '../http/auth.js';
import type { App } from '../context.js';
import { recordAudit } from '../http/audit.js';
import { createToken, revokeToken } from '../admin/tokens.js';
import { ADMIN_ERRORS, ErrorSchema, JSON_TOO_LARGE, NOT_JSON } from '../schemas/common.js';
import { TokenCreate, TokenCreated, TokenRow } from '../schemas/admin.js';

const create = createRoute({
  method: 'post',
  path: '/v1/tokens',
  operationId: 'createToken',
  summary: 'Create a token (the secret is shown once)',
  tags: ['admin'],
  security: [{ bearer: [] }],
  middleware: [requireRole('admin')] as const,
  request: { body: { content: { 'application/json': { schema: TokenCreate } }, required: true } },
  responses: {
    201: { description: 'Created; the secret is in `token` and is never shown again', content: { 'application/json': { schema: TokenCreated } } },
    ...ADMIN_ERRORS,
    400: { description: 'Bad request', content: { 'application/json': { schema: ErrorSchema } } },
    413: JSON_TOO_LARGE,
    415: NOT_JSON,
  },
});

const list = createRoute({
  method: 'get',
  path: '/v1/tokens',
  operationId: 'listTokens',
  summary: 'List tokens, never their secrets',
  tags: ['admin'],
  security: [{ bearer: [] }],
  middleware: [requireRole('admin')] as const,
  responses: {
    200: { description: 'Tokens (never their secrets)', content: { 'application/json': { schema: z.object({ tokens: z.array(TokenRow) }) } } },
    ...ADMIN_ERRORS,
  },
});

const revoke = createRoute({
  method: 'delete',
  path: '/v1/tokens/{id}',
  operationId: 'revokeToken',
  summary: 'Revoke a token',
  tags: ['admin'],
  security: [{ bearer: [] }],
  middleware: [requireRole('admin')] as const,
  request: { params: z.object({ id: z.string().min(1).max(100) }) },
  responses: {
    200: { description: 'Revoked', content: { 'application/json': { schema: z.object({ id: z.string(), revokedAt: z.string() }) } } },
    ...ADMIN_ERRORS,
    404: { description: 'No such token', content: { 'application/json': { schema: ErrorSchema } } },
    409: {
      description: 'The bootstrap admin token of CATALOG_BOOTSTRAP_TOKEN (id `bootstrap`): a setting, retired by unsetting it',
      content: { 'application/json': { schema: ErrorSchema } },
    },
  },
});

/** Registers the token routes. */
export function registerTokenRoutes(app: App): void {
  app.openapi(create, async (c) => {
    const body = c.req.valid('json');
    const created = await createToken(c.var.services, body);
    await recordAudit(c, 'token-create', created.id, { role: created.role, host: created.host, name: created.name });
    return c.json(created, 201);
  });
  app.openapi(list, async (c) => {
    return c.json({ tokens: await listTokens(c.var.services.db) }, 200);
  });
  app.openapi(revoke, async (c) => {
    const { id } = c.req.valid('param');
    const at = await revokeToken(c.var.services, id);
    await recordAudit(c, 'token-revoke', id);
    return c.json({ id, revokedAt: at.toISOString() }, 200);
  });
}
