/**
 * Restore bundles for a volume or a LUN, as of a time: a streamed `.tar.gz`, or with
 * `?redirect=1` a 302 to a presigned GET of the same bundle assembled in the store
 * (`bundles/…`), for runtimes whose response size is capped (Lambda). Where it is capped
 * (Services.bufferedAnswers) the 302 is the default: a bundle streamed there failed once past
 * the cap, and a client that asked without `redirect` (collector restore) had no way through.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { requireRole } from '../http/auth.js';
import type { App, AppEnv } from '../context.js';
import { recordAudit } from '../http/audit.js';
import { assembleObject, toWebStream } from '../read/content.js';
import { bundleFileName, bundleObjectKey, bundleTarGz } from '../bundle/tar.js';
import type { BundleSubject } from '../bundle/select.js';
import { selectIntactBundle } from '../bundle/intact.js';
import { deviceIdParam, timeParam, vmfsUuidParam } from '../http/params.js';
import { attachmentDisposition } from '../store/content-disposition.js';
import { DOWNLOAD_URL_TTL_SECONDS } from './artifacts.js';
import { READ_ERRORS, err } from '../schemas/common.js';
import { drPlanForSelection } from '../dr/gather.js';
import { ApiError } from '../errors.js';
import { namesTimeZone, noTimeZone } from '../../formats/zoned-time.js';

const query = z.object({
  at: z.string().max(64).optional().openapi({
    description: 'ISO 8601 with Z or an offset (a time without one is a 400): the newest capture of each source at or before this time (default now)',
    example: '2026-03-01T00:00:00Z',
  }),
  redirect: z.enum(['0', '1', 'true', 'false']).optional().openapi({
    description:
      '1: assemble in the store and answer 302 to a presigned GET; 0: stream it. Unset: stream it, but on AWS Lambda (answers buffered whole, at most 6 MB) answer the 302',
  }),
});

const responses = {
  200: {
    description:
      "The bundle (.tar.gz), streamed. An artifact with a damaged chunk is left out (another capture's copy carried where one exists), as RESTORE.md and bundle.json `leftOut` say; an extent restored from a header dump older than its device's newest capture is named in bundle.json `olderDumps`, with a warning when their LUN or partition entry differ",
    content: { 'application/gzip': { schema: z.string().openapi({ format: 'binary' }) } },
  },
  302: { description: 'Redirect to a presigned GET of the assembled bundle' },
  502: err(
    'chunk_corrupt: a header dump restore.sh needs has a damaged chunk and no other capture holds an intact one; the message names the artifact and what to do',
  ),
  ...READ_ERRORS,
};

const volumeBundleRoute = createRoute({
  method: 'get',
  path: '/v1/volumes/{vmfsUuid}/restore-bundle',
  operationId: 'getVolumeRestoreBundle',
  tags: ['restore'],
  security: [{ bearer: [] }],
  summary: 'Everything to restore a volume as of a time: artifacts, SHA256SUMS, RESTORE.md, restore.sh',
  middleware: [requireRole('operator')] as const,
  request: { params: z.object({ vmfsUuid: z.string().min(1).max(100) }), query },
  responses,
});

const lunBundleRoute = createRoute({
  method: 'get',
  path: '/v1/luns/{deviceId}/restore-bundle',
  operationId: 'getLunRestoreBundle',
  tags: ['restore'],
  security: [{ bearer: [] }],
  summary: "Everything to restore one LUN as of a time: its header dumps, its volume's .vh.sf, host inventories, target configuration",
  middleware: [requireRole('operator')] as const,
  request: { params: z.object({ deviceId: z.string().min(1).max(300) }), query },
  responses,
});

/** `?at=` as a time (400 when unreadable, or naming no zone); a time after now is now. */
export function bundleTime(at: string | undefined, now: Date): Date {
  if (!at) return now;
  const d = timeParam('at', at);
  if (!namesTimeZone(at)) throw new ApiError('bad_request', `at: ${noTimeZone(at)}`);
  return d.getTime() > now.getTime() ? now : d;
}

async function answerBundle(c: Context<AppEnv>, subject: BundleSubject, at: string | undefined, redirect: string | undefined): Promise<Response> {
  const { db, store, now, logger } = c.var.services;
  const current = now();
  // Every chunk is checked before the answer starts: a damaged artifact is left out (or the bundle refused).
  const sel = await selectIntactBundle(c.var.services, subject, bundleTime(at, current), current);
  // A volume's bundle carries its DR plan (RESTORE.md "DR plan", DR-PLAN.txt, restore.sh --plan).
  if (subject.vmfsUuid) sel.drPlan = await drPlanForSelection(db, sel, at !== undefined);
  const fileName = bundleFileName(sel);
  const audit = {
    at: sel.at,
    files: sel.files.length,
    bytes: sel.files.reduce((n, f) => n + f.size, 0),
    artifacts: sel.files.map((f) => f.artifactId),
    redirect: redirect === undefined ? c.var.services.bufferedAnswers === true : redirect === '1' || redirect === 'true',
  };
  if (audit.redirect) {
    const key = bundleObjectKey(sel, at !== undefined);
    if (!(await store.head(key))) await assembleObject(store, key, bundleTarGz(store, sel));
    const signed = await store.presignGet(key, { expiresInSeconds: DOWNLOAD_URL_TTL_SECONDS, fileName });
    await recordAudit(c, 'bundle', subject.vmfsUuid ?? subject.deviceId!, { ...audit, key });
    return c.redirect(signed.url, 302);
  }
  await recordAudit(c, 'bundle', subject.vmfsUuid ?? subject.deviceId!, audit);
  const body = toWebStream(bundleTarGz(store, sel), (e) => {
    logger.error('bundle stream failed', {
      requestId: c.var.requestId,
      subject: subject.vmfsUuid ?? subject.deviceId,
      err: e instanceof Error ? e.message : String(e),
    });
  });
  return c.body(body, 200, {
    'Content-Type': 'application/gzip',
    'Content-Disposition': attachmentDisposition(fileName),
    'Cache-Control': 'private, no-store',
  });
}

/** Registers the restore-bundle routes. */
export function registerBundleRoutes(app: App): void {
  app.openapi(volumeBundleRoute, async (c) => {
    const { at, redirect } = c.req.valid('query');
    return answerBundle(c as unknown as Context<AppEnv>, { vmfsUuid: vmfsUuidParam(c.req.valid('param').vmfsUuid) }, at, redirect);
  });
  app.openapi(lunBundleRoute, async (c) => {
    const { at, redirect } = c.req.valid('query');
    return answerBundle(c as unknown as Context<AppEnv>, { deviceId: deviceIdParam(c.req.valid('param').deviceId).deviceId }, at, redirect);
  });
}
