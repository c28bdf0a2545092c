/**
 * The read side's response shapes: the single source of the API's JSON (through
 * `/openapi.json`) and of the read modules' types (`z.infer`, exported below).
 */
import { z } from '@hono/zod-openapi';
import { FORMAT_ERROR_CODES } from '../../formats/errors.js';
import { EVENT_TYPES } from '../events/types.js';

/**
 * A JSON value or null, documented as a nullable object: OpenAPI 3.0 client generators
 * need a `type` beside `nullable` (the metadata typings leave `nullable` out, hence the spread).
 */
const jsonOrNull = (description: string) => z.unknown().openapi({ type: 'object', description, ...({ nullable: true } as object) });

export const PartitionSchema = z
  .object({
    scheme: z.string().nullable().describe('mbr | gpt | none'),
    index: z.number().nullable(),
    startLba: z.number().nullable(),
    endLba: z.number().nullable(),
    type: z.string().nullable().describe('`0xfb` for MBR, the type GUID for GPT'),
    missing: z.boolean().describe('No table entry described the VMFS partition found by probing'),
  })
  .openapi('Partition');

export const ExtentSchema = z
  .object({
    deviceId: z.string().nullable(),
    vml: z.string().nullable(),
    lun: z.number().nullable(),
    vendor: z.string().nullable(),
    model: z.string().nullable(),
    revision: z.string().nullable(),
    sizeBytes: z.number().nullable(),
    vmfsUuid: z.string().nullable(),
    segmentUuid: z.string().nullable(),
    extentUuid: z.string().nullable(),
    host: z.string(),
    devicePath: z.string().nullable(),
    partition: PartitionSchema.nullable(),
    source: z.string().describe("header (an LVM header in a dump) | inventory (an ESX host's extent list)"),
    seenAt: z.string(),
    firstSeenAt: z.string(),
    artifactId: z.string(),
  })
  .openapi('Extent');

/** An iSCSI LU as a storage host presents it: the target list, the host page and the search hits. */
const luFields = {
  stack: z.string(),
  iqn: z.string().nullable(),
  alias: z.string().nullable(),
  lun: z.number().nullable(),
  deviceId: z.string().nullable(),
  backingStore: z.string().nullable(),
  sizeBytes: z.number().nullable(),
  seenAt: z.string(),
};

export const TargetSchema = z.object({ storageHost: z.string(), ...luFields, artifactId: z.string() }).openapi('TargetLu');

/** A zfs snapshot: the views and the search hits. */
const snapshotFields = {
  host: z.string(),
  dataset: z.string(),
  snapshot: z.string(),
  name: z.string(),
  createdAt: z.string(),
  usedBytes: z.number().nullable(),
};

export const SnapshotSchema = z.object({ ...snapshotFields, artifactId: z.string() }).openapi('ZfsSnapshot');

export const ArtifactSummarySchema = z
  .object({
    id: z.string(),
    captureId: z.string(),
    kind: z.string(),
    fileName: z.string(),
    sourcePath: z.string(),
    device: z.string().nullable(),
    host: z.string(),
    collectedAt: z.string(),
    size: z.number(),
    sha256: z.string(),
    parseStatus: z.string(),
  })
  .openapi('ArtifactListed');

export const EventSchema = z
  .object({
    id: z.number(),
    type: z.string().describe(`One of: ${EVENT_TYPES.join(', ')}`),
    severity: z.string(),
    vmfsUuid: z.string().nullable(),
    deviceId: z.string().nullable(),
    host: z.string().nullable(),
    captureId: z.string().nullable(),
    artifactId: z.string().nullable(),
    message: z.string(),
    details: jsonOrNull('What drifted: the previous and current values'),
    createdAt: z.string(),
    acknowledged: z.boolean(),
    acknowledgedAt: z.string().nullable(),
    acknowledgedBy: z.string().nullable().describe('Id of the token that acknowledged it'),
    ackNote: z.string().nullable(),
    condition: z
      .string()
      .nullable()
      .describe(
        'Health events (target-guid-mismatch, backing-store-missing, host-stale, clock-skew, segment-claim-conflict): the condition reported, one open event each',
      ),
    resolvedAt: z.string().nullable().describe('When a later capture or scan found the condition gone'),
  })
  .openapi('Event');

/**
 * Bounds on the lists a volume or LUN view returns (history can grow for years): each list is
 * the newest so many, newest first, and says so in its description.
 */
export const VIEW_LIMITS = { artifacts: 500, events: 200, snapshots: 500, targets: 500, extents: 1000 } as const;

/** What a volume or a LUN links to, in both views. */
const linkedRows = {
  extents: z.array(ExtentSchema).describe(`At most the ${VIEW_LIMITS.extents} seen last, newest first`),
  targets: z.array(TargetSchema).describe(`At most the ${VIEW_LIMITS.targets} seen last, newest first`),
  snapshots: z.array(SnapshotSchema).describe(`At most the ${VIEW_LIMITS.snapshots} newest, newest first`),
  artifacts: z.array(ArtifactSummarySchema).describe(`At most the ${VIEW_LIMITS.artifacts} collected last, newest first`),
  artifactsTruncated: z
    .boolean()
    .describe(
      `More artifacts link to it than \`artifacts\` holds (its limit of ${VIEW_LIMITS.artifacts}): older ones are not listed. False when the list is all there is, even at the limit`,
    ),
  events: z
    .array(EventSchema)
    .describe(
      `The newest ${VIEW_LIMITS.events} events of the volume and its devices (or of the LUN), newest first, whatever their state: open, acknowledged (\`acknowledged\`) and resolved (\`resolvedAt\`) — the history a timeline marks. The open ones alone: \`GET /v1/events?status=open&vmfsUuid=…\` (or \`deviceId=…\`)`,
    ),
};

export const VolumeSchema = z
  .object({
    vmfsUuid: z.string(),
    label: z.string().nullable(),
    version: z.string().nullable(),
    blockSize: z.number().nullable(),
    createdAt: z.string().nullable(),
    creatorMac: z.string().nullable(),
    firstSeen: z.string().nullable(),
    lastSeen: z.string().nullable(),
    segmentUuids: z.array(z.string()),
    ...linkedRows,
    extents: linkedRows.extents.describe(
      `The latest sighting of each extent per host, source, device and LUN: at most the ${VIEW_LIMITS.extents} seen last, newest first`,
    ),
    targets: linkedRows.targets.describe(
      `iSCSI LUs presenting the extents' devices (NAA = LU GUID): at most the ${VIEW_LIMITS.targets} seen last, newest first`,
    ),
    snapshots: linkedRows.snapshots.describe(
      `zfs snapshots of the LUs' backing zvols, per the latest snapshot list: at most the ${VIEW_LIMITS.snapshots} newest, newest first`,
    ),
  })
  .openapi('Volume');

export const LunSchema = z
  .object({
    deviceId: z.string(),
    lun: z.number().nullable(),
    vml: z.string().nullable(),
    vendor: z.string().nullable(),
    model: z.string().nullable(),
    sizeBytes: z.number().nullable(),
    lastSeen: z.string().nullable(),
    volumes: z.array(z.object({ vmfsUuid: z.string(), label: z.string().nullable(), version: z.string().nullable() })),
    ...linkedRows,
  })
  .openapi('Lun');

export const CaptureSchema = z
  .object({
    id: z.string(),
    collectedAt: z.string(),
    committedAt: z.string().nullable(),
    collectorVersion: z.string(),
    artifactCount: z.number(),
  })
  .openapi('CaptureListed');

export const HostSchema = z
  .object({
    name: z.string(),
    kind: z.string(),
    systemUuid: z.string().nullable(),
    firstSeen: z.string(),
    lastSeen: z.string(),
    lastCapture: CaptureSchema.nullable().describe('The newest committed capture'),
    stale: z.boolean().describe('No committed capture within STALE_AFTER_HOURS'),
    hoursSinceLastCapture: z.number().nullable(),
  })
  .openapi('Host');

export const OpenCaptureSchema = z
  .object({
    id: z.string(),
    collectedAt: z.string(),
    lastBegunAt: z.string().describe('Its latest begin; the staging sweep drops it 24 h after this (one declared in part, an hour after)'),
    artifactCount: z.number(),
    partial: z
      .boolean()
      .describe(
        'Declared in part (POST /v1/captures/{id}/partial) and not yet whole: its collector still reads, or stopped while it read and spooled nothing (killed, rebooted), so no run sends it again',
      ),
    commitJob: z
      .object({ state: z.string(), attempts: z.number(), error: z.string().nullable().describe('A failed job: the error its commit ended with') })
      .nullable()
      .describe('A commit handed to a worker'),
  })
  .openapi('OpenCapture');

/** How many of an artifact's events its view returns (the newest). */
export const ARTIFACT_EVENTS_LIMIT = 100;

/** Bounds on the lists a host's view returns, each named in its description. */
export const HOST_VIEW_LIMITS = { captures: 100, openCaptures: 100, volumes: 500, targets: 1000, events: 200 } as const;

export const HostDetailSchema = HostSchema.extend({
  captures: z.array(CaptureSchema).describe(`Committed captures, newest first, at most ${HOST_VIEW_LIMITS.captures}`),
  capturesTruncated: z
    .boolean()
    .describe(
      `The host has more committed captures than \`captures\` holds (its limit of ${HOST_VIEW_LIMITS.captures}): older ones are not listed. False when the list is all there is, even at the limit`,
    ),
  openCaptures: z
    .array(OpenCaptureSchema)
    .describe(
      `Captures begun and not committed under the host's name in any letter case, newest begin first, at most ${HOST_VIEW_LIMITS.openCaptures} (a host may hold at most 32 within 24 h, counted so; DELETE /v1/captures/{id} drops one)`,
    ),
  artifacts: z.array(ArtifactSummarySchema).describe('The artifacts of the last capture'),
  volumes: z
    .array(z.object({ vmfsUuid: z.string(), label: z.string().nullable(), lastSeen: z.string() }))
    .describe(`Volumes whose extents this host saw: at most the ${HOST_VIEW_LIMITS.volumes} seen last, newest first`),
  targets: z
    .array(z.object(luFields))
    .describe(`LUs this host presents (storage hosts), per its last capture that listed any: at most ${HOST_VIEW_LIMITS.targets}, by IQN and LUN`),
  events: z.array(EventSchema).describe(`The newest ${HOST_VIEW_LIMITS.events} events raised on this host, newest first, whatever their state`),
}).openapi('HostDetail');

export const ArtifactSchema = z
  .object({
    id: z.string(),
    captureId: z.string(),
    host: z.string(),
    collectedAt: z.string(),
    committedAt: z.string().nullable(),
    kind: z.string(),
    fileName: z.string(),
    sourcePath: z.string(),
    device: z.string().nullable(),
    size: z.number(),
    sha256: z.string(),
    chunkCount: z.number(),
    parseStatus: z.string(),
    parseError: jsonOrNull(
      `\`{code, message}\` when the parser refused the bytes; code is a parser's (${FORMAT_ERROR_CODES.join(', ')}: docs/formats.md) or unindexable (the catalog could not index what the parser returned)`,
    ),
    parsed: jsonOrNull('What the parser found (kind, ids, details)'),
    pinned: z.boolean(),
    contentUrl: z.string().describe('Where the bytes are'),
    events: z.array(EventSchema).describe(`The newest ${ARTIFACT_EVENTS_LIMIT} events raised on this artifact, newest first, whatever their state`),
  })
  .openapi('Artifact');

const base = { score: z.number().describe('100 = exact id; lower = prefix, fragment or a linked object'), match: z.string().describe('What matched') };

export const HitSchema = z
  .discriminatedUnion('type', [
    z.object({
      type: z.literal('volume'),
      ...base,
      vmfsUuid: z.string(),
      label: z.string().nullable(),
      version: z.string().nullable(),
      lastSeen: z.string().nullable(),
      earlierLabel: z
        .string()
        .optional()
        .describe('The label that matched, which the volume no longer carries (match `earlierLabel`): renamed since, or a resignatured copy'),
    }),
    z.object({
      type: z.literal('lun'),
      ...base,
      deviceId: z.string(),
      lun: z.number().nullable(),
      vml: z.string().nullable(),
      vendor: z.string().nullable(),
      model: z.string().nullable(),
      sizeBytes: z.number().nullable(),
      lastSeen: z.string().nullable(),
    }),
    z.object({ type: z.literal('host'), ...base, name: z.string(), kind: z.string(), lastSeen: z.string().nullable() }),
    z.object({
      type: z.literal('target'),
      ...base,
      storageHost: z.string(),
      ...luFields,
      seenAt: z.string().nullable(),
    }),
    z.object({
      type: z.literal('snapshot'),
      ...base,
      ...snapshotFields,
      createdAt: z.string().nullable(),
    }),
  ])
  .openapi('SearchHit');

export const SearchResponse = z
  .object({
    query: z
      .object({ type: z.string(), raw: z.string() })
      .catchall(z.unknown())
      .openapi({ additionalProperties: true })
      .describe('How the term was understood: vmfsUuid | uuidPrefix | deviceId | vml (deviceId + lun) | iqn | backingStore (path, dataset) | hex | text'),
    hits: z.array(HitSchema).describe('Best first'),
    truncated: z.boolean().describe('More hits matched than `limit`'),
    capped: z
      .literal(true)
      .optional()
      .describe(
        'A text fragment starts a word of more labels and host names than a search ranks by similarity (200, or the limit + 1 when more): the volumes and hosts answered are then the exact name, then those with the fewest trigrams (the shortest), then in byte order of the word they start, not the most similar by pg_trgm and last seen (similarity favours short names; a name with more trigrams may be as similar). A longer fragment narrows it. Absent when every name was ranked',
      ),
  })
  .openapi('SearchResult');

export const SourceSchema = z
  .object({
    artifactId: z.string(),
    kind: z.string(),
    host: z.string(),
    fileName: z.string(),
    collectedAt: z.string(),
    bundlePath: z.string().nullable().describe('Path of the artifact inside the restore bundle of the same time'),
  })
  .openapi('DrPlanSource');

export const DrPlanSchema = z
  .object({
    vmfsUuid: z.string(),
    label: z.string().nullable(),
    at: z.string().nullable(),
    complete: z
      .boolean()
      .describe(
        "Every link of the chain is on record, every NAA matches, one storage host presents each, and every storage host's facts are of the requested time (storageFactsFrom is empty)",
      ),
    naaChecks: z.array(
      z.object({
        deviceId: z.string(),
        headerDeviceId: z.string(),
        luDeviceId: z.string().nullable(),
        verdict: z.enum(['match', 'mismatch', 'no-lu']),
        guaranteedBy: z.string().nullable(),
        headerLun: z.number().nullable(),
        luLun: z.number().nullable(),
        lunMismatch: z.boolean().describe("The LU's LUN differs from the header's: ESX would see a snapshot LUN"),
        checkedBy: z.string().describe("The restore script's check of the id on the device, before it writes"),
        message: z.string(),
        dispute: z
          .object({
            extent: z.number().describe("The extent's number in the restore bundle (restore.sh --source N=HOST)"),
            candidates: z.array(
              z.object({
                host: z.string(),
                lun: z.number().nullable().describe("The LUN this host's dump reports"),
                command: z.string().describe("The restore.sh line that restores the partition table from this host's dump"),
              }),
            ),
          })
          .nullable()
          .describe("Hosts' newest header dumps of the device disagree on its partition table: each candidate host, newest dump first"),
        presenters: z
          .array(z.object({ host: z.string(), stack: z.enum(['iscsitgt', 'comstar']), collectedAt: z.string() }))
          .optional()
          .describe(
            "More than one storage host's captures present this device id: each host, newest capture first. The steps follow the first; the plan is then not complete",
          ),
      }),
    ),
    missing: z.array(
      z.object({
        link: z.enum(['extent', 'storage-lu', 'backing-store', 'snapshots']),
        deviceId: z.string().nullable(),
        message: z.string(),
        collector: z.string(),
      }),
    ),
    storageFactsFrom: z
      .array(
        z.object({
          storageHost: z.string(),
          deviceId: z.string(),
          collectedAt: z.string().describe("The host's first capture after the requested time that presents the device: the LU facts are from it"),
          requestedAt: z.string(),
          capturedBefore: z.boolean().describe('The host was captured at or before the requested time too, without presenting the device'),
          artifactIds: z
            .array(z.string())
            .describe(
              "That capture's storage artifacts the steps read; a bundle of the requested time does not carry them: GET /v1/artifacts/{id}/content (message gives the download of each file a step reads by its bare name)",
            ),
          message: z.string(),
        }),
      )
      .describe(
        'Storage hosts whose LU facts for a device come from a capture after the requested time, as none at or before it presents the device; a snapshot is still cloned only when one taken at or before that time was captured, and the plan is then not complete (the LU may have been re-created or re-numbered in between). Empty: none',
      ),
    steps: z.array(
      z.object({
        n: z.number(),
        stage: z.enum(['storage', 'zfs', 'esx']),
        title: z.string(),
        commands: z.array(z.string()),
        note: z.string().nullable(),
        from: z.array(SourceSchema),
      }),
    ),
  })
  .openapi('DrPlan');

export type PartitionView = z.infer<typeof PartitionSchema>;
export type ExtentView = z.infer<typeof ExtentSchema>;
export type TargetView = z.infer<typeof TargetSchema>;
export type SnapshotView = z.infer<typeof SnapshotSchema>;
export type ArtifactSummaryView = z.infer<typeof ArtifactSummarySchema>;
export type EventView = z.infer<typeof EventSchema>;
export type VolumeView = z.infer<typeof VolumeSchema>;
export type LunView = z.infer<typeof LunSchema>;
export type CaptureView = z.infer<typeof CaptureSchema>;
export type HostView = z.infer<typeof HostSchema>;
export type HostDetailView = z.infer<typeof HostDetailSchema>;
export type ArtifactView = z.infer<typeof ArtifactSchema>;
export type SearchHit = z.infer<typeof HitSchema>;
export type SearchResultBody = z.infer<typeof SearchResponse>;
export type DrPlanView = z.infer<typeof DrPlanSchema>;
