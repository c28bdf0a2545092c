/** The volume view: one VMFS volume with its extents, LUs, snapshots, artifacts and events. */
import { createRoute, z } from '@hono/zod-openapi';
import { requireRole } from '../http/auth.js';
import type { App } from '../context.js';
import { getVolume } from '../read/volumes.js';
import { vmfsUuidParam } from '../http/params.js';
import { ErrorSchema } from './schemas.js';

/** An error response entry for createRoute. */
export const err = (description: string) => ({ description, content: { 'application/json': { schema: ErrorSchema } } });

/** Error responses every read route can give. */
export const READ_ERRORS = {
  400: err('Bad identifier or parameter'),
  401: err('No or bad token'),
  403: err('The token\'s role may not read the catalog'),
  404: err('Not in the catalog'),
} as const;

export const PartitionSchema = z.object({
  scheme: z.string().nullable().describe('mbr | gpt | none'),
  index: z.number().nullable(),
  startLba: z.number().nullable(),
  endLba: z.number().nullable(),
  type: z.string().nullable().describe('`0xfb` for MBR, the type GUID for GPT'),
  missing: z.boolean().describe('No table entry described the VMFS partition found by probing'),
}).openapi('Partition');

export const ExtentSchema = z.object({
  deviceId: z.string().nullable(), vml: z.string().nullable(), lun: z.number().nullable(),
  vendor: z.string().nullable(), model: z.string().nullable(), revision: z.string().nullable(), sizeBytes: z.number().nullable(),
  vmfsUuid: z.string().nullable(), segmentUuid: z.string().nullable(), extentUuid: z.string().nullable(),
  host: z.string(), devicePath: z.string().nullable(), partition: PartitionSchema.nullable(),
  source: z.string().describe('header (an LVM header in a dump) | inventory (an ESX host\'s extent list)'),
  seenAt: z.string(), firstSeenAt: z.string(), artifactId: z.string(),
}).openapi('Extent');

export const TargetSchema = z.object({
  storageHost: z.string(), stack: z.string(), iqn: z.string().nullable(), alias: z.string().nullable(), lun: z.number().nullable(),
  deviceId: z.string().nullable(), backingStore: z.string().nullable(), sizeBytes: z.number().nullable(), seenAt: z.string(), artifactId: z.string(),
}).openapi('TargetLu');

export const SnapshotSchema = z.object({
  host: z.string(), dataset: z.string(), snapshot: z.string(), name: z.string(), createdAt: z.string(), usedBytes: z.number().nullable(), artifactId: z.string(),
}).openapi('ZfsSnapshot');

export const ArtifactSummarySchema = z.object({
  id: z.string(), captureId: z.string(), kind: z.string(), fileName: z.string(), sourcePath: z.string(), device: z.string().nullable(),
  host: z.string(), collectedAt: z.string(), size: z.number(), sha256: z.string(), parseStatus: z.string(),
}).openapi('ArtifactListed');

export const EventSchema = z.object({
  id: z.number(), type: z.string(), severity: z.string(), vmfsUuid: z.string().nullable(), deviceId: z.string().nullable(),
  host: z.string().nullable(), captureId: z.string().nullable(), artifactId: z.string().nullable(), message: z.string(),
  details: z.unknown(), createdAt: z.string(), acknowledged: z.boolean(),
}).openapi('Event');

const VolumeSchema = z.object({
  vmfsUuid: z.string(), label: z.string().nullable(), version: z.string().nullable(), blockSize: z.number().nullable(),
  createdAt: z.string().nullable(), creatorMac: z.string().nullable(), firstSeen: z.string().nullable(), lastSeen: z.string().nullable(),
  segmentUuids: z.array(z.string()),
  extents: z.array(ExtentSchema).describe('The latest sighting of each extent per host, source, device and LUN'),
  targets: z.array(TargetSchema).describe('iSCSI LUs presenting the extents\' devices (NAA = LU GUID)'),
  snapshots: z.array(SnapshotSchema).describe('zfs snapshots of the LUs\' backing zvols, per the latest snapshot list'),
  artifacts: z.array(ArtifactSummarySchema),
  events: z.array(EventSchema),
}).openapi('Volume');

const getVolumeRoute = createRoute({
  method: 'get', path: '/v1/volumes/{vmfsUuid}', tags: ['catalog'], security: [{ bearer: [] }],
  summary: 'A VMFS volume joined to its extents, LUs, snapshots, artifacts and events',
  middleware: [requireRole('operator')] as const,
  request: { params: z.object({ vmfsUuid: z.string().min(1).max(100).openapi({ description: 'VMFS UUID, with or without dashes, any case', example: '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c' }) }) },
  responses: { 200: { description: 'The volume', content: { 'application/json': { schema: VolumeSchema } } }, ...READ_ERRORS },
});

/** Registers GET /v1/volumes/{vmfsUuid}. */
export function registerVolumeRoutes(app: App): void {
  app.openapi(getVolumeRoute, async (c) => {
    const vmfsUuid = vmfsUuidParam(c.req.valid('param').vmfsUuid);
    return c.json(await getVolume(c.var.services.db, vmfsUuid), 200);
  });
}
