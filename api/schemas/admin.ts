/** Admin shapes: tokens, rebuild and reindex. */
import { z } from '@hono/zod-openapi';

export const TokenCreate = z
  .object({
    role: z.enum(['admin', 'operator', 'collector']),
    host: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[A-Za-z0-9._*-]+$/, 'a host name, or a pattern with * wildcards')
      .optional()
      .describe('collector tokens: the host they write for, or a pattern such as `esxi-*` for an SSH proxy collecting a cluster'),
    // PostgreSQL refuses NUL in text (a 500 at the insert); no other control character belongs in a name either.
    name: z
      .string()
      .min(1)
      .max(200)
      .refine((s) => !/[\u0000-\u001f\u007f-\u009f]/.test(s), 'holds a NUL or control character'),
  })
  .openapi('TokenCreate');

export const TokenCreated = z
  .object({
    id: z.string(),
    token: z.string().describe('The secret. Shown once; only its SHA-256 is stored.'),
    role: z.string(),
    host: z.string().nullable(),
    name: z.string(),
  })
  .openapi('TokenCreated');

export const TokenRow = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.string(),
    host: z.string().nullable(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .openapi('Token');

export const RebuildResult = z
  .object({
    manifests: z.number(),
    captures: z.number(),
    skipped: z.number(),
    artifacts: z.number(),
    tokens: z.object({ restored: z.number(), revoked: z.number() }).describe('Tokens brought back from the store, and tokens revoked again'),
    errors: z.array(z.object({ key: z.string(), message: z.string() })),
    artifactsLeftOut: z
      .array(z.object({ key: z.string(), index: z.number(), fileName: z.string(), chunkList: z.string(), message: z.string() }))
      .describe(
        "Artifacts left out of a recreated capture because the chunk list its manifest names is missing or damaged: the manifest's key, the artifact's index in it (its id derives from capture id and index), file name, list SHA-256, and why. The capture has its other artifacts. An artifact of a capture already in the catalog that still has no row is listed again.",
      ),
    artifactsBroughtBack: z
      .array(z.object({ key: z.string(), index: z.number(), fileName: z.string() }))
      .describe(
        'Artifacts of captures already in the catalog that had no row (an earlier rebuild left them out) and whose chunk list reads now: recreated in their capture, with the id of their place in the manifest',
      ),
  })
  .openapi('RebuildResult');

export const ReindexResult = z
  .object({
    artifacts: z.number(),
    ok: z.number(),
    error: z.number(),
    opaque: z.number(),
    failed: z.array(z.object({ id: z.string(), message: z.string() })),
  })
  .openapi('ReindexResult');

export type TokenView = z.infer<typeof TokenRow>;
