/**
 * `npm start`: the catalog on Node. With no configuration it runs on the embedded
 * default (PGlite in ./data/pg, blobs in ./data/blobs) on 127.0.0.1:8787.
 */
import { createServer, type AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { openServices } from './boot.js';
import { ConfigError, loadConfig } from './config.js';
import { DatabaseBusyError } from '../db/client.js';
import { FsBlobStore } from './store/fs.js';

/**
 * The app's modules (routes, schemas, console) are imported while the database opens,
 * not before: built into one file, a dynamic import is evaluated only when it runs, so
 * the two overlap instead of adding up at start.
 */
async function loadAppModules() {
  const [{ createApp }, { ensureBootstrapToken, keepAllTokens }, { runEventChecks }, { startCommitWorker }] = await Promise.all([
    import('./app.js'),
    import('./admin/tokens.js'),
    import('./events/checks.js'),
    import('./ingest/commit-jobs.js'),
  ]);
  return { createApp, ensureBootstrapToken, keepAllTokens, runEventChecks, startCommitWorker };
}

/** How often a self-hosted server runs the scheduled event checks (on AWS, the maintenance function does). */
const EVENT_CHECK_INTERVAL_MS = 3_600_000;

/** A free port on `host`: with PORT=0 the port must be known before the store signs upload URLs. */
async function freePort(host: string): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, host, () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Where a browser reaches the console: PUBLIC_URL, else the bound address (a wildcard bind is reachable on loopback). */
function consoleUrl(publicUrl: string | undefined, address: string, port: number): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, '') + '/';
  const host = address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address.includes(':') ? `[${address}]` : address;
  return `http://${host}:${port}/`;
}

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.PORT === 0 && !config.PUBLIC_URL) config.PORT = await freePort(config.HOST);
  const opening = openServices(config);
  const modules = loadAppModules();
  // Neither is left unhandled while the other is awaited.
  modules.catch(() => {});
  const { services, close } = await opening;
  const { createApp, ensureBootstrapToken, keepAllTokens, runEventChecks, startCommitWorker } = await modules;
  const created = await ensureBootstrapToken(services, services.config.DATA_DIR, config.CATALOG_BOOTSTRAP_TOKEN);
  // Every token the database holds gets its restorable record in the store (see rebuild);
  // a store that cannot be reached now is retried at the next start, not a reason to stay down.
  await keepAllTokens(services).then(
    (written) => {
      if (written > 0) services.logger.info('kept token records in the store', { written });
    },
    (e: unknown) => services.logger.warn('could not keep token records in the store', { error: e instanceof Error ? e.message : String(e) }),
  );
  if (services.store instanceof FsBlobStore) {
    // Temp files of uploads that a crash (kill -9) cut off; finished objects are never temp
    // files, and only files older than an hour go, so no live upload loses its file: the
    // sweep walks the whole store, and runs beside the server rather than before it.
    services.store.removeStaleTemp().then(
      (removed) => {
        if (removed > 0) services.logger.info('removed unfinished uploads', { removed });
      },
      (e: unknown) => services.logger.warn('could not remove unfinished uploads', { error: e instanceof Error ? e.message : String(e) }),
    );
  }
  const app = createApp(services);
  // Commits handed to a worker run in this process; the ones a crash (kill -9) left are taken up again.
  const stopCommitWorker = await startCommitWorker(services);
  // host-stale, the cross-host health events and due webhook deliveries, hourly.
  const checks = setInterval(() => {
    runEventChecks(services).then(
      (r) => {
        if (r.raised || r.resolved) services.logger.info('event checks', { ...r });
      },
      (e: unknown) => services.logger.warn('event checks failed', { error: e instanceof Error ? e.message : String(e) }),
    );
  }, EVENT_CHECK_INTERVAL_MS);
  checks.unref();
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
    // The console URL comes first: it is what a newcomer (or an operator on a DR night) opens.
    process.stdout.write(`Web console: ${consoleUrl(config.PUBLIC_URL, info.address, info.port)} (sign in with an operator or admin token)\n`);
    if (created) {
      process.stdout.write(`First start: created an admin token. It is shown once here and kept in ${created.file} (mode 0600):\n  ${created.token}\n`);
    }
    process.stdout.write(
      `VMFS Recovery Catalog listening on http://${info.address}:${info.port} (database: ${services.dbFlavour}, store: ${services.store.kind}, data: ${services.config.DATA_DIR})\n`,
    );
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(checks);
    stopCommitWorker();
    services.logger.info('stopping', { signal });
    server.close(() => {
      void close().finally(() => process.exit(0));
    });
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err) => {
  if (err instanceof ConfigError || err instanceof DatabaseBusyError) {
    process.stderr.write(`catalog: ${err.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`catalog: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
