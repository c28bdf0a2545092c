/**
 * The ingest protocol's shapes (begin, commit). formats/protocol.ts states the same
 * shapes as plain types for the collector; the assertions at the end keep the two equal.
 */
import { z } from '@hono/zod-openapi';
import type * as protocol from '../../formats/protocol.js';
import { FORMAT_ERROR_CODES } from '../../formats/errors.js';
import { ARTIFACT_KINDS } from '../../formats/types.js';
import { FILE_NAME_RULE, HOST_NAME_RULE, LIMITS } from '../ingest/limits.js';

export const SHA256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');

// No regex flags: /openapi.json publishes the source alone as the JSON-schema pattern (a `/i` would be lost).
export const UUID = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a UUID');

export const Size = z.number().int().nonnegative();

export const ChunkRef = z
  .object({
    sha256: SHA256.describe("SHA-256 of the uncompressed bytes: the chunk's name"),
    size: Size.describe('Uncompressed size, at most 1 MiB'),
    encoding: z.enum(['identity', 'gzip']).optional(),
    storedSize: Size.optional(),
    storedSha256: SHA256.optional(),
    storedMd5: z
      .string()
      .regex(/^[A-Za-z0-9+/]{22}==$/, 'must be a base64 MD5')
      .optional()
      .describe('Base64 MD5 of the bytes as uploaded; required when the catalog stores chunks in S3'),
  })
  .openapi('ChunkRef');

export const ArtifactRef = z
  .object({
    kind: z.enum(ARTIFACT_KINDS),
    fileName: z.string().describe(`File name: ${FILE_NAME_RULE}`),
    sourcePath: z.string().describe(`Where the bytes were read, at most ${LIMITS.sourcePathBytes} bytes`),
    device: z.string().nullable().optional().describe(`At most ${LIMITS.deviceBytes} bytes`),
    size: Size,
    sha256: SHA256,
    chunks: z.array(ChunkRef).describe(`At most ${LIMITS.chunksPerArtifact} per artifact and ${LIMITS.chunksPerCapture} per capture`),
  })
  .openapi('ArtifactRef');

export const ArtifactDeclaration = ArtifactRef.extend({
  chunks: ArtifactRef.shape.chunks.optional(),
  previous: UUID.optional().describe(
    'In place of `chunks`: the id of an artifact this host committed with the same kind, fileName, sourcePath, device, size and sha256 ' +
      "(from that commit's answer); its chunk list is taken. When one does not resolve so, the begin answers 422 and the client sends `chunks`",
  ),
})
  .refine((a) => (a.chunks === undefined) !== (a.previous === undefined), { message: 'declare either chunks or previous', path: ['chunks'] })
  .openapi('ArtifactDeclaration');

export const BeginRequestSchema = z
  .object({
    captureId: UUID.describe('UUIDv7 chosen by the collector; repeating begin with it is harmless'),
    host: z.object({
      name: z.string().describe(`Host name: ${HOST_NAME_RULE}`),
      kind: z.enum(['esx', 'esxi', 'solaris', 'linux']),
      systemUuid: z.string().nullable().optional(),
    }),
    collectedAt: z.string().datetime({ offset: true }),
    collector: z.object({
      version: z.string().min(1),
      mode: z
        .enum(['collect', 'import'])
        .optional()
        .describe(
          '`import`: collectedAt is the modification time of files saved before the collector existed (collector import), ' +
            "so retention buckets the capture by it however long before its receipt it lies (only in the capture's own host's series, " +
            'and never in place of a capture collected live). Absent or `collect`: the time the collector read the bytes',
        ),
    }),
    artifacts: z.array(ArtifactDeclaration).describe(`At most ${LIMITS.artifactsPerCapture}`),
  })
  .openapi('BeginRequest');

export const UploadTarget = z
  .object({
    sha256: z.string(),
    encoding: z.enum(['identity', 'gzip']),
    method: z.literal('PUT'),
    url: z.string(),
    headers: z.record(z.string(), z.string()),
    expiresAt: z.string(),
  })
  .openapi('UploadTarget');

export const ChunksReceived = z
  .object({
    captureId: z.string(),
    received: z.array(z.string()).describe('The hashes of the batch, each verified and stored for this capture'),
  })
  .openapi('ChunksReceived');

export const OpenCaptureDropped = z
  .object({
    captureId: z.string(),
    host: z.string(),
    dropped: z.literal(true),
    chunkRecords: z.number().describe('Records of chunks delivered through the catalog that went with it (the chunks stay in the store)'),
  })
  .openapi('OpenCaptureDropped');

export const ArtifactSummary = z
  .object({
    id: z.string(),
    kind: z.enum(ARTIFACT_KINDS),
    fileName: z.string(),
    parseStatus: z.enum(['ok', 'error', 'opaque']),
    parseError: z
      .object({
        code: z
          .string()
          .describe(`A parser's (${FORMAT_ERROR_CODES.join(', ')}: docs/formats.md) or unindexable (the catalog could not index what the parser returned)`),
        message: z.string(),
      })
      .nullable(),
    found: z.record(z.string(), z.array(z.string())).describe('Ids found: vmfsUuid, deviceId, vml, iqn, backingStore, …'),
  })
  .openapi('ArtifactSummary');

export const CommitResponse = z
  .object({
    captureId: z.string(),
    state: z.literal('committed'),
    committedAt: z.string(),
    manifestKey: z.string(),
    artifacts: z.array(ArtifactSummary),
    clockSkew: z
      .object({
        collectedAt: z.string().describe('The collection time the collector sent'),
        storedAs: z.string().describe("The time the catalog stored instead: the capture's receipt (its first begin)"),
        aheadSeconds: z.number().int(),
        message: z.string().describe('One line for the collector to show'),
      })
      .optional()
      .describe(
        "Present when the collector's clock was more than 10 minutes ahead of the catalog's: the capture is stored as collected at its receipt, so restores and DR plans see it now, and a clock-skew event names the host. Only in the answer of the commit that committed it",
      ),
  })
  .openapi('CommitResponse');

export const BeginResponse = z
  .object({
    captureId: z.string(),
    state: z.enum(['open', 'committed']),
    missing: z.array(UploadTarget).describe('Chunks the store lacks, each with where to PUT it'),
    present: z
      .array(z.string())
      .optional()
      .describe('Chunk hashes the store already holds (every declared chunk not in `missing`); left out for `Prefer: return=minimal`'),
    commit: CommitResponse.optional().describe(
      "With `Prefer: commit-if-complete`: the commit's answer when the catalog committed the capture at once (every artifact declared by `previous`, no chunk missing) or found it committed; without it, POST commit as usual",
    ),
  })
  .openapi('BeginResponse');

export const CommitInProgress = z
  .object({
    captureId: z.string(),
    state: z.literal('committing'),
    queuedAt: z.string(),
    startedAt: z.string().nullable().describe('When the current attempt started; null while the job waits for a worker'),
    attempts: z.number().int().describe('Times a worker took the job (more than 1: a worker stopped and another took over)'),
    bytes: z
      .number()
      .int()
      .describe('Bytes of uploaded chunks the commit reads and hashes, and of new artifacts it hashes whole when those sent it to the worker'),
    retryAfter: z.number().int().describe('Seconds to wait before POSTing commit again (also the Retry-After header)'),
  })
  .openapi('CommitInProgress');

// ---- formats/protocol.ts states these shapes for the collector (which carries no zod);
// the compiler checks here that both say the same, in both directions.

/** True when A and B are mutually assignable. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compiles only when its argument is `true`. */
type Assert<T extends true> = T;

export type ProtocolMatchesSchemas = [
  Assert<Same<z.infer<typeof ChunkRef>, protocol.ChunkRef>>,
  Assert<Same<z.infer<typeof ArtifactRef>, protocol.ArtifactRef>>,
  Assert<Same<z.infer<typeof ArtifactDeclaration>, protocol.ArtifactDeclaration>>,
  Assert<Same<z.infer<typeof BeginRequestSchema>, protocol.BeginBody>>,
  Assert<Same<z.infer<typeof UploadTarget>, protocol.UploadTarget>>,
  Assert<Same<z.infer<typeof BeginResponse>, protocol.BeginResponse>>,
  Assert<Same<z.infer<typeof ArtifactSummary>, protocol.ArtifactSummary>>,
  Assert<Same<z.infer<typeof CommitResponse>, protocol.CommitResponse>>,
  Assert<Same<z.infer<typeof CommitInProgress>, protocol.CommitInProgress>>,
];
