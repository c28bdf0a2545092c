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
import { type JobRun, runCommitJob } from './ingest/commit-jobs.js';
import { type Maintenance, runMaintenance } from './maintenance.js';

let servicesPromise: Promise<Services> | undefined;

/**
 * The services of this container, opened once. In a deployed function (AWS_LAMBDA_FUNCTION_NAME
 * is set by Lambda) a commit handed to a worker is an asynchronous invocation of this same
 * function with a CommitEvent (api/ingest/commit-jobs.ts).
 */
function lambdaServices(): Promise<Services> {
  servicesPromise ??= openServices(loadConfig()).then(({ services }) => {
    services.bufferedAnswers = true;
    const self = process.env.AWS_LAMBDA_FUNCTION_NAME;
    if (self) services.dispatchCommit = invokeSelf(services, self);
    return services;
  });
  return servicesPromise;
}

let appPromise: Promise<App> | undefined;

/** Builds the app once per container and reuses it across invocations. */
export function lambdaApp(): Promise<App> {
  appPromise ??= lambdaServices().then((services) => createApp(services));
  return appPromise;
}

/** The event that runs a commit job: what the API function sends itself (InvocationType 'Event'). */
export interface CommitEvent {
  kind: 'commit';
  captureId: string;
}

/** True for a CommitEvent (API Gateway events carry `requestContext`, never `kind`). */
export function isCommitEvent(event: unknown): event is CommitEvent {
  const e = event as Partial<CommitEvent> | null;
  return !!e && typeof e === 'object' && e.kind === 'commit' && typeof e.captureId === 'string' && /^[0-9a-f-]{36}$/i.test(e.captureId);
}

/**
 * Sends `{ kind: 'commit', captureId }` to this function as an asynchronous invocation: Lambda
 * queues it and answers 202 at once; the invocation runs the job with the function's full
 * timeout. The client is made on first use (the SDK then stays out of other cold starts).
 */
function invokeSelf(services: Services, functionName: string): (captureId: string) => Promise<void> {
  let client: import('@aws-sdk/client-lambda').LambdaClient | undefined;
  return async (captureId) => {
    const { InvokeCommand, LambdaClient } = await import('@aws-sdk/client-lambda');
    client ??= new LambdaClient({ region: process.env.AWS_REGION ?? services.config.S3_REGION, maxAttempts: 3 });
    const payload: CommitEvent = { kind: 'commit', captureId };
    await client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(payload)) }));
  };
}

/** Runs the job of a CommitEvent; what it did is the invocation's result (Lambda logs it). */
export async function runCommitEvent(
  services: Services,
  event: CommitEvent,
  context?: { awsRequestId?: string },
): Promise<{ captureId: string; outcome: JobRun }> {
  const outcome = await runCommitJob(services, event.captureId.toLowerCase(), `lambda:${context?.awsRequestId ?? 'local'}`);
  return { captureId: event.captureId, outcome };
}

type GatewayEvent = Parameters<ReturnType<typeof handle>>[0];
type GatewayContext = Parameters<ReturnType<typeof handle>>[1];

/** Handler for an app built elsewhere (tests inject their own services; with them, commit events run too). */
export function handlerFor(app: App, services?: Services) {
  const http = handle(app);
  return async (event: GatewayEvent | CommitEvent, context: GatewayContext) => {
    if (isCommitEvent(event)) {
      if (!services) throw new Error('a commit event needs the services');
      return runCommitEvent(services, event, context);
    }
    return http(event, context);
  };
}

/** The API function: API Gateway HTTP API v2 events, and the commit jobs it hands itself. */
export const handler = async (event: GatewayEvent | CommitEvent, context: GatewayContext) => {
  if (isCommitEvent(event)) return runCommitEvent(await lambdaServices(), event, context);
  const app = await lambdaApp();
  return handle(app)(event, context);
};

/**
 * The scheduled maintenance function (an EventBridge rule, infra/aws/stack.ts): one pass of
 * api/maintenance.ts. Returns what it did, which Lambda logs; throws, once every step ran,
 * when one failed.
 */
export const maintenance = async (): Promise<Maintenance> => {
  const done = await runMaintenance(await lambdaServices());
  // Every step ran; a failed one fails the invocation, so its metrics and alarms see it.
  if (done.failed.length > 0) throw new Error(`maintenance: ${done.failed.map((f) => `${f.step} failed: ${f.error}`).join('; ')}`);
  return done;
};
