/** The LUN view: one device (NAA/EUI/t10, any spelling, or a vml) with its volumes, extents and LUs. */
import { createRoute, z } from '@hono/zod-openapi';
import { requireRole } from '../http/auth.js';
import type { App } from '../context.js';
import { deviceIdParam } from '../http/params.js';
import { getLun } from '../read/volumes.js';
import { READ_ERRORS } from '../schemas/common.js';
import { LunSchema } from '../schemas/catalog.js';

const getLunRoute = createRoute({
  method: 'get',
  path: '/v1/luns/{deviceId}',
  operationId: 'getLun',
  tags: ['catalog'],
  security: [{ bearer: [] }],
  summary: 'A device (LUN) with the volumes on it, its extents, the LUs presenting it, artifacts and events',
  middleware: [requireRole('operator')] as const,
  request: {
    params: z.object({
      deviceId: z.string().min(1).max(300).openapi({
        description: '`naa.…` in any case (`naa.…:1`, a partition as esxcli prints it, names its device), bare hex, `eui.`/`t10.`, or a `vml.` id',
        example: 'naa.600144f0aabbccddeeff001122334455',
      }),
    }),
  },
  responses: { 200: { description: 'The device', content: { 'application/json': { schema: LunSchema } } }, ...READ_ERRORS },
});

/** Registers GET /v1/luns/{deviceId}. */
export function registerLunRoutes(app: App): void {
  app.openapi(getLunRoute, async (c) => {
    const { deviceId } = deviceIdParam(c.req.valid('param').deviceId);
    return c.json(await getLun(c.var.services.db, deviceId), 200);
  });
}
