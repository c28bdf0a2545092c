/**
 * The DR plan of a volume: the storage commands, in order, that bring its LUNs back with
 * the NAA its VMFS header expects (api/dr/plan.ts), as JSON or as the text `restore.sh --plan`
 * prints. Built from the same selection as the restore bundle, so its file names match.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { requireRole } from '../http/auth.js';
import type { App } from '../context.js';
import { drPlanForSelection } from '../dr/gather.js';
import { renderDrPlanText } from '../dr/plan.js';
import { selectBundle } from '../bundle/select.js';
import { vmfsUuidParam } from '../http/params.js';
import { bundleTime } from './bundle.js';
import { READ_ERRORS } from '../schemas/common.js';
import { DrPlanSchema } from '../schemas/catalog.js';

const drPlanRoute = createRoute({
  method: 'get',
  path: '/v1/volumes/{vmfsUuid}/dr-plan',
  operationId: 'getVolumeDrPlan',
  tags: ['restore'],
  security: [{ bearer: [] }],
  summary: "The storage commands, in order, that bring a volume's LUNs back with the NAA its VMFS header expects",
  middleware: [requireRole('operator')] as const,
  request: {
    params: z.object({ vmfsUuid: z.string().min(1).max(100) }),
    query: z.object({
      at: z.string().max(64).optional().openapi({
        description:
          'ISO 8601 with Z or an offset (a time without one is a 400): plan from the captures at or before this time, cloning the newest zfs snapshot taken at or before it',
      }),
      format: z.enum(['json', 'text']).optional().openapi({ description: 'text: the plan as restore.sh --plan prints it' }),
    }),
  },
  responses: {
    200: {
      description: 'The plan',
      content: { 'application/json': { schema: DrPlanSchema }, 'text/plain': { schema: z.string() } },
    },
    ...READ_ERRORS,
  },
});

/** Registers GET /v1/volumes/{vmfsUuid}/dr-plan. */
export function registerDrPlanRoutes(app: App): void {
  app.openapi(drPlanRoute, async (c) => {
    const { db, store, now } = c.var.services;
    const vmfsUuid = vmfsUuidParam(c.req.valid('param').vmfsUuid);
    const { at, format } = c.req.valid('query');
    const current = now();
    const sel = await selectBundle(db, { vmfsUuid }, bundleTime(at, current), current, store);
    const plan = await drPlanForSelection(db, sel, at !== undefined);
    if (format === 'text') return c.text(renderDrPlanText(plan), 200);
    return c.json(plan, 200);
  });
}
