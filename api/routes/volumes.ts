/** The volume view: one VMFS volume with its extents, LUs, snapshots, artifacts and events. */
import { createRoute, z } from '@hono/zod-openapi';
import { requireRole } from '../http/auth.js';
import type { App } from '../context.js';
import { getVolume } from '../read/volumes.js';
import { vmfsUuidParam } from '../http/params.js';
import { READ_ERRORS } from '../schemas/common.js';
import { VolumeSchema } from '../schemas/catalog.js';

const getVolumeRoute = createRoute({
  method: 'get',
  path: '/v1/volumes/{vmfsUuid}',
  operationId: 'getVolume',
  tags: ['catalog'],
  security: [{ bearer: [] }],
  summary: 'A VMFS volume joined to its extents, LUs, snapshots, artifacts and events',
  middleware: [requireRole('operator')] as const,
  request: {
    params: z.object({
      vmfsUuid: z
        .string()
        .min(1)
        .max(100)
        .openapi({ description: 'VMFS UUID, with or without dashes, any case', example: '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c' }),
    }),
  },
  responses: { 200: { description: 'The volume', content: { 'application/json': { schema: VolumeSchema } } }, ...READ_ERRORS },
});

/** Registers GET /v1/volumes/{vmfsUuid}. */
export function registerVolumeRoutes(app: App): void {
  app.openapi(getVolumeRoute, async (c) => {
    const vmfsUuid = vmfsUuidParam(c.req.valid('param').vmfsUuid);
    return c.json(await getVolume(c.var.services.db, vmfsUuid), 200);
  });
}
