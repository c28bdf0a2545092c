/** Retention, check and pin shapes (api/retention/). */
import { z } from '@hono/zod-openapi';

const Locked = z.object({ key: z.string(), until: z.string() });

export const PlannedCapture = z
  .object({
    captureId: z.string(),
    host: z.string(),
    collectedAt: z.string(),
    imported: z.boolean().describe('Sent by `collector import`: bucketed by its collection time however old, and only ever adding keeps'),
    time: z.string().describe('The time the rules used: collection time, or receipt time when the collector clock was more than a day off'),
    decision: z.enum(['keep', 'drop']),
    reasons: z
      .array(z.string())
      .describe('Why it is kept (e.g. "within 7d", "weekly 2025-W03", "monthly 2025-08", "pinned: <note>", "newest good capture of volume …"), or why it goes'),
    series: z.array(z.object({ series: z.string(), reasons: z.array(z.string()) })).describe('What each host and artifact source said'),
    manifestKey: z.string().nullable(),
  })
  .openapi('RetentionCapture');

export const RetentionReport = z
  .object({
    runId: z.number(),
    dryRun: z.boolean(),
    policy: z.string(),
    timeZone: z.string(),
    plan: z.object({
      now: z.string(),
      keep: z.number(),
      drop: z.number(),
      captures: z.array(PlannedCapture),
      warnings: z
        .array(z.string())
        .describe(
          'Per host, history the run loses as a whole: captures collected over a day before they arrived and not marked imported (judged by receipt time), and imported captures the policy drops',
        ),
    }),
    dropped: z.array(z.string()),
    lockedCaptures: z
      .array(z.object({ captureId: z.string(), until: z.string() }))
      .describe('Dropped by the policy, left because Object Lock holds their manifest'),
    chunksDeleted: z.number(),
    bytesFreed: z.number(),
    lockedChunks: z.array(Locked),
    lockExtended: z.number(),
  })
  .openapi('RetentionReport');

export const CheckReport = z
  .object({
    manifests: z.number(),
    captures: z.number(),
    chunksReferenced: z.number(),
    chunksStored: z.number(),
    capturesWithoutManifest: z.array(z.string()),
    manifestsWithoutCapture: z.array(z.string()),
    unreadableManifests: z
      .array(z.object({ key: z.string(), message: z.string() }))
      .describe('Manifests rebuild could not read (damaged, or not what a commit writes), with why'),
    artifactsWithoutRow: z
      .array(z.object({ key: z.string(), artifactId: z.string(), index: z.number(), fileName: z.string() }))
      .describe(
        "Artifacts the manifest of a committed capture names that have no row (a rebuild left them out, their chunk list lost): the manifest's key, the artifact's id (of its place), index and file name. A rebuild brings back those whose chunk list reads.",
      ),
    missingChunks: z.array(z.object({ sha256: z.string(), artifacts: z.array(z.string()) })),
    wrongSize: z.array(z.object({ sha256: z.string(), expected: z.number(), actual: z.number() })),
    orphanChunks: z.array(z.object({ key: z.string(), size: z.number() })),
    orphanRows: z.object({ blobs: z.array(z.string()), artifacts: z.array(z.string()) }),
    scrub: z
      .object({
        percent: z.number(),
        read: z.number(),
        bytes: z.number(),
        from: z.string().nullable(),
        to: z.string().nullable(),
        wrapped: z.boolean(),
        corrupt: z.array(z.object({ sha256: z.string(), reason: z.string(), artifacts: z.array(z.string()), volumes: z.array(z.string()) })),
      })
      .nullable(),
    listing: z
      .object({ vouched: z.number(), doubted: z.number() })
      .describe(
        'What the listing of every chunk key said of the records that let captures skip asking the store: records renewed, and records doubted (their chunk not listed at its recorded size; the next capture naming it asks the store)',
      ),
    clean: z.boolean(),
  })
  .openapi('CheckReport');

export const PinBody = z
  .object({
    // Line breaks and tabs as in an event's note; NUL (which PostgreSQL refuses in text) and other control characters not.
    note: z
      .string()
      .min(1)
      .max(500)
      .refine((s) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/.test(s), 'holds a NUL or control character')
      .describe('Why this capture must be kept'),
  })
  .openapi('PinRequest');
export const Pin = z.object({ captureId: z.string(), note: z.string(), pinnedAt: z.string(), pinnedBy: z.string().nullable() }).openapi('Pin');
