/**
 * AWS Lambda entry: the same app behind API Gateway HTTP API (payload v2).
 * Configuration comes from the function's environment (DATABASE_URL and S3_BUCKET
 * are required there: Lambda has no persistent disk for the embedded default).
 */
import { handle } from 'hono/aws-lambda';
import { createApp } from './app.js';
import { openServices } from './boot.js';
import { loadConfig } from './config.js';
import type { App, Services } from './context.js';
import { sweepStaging, type SweepResult } from './ingest/staging.js';
import { runEventChecks, type EventChecks } from './events/checks.js';
import { runRetention } from './retention/run.js';
import { checkStore } from './retention/check.js';

let appPromise: Promise<App> | undefined;

/** Builds the app once per container and reuses it across invocations. */
export function lambdaApp(): Promise<App> {
  appPromise ??= (async () => {
    const { services } = await openServices(loadConfig());
    return createApp(services);
  })();
  return appPromise;
}

/** Handler for an app built elsewhere (tests inject their own services). */
export function handlerFor(app: App) {
  return handle(app);
}

export const handler = async (event: Parameters<ReturnType<typeof handle>>[0], context: Parameters<ReturnType<typeof handle>>[1]) => {
  const app = await lambdaApp();
  return handle(app)(event, context);
};

let servicesPromise: ReturnType<typeof openServices> | undefined;

/**
 * The scheduled maintenance function (an EventBridge rule, infra/aws/stack.ts): today it
 * sweeps staged uploads no commit will read, raises host-stale (and re-evaluates the other
 * health events), and sends due webhook deliveries. Returns what it did, which Lambda logs.
 */
export const maintenance = async (): Promise<Maintenance> => {
  servicesPromise ??= openServices(loadConfig());
  const { services } = await servicesPromise;
  return runMaintenance(services);
};

export interface Maintenance {
  sweptStaging: SweepResult;
  events: EventChecks;
  /** With RETENTION_SCHEDULED: what retention dropped and freed (null when off). */
  retention: { runId: number; dropped: number; chunksDeleted: number; bytesFreed: number } | null;
  /** With SCRUB_PERCENT > 0: the slice of stored chunks re-hashed, and the corrupt ones found (null when off). */
  scrub: { read: number; corrupt: number; clean: boolean } | null;
}

/** One maintenance pass over the given services (the scheduled function, and tests). */
export async function runMaintenance(services: Services): Promise<Maintenance> {
  const sweptStaging = await sweepStaging(services);
  const events = await runEventChecks(services);
  let retention: Maintenance['retention'] = null;
  if (services.config.RETENTION_SCHEDULED) {
    const r = await runRetention(services, { dryRun: false, ranBy: 'maintenance' });
    retention = { runId: r.runId, dropped: r.dropped.length, chunksDeleted: r.chunksDeleted, bytesFreed: r.bytesFreed };
  }
  let scrub: Maintenance['scrub'] = null;
  if (services.config.SCRUB_PERCENT > 0) {
    const c = await checkStore(services, { readDataPercent: services.config.SCRUB_PERCENT });
    scrub = { read: c.scrub?.read ?? 0, corrupt: c.scrub?.corrupt.length ?? 0, clean: c.clean };
  }
  services.logger.info('maintenance done', { sweptStaging, events, retention, scrub });
  return { sweptStaging, events, retention, scrub };
}
