/**
 * `npm start`: the catalog on Node. With no configuration it runs on the embedded
 * default (PGlite in ./data/pg, blobs in ./data/blobs) on 127.0.0.1:8787.
 *
 * Processes (SERVER_PROCESSES, api/config.ts serverProcessesOf): one, the way the embedded
 * database must run (PGlite is one process's: catalog.lock), or on PostgreSQL a primary and
 * that many workers (node:cluster) sharing the port, so every core serves requests. The
 * primary applies the migrations and makes the first-start admin token, once, before any
 * worker starts; then it holds no database connection, only supervises: it prints the
 * console URL and the token once all workers listen, starts a worker again (with a log line)
 * when one dies, and on SIGTERM or SIGINT stops them all. A worker whose primary is gone (a
 * kill -9) exits at once: node:cluster ends a worker whose channel to the primary closes
 * unasked, and the listening socket was the primary's, so the port is free for a restart.
 *
 * What runs where: every worker serves HTTP and runs commit jobs (a job is taken by one
 * conditional UPDATE under a lease, api/ingest/commit-jobs.ts, which several servers or
 * Lambda instances already share); the work that is one process's job — the
 * maintenance pass and the start's sweep of unfinished uploads — runs in worker 1 (its replacement
 * takes it over). Each process keeps its own admission gate, health-pass queue, token and
 * presence caches and copies of chunks it received; docs/architecture.md ("Server
 * processes") says why each is right across processes.
 */
import cluster, { type Worker } from 'node:cluster';
import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { serve } from '@hono/node-server';
import { openServices } from './boot.js';
import { ConfigError, loadConfig, localBaseUrl, serverProcessesOf, startWarnings, storeSettingError, urlHost, type Config } from './config.js';
import type { Services } from './context.js';
import { DatabaseBusyError, DatabaseNewerError, EmbeddedDatabaseUnreadableError } from '../db/client.js';
import { failureLine, isUnavailable } from './errors.js';
import { createLogger } from './logger.js';
import { FsBlobStore } from './store/fs.js';
import { VERSION } from './version.js';

/**
 * The app's modules (routes, schemas, console) are imported while the database opens,
 * not before: built into one file, a dynamic import is evaluated only when it runs, so
 * the two overlap instead of adding up at start.
 */
async function loadAppModules() {
  const [
    { createApp },
    { ensureBootstrapToken, keepAllTokens },
    { scheduleMaintenance },
    { startCommitWorker },
    { forgetVerifiedTokens, whenTokensForgotten },
    { emptyCatalogNotice },
  ] = await Promise.all([
    import('./app.js'),
    import('./admin/tokens.js'),
    import('./maintenance.js'),
    import('./ingest/commit-jobs.js'),
    import('./http/auth.js'),
    import('./admin/empty-catalog.js'),
  ]);
  return {
    createApp,
    ensureBootstrapToken,
    keepAllTokens,
    scheduleMaintenance,
    startCommitWorker,
    forgetVerifiedTokens,
    whenTokensForgotten,
    emptyCatalogNotice,
  };
}

type AppModules = Awaited<ReturnType<typeof loadAppModules>>;

/** The environment variable that tells a worker its slot (1 … SERVER_PROCESSES); slot 1 runs the maintenance. */
const SLOT_ENV = 'VRC_SERVER_SLOT';

/**
 * Messages between a worker and the primary when a token is revoked: the worker asks (FORGET,
 * with its own id), the primary tells every other worker (FORGET, with its relay id), each
 * answers once it forgot (FORGOT), and the primary answers the asking worker (FORGOTTEN).
 */
const FORGET = 'vrc:forget-verified-tokens';
const FORGOT = 'vrc:forgot-verified-tokens';
const FORGOTTEN = 'vrc:verified-tokens-forgotten';
type TokenMessage = { type: typeof FORGET; id: number } | { type: typeof FORGOT; relay: number } | { type: typeof FORGOTTEN; id: number };

/** How long a revocation waits for the other workers to forget (one that died meanwhile never answers). */
const FORGET_WAIT_MS = 2000;

/** How long a stop waits for workers to finish before it kills them. */
const STOP_WAIT_MS = 10_000;

/** A worker that lived less than this is started again after a growing pause (1 s doubling to 30 s), not at once. */
const STEADY_MS = 10_000;

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
  return `${localBaseUrl(address, port)}/`;
}

/**
 * Whether HOST:PORT can be listened on, tried before the start opens the database or makes a
 * first-start admin token: a port another process holds stops the start with nothing made.
 * Null when it can; else the listen error.
 */
async function listenProblem(config: Config): Promise<NodeJS.ErrnoException | null> {
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(config.PORT, config.HOST, () => resolve()));
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return null;
}

/** The first-start admin token, shown this once, when the catalog listens. */
function printCreatedToken(created: { token: string; file: string } | null): void {
  if (created)
    process.stdout.write(`First start: created an admin token. It is shown once here and kept in ${created.file} (mode 0600):\n  ${created.token}\n`);
}

/**
 * A start that made its first-start admin token and then could not listen (the port taken
 * between the check and the listen) shows no token it does not serve: its line says where it is kept.
 */
function keptTokenNote(created: { file: string } | null | undefined): string {
  return created ? ` (the first-start admin token it made is kept in ${created.file})` : '';
}

/** Why a port could not be listened on, and the way out. */
function listenFailure(config: Config, e: NodeJS.ErrnoException): string {
  const way =
    e.code === 'EADDRINUSE'
      ? `: another process listens there; stop it, or start this one on another port (PORT=${config.PORT + 1} npm start)`
      : e.code === 'EACCES' && config.PORT < 1024
        ? `: port ${config.PORT} needs privileges; use a port from 1024 up (PORT=8787) behind a proxy`
        : e.code === 'EADDRNOTAVAIL'
          ? `: ${config.HOST} is no address of this machine (HOST)`
          : '';
  return `cannot listen on ${config.HOST}:${config.PORT}: ${e.code ?? e.message}${way}`;
}

/** The lines a start prints on stdout once the catalog listens (the console URL first: it is what a newcomer opens). */
function printListening(
  config: Config,
  info: { address: string; port: number },
  what: { dbFlavour: string; storeKind: string; dataDir: string; processes: number },
  created: { token: string; file: string } | null,
): void {
  process.stdout.write(`Web console: ${consoleUrl(config.PUBLIC_URL, info.address, info.port)} (sign in with an operator or admin token)\n`);
  printCreatedToken(created);
  // One write with the listening line, which a supervisor (or a test) waits for.
  const warnings = startWarnings(config).map((w) => `Warning: ${w}\n`);
  process.stdout.write(
    `VMFS Recovery Catalog listening on http://${urlHost(info.address)}:${info.port} (database: ${what.dbFlavour}, store: ${what.storeKind}, data: ${what.dataDir}, processes: ${what.processes})\n${warnings.join('')}`,
  );
}

/** Opens the database and the store while the app's modules load. */
async function openWithModules(config: Config) {
  const opening = openServices(config, {
    embedded: {
      holder: 'catalog server',
      // An admin command (retention, maintenance) lets go when it ends: waited for, said once.
      lockWaitMs: config.DATABASE_LOCK_WAIT * 1000,
      onHeld: (held) =>
        process.stderr.write(
          `catalog: the embedded database in ${held.dataDir} is in use by another process (${held.heldBy}); waiting up to ${config.DATABASE_LOCK_WAIT} s for it to let go (DATABASE_LOCK_WAIT)\n`,
        ),
    },
  });
  const modules = loadAppModules();
  // Neither is left unhandled while the other is awaited.
  modules.catch(() => {});
  const opened = await opening;
  return { ...opened, modules: await modules };
}

/**
 * What a start does once, before anything serves: the first-start admin token, every
 * token's restorable record in the store (see rebuild), and a line on stderr when the store
 * holds manifests the empty database does not (rebuild brings them back); a store that cannot
 * be reached now is retried at the next start, not a reason to stay down.
 */
async function bootstrap(
  services: Services,
  config: Config,
  tokens: Pick<AppModules, 'ensureBootstrapToken' | 'keepAllTokens' | 'emptyCatalogNotice'>,
): Promise<{ token: string; file: string } | null> {
  await tokens.emptyCatalogNotice(services).then(
    (notice) => {
      if (notice) process.stderr.write(`Warning: ${notice}\n`);
    },
    (e: unknown) => {
      // A setting to mend (no bucket, no credentials, no S3 server) stops the start with its one line (exit 78), not a warning first.
      if (storeSettingError(e, () => config)) throw e;
      services.logger.warn('could not compare the store with the catalog', { error: e instanceof Error ? e.message : String(e) });
    },
  );
  const created = await tokens.ensureBootstrapToken(services, services.config.DATA_DIR, config.CATALOG_BOOTSTRAP_TOKEN, (line) =>
    process.stderr.write(`Warning: ${line}\n`),
  );
  await tokens.keepAllTokens(services).then(
    (written) => {
      if (written > 0) services.logger.info('kept token records in the store', { written });
    },
    (e: unknown) => services.logger.warn('could not keep token records in the store', { error: e instanceof Error ? e.message : String(e) }),
  );
  return created;
}

/** The one-process-only work: the sweep of unfinished uploads, and the maintenance pass (a minute after start, then hourly). Returns the function that stops it. */
function startMaintenance(services: Services, modules: AppModules): () => void {
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
  // The maintenance pass, a minute after start and then hourly: host-stale, the cross-host
  // health events, due webhook deliveries, the staging sweep, scheduled retention, the chunk
  // listing and the daily scrub. (It logs what it did itself.) MAINTENANCE_SCHEDULED=false: none.
  if (!services.config.MAINTENANCE_SCHEDULED) return () => {};
  return modules.scheduleMaintenance(services);
}

/**
 * Serves the app (and runs commit jobs: the ones a crash left are taken up again) until a
 * stop signal; `stopOn` names the signals that stop this process.
 */
async function serveCatalog(
  services: Services,
  close: () => Promise<void>,
  modules: AppModules,
  config: Config,
  options: {
    stopOn: NodeJS.Signals[];
    stopMaintenance: () => void;
    onListening: (info: AddressInfo) => void;
    /** The admin token this start created: where it is kept is said when the port cannot be listened on. */
    created?: { token: string; file: string } | null;
  },
): Promise<void> {
  const app = modules.createApp(services);
  const stopCommitWorker = await modules.startCommitWorker(services);
  let listened = false;
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
    listened = true;
    options.onListening(info);
  });
  server.on('error', (e: NodeJS.ErrnoException) => {
    // The port taken (EADDRINUSE) or refused (EACCES): one line, not a stack trace.
    if (!listened) {
      process.stderr.write(`catalog: ${listenFailure(config, e)}${keptTokenNote(options.created)}\n`);
      process.exit(1);
    }
    services.logger.warn('server error', { error: e.code ?? e.message });
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    options.stopMaintenance();
    stopCommitWorker();
    services.logger.info('stopping', { signal });
    server.close(() => {
      void close().finally(() => process.exit(0));
    });
    setTimeout(() => process.exit(0), 5000).unref();
  };
  for (const signal of options.stopOn) process.on(signal, () => stop(signal));
}

/** SERVER_PROCESSES=1: everything in this process, as the embedded database needs. */
async function runSingle(config: Config): Promise<void> {
  const { services, close, modules } = await openWithModules(config);
  const created = await bootstrap(services, config, modules);
  const stopMaintenance = startMaintenance(services, modules);
  await serveCatalog(services, close, modules, config, {
    stopOn: ['SIGINT', 'SIGTERM'],
    stopMaintenance,
    created,
    onListening: (info) =>
      printListening(config, info, { dbFlavour: services.dbFlavour, storeKind: services.store.kind, dataDir: services.config.DATA_DIR, processes: 1 }, created),
  });
}

/** A worker of the primary below: serves HTTP; slot 1 also runs the maintenance. */
async function runWorker(): Promise<void> {
  const config = loadConfig();
  const slot = Number(process.env[SLOT_ENV] ?? '1');
  const { services, close, modules } = await openWithModules(config);
  const stopMaintenance = slot === 1 ? startMaintenance(services, modules) : () => {};
  // SIGINT (Ctrl-C reaches the whole process group) is the primary's to act on: it stops every worker.
  process.on('SIGINT', () => {});
  // A revocation here reaches the other workers before it answers; one there reaches this one.
  let asked = 0;
  const answers = new Map<number, () => void>();
  modules.whenTokensForgotten(
    () =>
      new Promise<void>((resolve) => {
        const id = ++asked;
        const timer = setTimeout(() => answers.get(id)?.(), FORGET_WAIT_MS);
        answers.set(id, () => {
          clearTimeout(timer);
          answers.delete(id);
          resolve();
        });
        process.send?.({ type: FORGET, id } satisfies TokenMessage);
      }),
  );
  process.on('message', (m: TokenMessage) => {
    if (m?.type === FORGET) {
      void modules.forgetVerifiedTokens(services.db, { tell: false });
      process.send?.({ type: FORGOT, relay: m.id } satisfies TokenMessage);
    } else if (m?.type === FORGOTTEN) answers.get(m.id)?.();
  });
  await serveCatalog(services, close, modules, config, { stopOn: ['SIGTERM'], stopMaintenance, onListening: () => {} });
}

/** SERVER_PROCESSES > 1 (PostgreSQL): migrations and the first-start token here, once; then `processes` workers, supervised. */
async function runPrimary(config: Config, processes: number): Promise<void> {
  const logger = createLogger(config.LOG_LEVEL);
  const { services, close } = await openServices(config, { logger });
  let created: { token: string; file: string } | null;
  try {
    created = await bootstrap(services, config, { ...(await import('./admin/tokens.js')), ...(await import('./admin/empty-catalog.js')) });
  } finally {
    await close();
  }
  const what = { dbFlavour: services.dbFlavour, storeKind: services.store.kind, dataDir: services.config.DATA_DIR, processes };

  const slotOf = new Map<Worker, number>();
  const startedAt = new Map<number, number>();
  const pauseOf = new Map<number, number>();
  const listening = new Set<number>();
  let serving = false;
  let stopping = false;
  const fork = (slot: number) => {
    if (stopping) return;
    const worker = cluster.fork({ PORT: String(config.PORT), [SLOT_ENV]: String(slot) });
    // A message to a worker that is just dying fails on its closed channel: that must not end the primary.
    worker.on('error', (e: Error) => logger.warn('could not reach a server process', { slot, pid: worker.process.pid, error: e.message }));
    slotOf.set(worker, slot);
    startedAt.set(slot, Date.now());
  };
  const workers = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);

  cluster.on('listening', (worker, address) => {
    if (serving) return;
    listening.add(slotOf.get(worker) ?? 0);
    if (listening.size < processes) return;
    serving = true;
    printListening(config, { address: address.address ?? config.HOST, port: address.port }, what, created);
    created = null;
  });
  cluster.on('exit', (worker, code, signal) => {
    const slot = slotOf.get(worker) ?? 0;
    slotOf.delete(worker);
    if (stopping) {
      if (workers().length === 0) process.exit(0);
      return;
    }
    if (!serving) {
      // A worker that cannot start (the database refused it, the port is taken) will not start
      // when asked again: the start fails, with the worker's own message above this line.
      process.stderr.write(`catalog: server process ${slot} exited before it listened (${signal ?? `exit code ${code}`})${keptTokenNote(created)}\n`);
      for (const w of workers()) w.process.kill('SIGKILL');
      process.exit(typeof code === 'number' && code > 0 ? code : 1);
    }
    const lived = Date.now() - (startedAt.get(slot) ?? 0);
    const pause = lived < STEADY_MS ? Math.min(30_000, Math.max(1000, 2 * (pauseOf.get(slot) ?? 0))) : 0;
    pauseOf.set(slot, pause);
    logger.warn('server process exited; starting another', { slot, pid: worker.process.pid, code, signal, restartInMs: pause });
    // Not unref'd: with every worker gone at once, this timer is what keeps the primary up to replace them.
    setTimeout(() => fork(slot), pause);
  });

  // A revocation in one worker: every other worker forgets its verified tokens, then the asking one is answered.
  let relays = 0;
  const relaying = new Map<number, { from: Worker; id: number; waiting: Set<Worker> }>();
  const answered = (relay: number, by: Worker) => {
    const r = relaying.get(relay);
    if (!r) return;
    r.waiting.delete(by);
    if (r.waiting.size > 0) return;
    relaying.delete(relay);
    if (r.from.isConnected()) r.from.send({ type: FORGOTTEN, id: r.id } satisfies TokenMessage);
  };
  cluster.on('message', (worker, m: TokenMessage) => {
    if (m?.type === FORGOT) return answered(m.relay, worker);
    if (m?.type !== FORGET) return;
    const relay = ++relays;
    const others = workers().filter((w) => w !== worker && w.isConnected());
    relaying.set(relay, { from: worker, id: m.id, waiting: new Set(others) });
    for (const w of others) w.send({ type: FORGET, id: relay } satisfies TokenMessage);
    if (others.length === 0) answered(relay, worker);
  });
  cluster.on('exit', (worker) => {
    // A worker that died answers nothing: whatever waits for it waits no longer.
    for (const relay of [...relaying.keys()]) answered(relay, worker);
  });

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal, processes: workers().length });
    if (workers().length === 0) process.exit(0);
    for (const w of workers()) w.process.kill('SIGTERM');
    setTimeout(() => {
      for (const w of workers()) w.process.kill('SIGKILL');
      process.exit(0);
    }, STOP_WAIT_MS).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  for (let slot = 1; slot <= processes; slot++) fork(slot);
}

const USAGE = `usage: npm start   (or node dist/server.mjs)

Starts the catalog: the API, the web console and the maintenance pass. It takes no
arguments: every setting is an environment variable, documented in .env.example, e.g.
  PORT=9000 npm start
  DATA_DIR=/srv/catalog HOST=0.0.0.0 PUBLIC_URL=https://catalog.example npm start
  DATABASE_URL=postgres://… S3_BUCKET=… S3_ENDPOINT=… npm start
A bad value stops the start with a line naming the variable (exit 78).
The admin commands (tokens, rebuild, retention, check, …): npm run catalog -- --help

exit status: 0 stopped (SIGTERM, Ctrl-C) · 1 cannot start (the port taken, the database
or the store not answering) · 64 an argument · 75 another process (an admin command, another
server) still holds the embedded database after DATABASE_LOCK_WAIT seconds (60): start again
later, as systemd does · 78 a setting is invalid, DATA_DIR cannot be used, the embedded
database cannot be opened, or a later release of the catalog migrated the database
`;

/**
 * The server's settings are environment variables only: --help and --version answer and exit;
 * any other argument (a --port 9000, a typo) is a usage error (64) rather than a server started
 * as if it had not been given.
 */
function answerArguments(args: string[]): number | null {
  if (args.length === 0) return null;
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  process.stderr.write(
    `catalog: the server takes no arguments (got ${JSON.stringify(args.join(' '))}): its settings are environment variables, e.g. PORT=9000 npm start (.env.example lists them; --help)\n`,
  );
  return 64;
}

async function main(): Promise<void> {
  if (cluster.isWorker) return runWorker();
  const answered = answerArguments(process.argv.slice(2));
  if (answered !== null) process.exit(answered);
  const config = loadConfig();
  const processes = serverProcessesOf(config, availableParallelism());
  if (config.PORT === 0 && !config.PUBLIC_URL) config.PORT = await freePort(config.HOST);
  // The port first: a start that cannot listen makes no database, token or first-start line.
  const cannotListen = await listenProblem(config);
  if (cannotListen) {
    process.stderr.write(`catalog: ${listenFailure(config, cannotListen)}\n`);
    process.exit(1);
  }
  return processes === 1 ? runSingle(config) : runPrimary(config, processes);
}

main().catch((err) => {
  if (err instanceof DatabaseBusyError) {
    // Not a setting error (78, which systemd does not restart): the holder is most often an
    // admin command that ends on its own, so this is EX_TEMPFAIL and the service manager starts
    // the server again. The error's own advice (the API's admin routes) is for an admin command.
    const waited = err.waitedMs > 0 ? ` after ${Math.round(err.waitedMs / 1000)} s` : '';
    process.stderr.write(
      `catalog: the embedded database in ${err.dataDir} is still in use by another process (${err.heldBy})${waited}; it allows one at a time. Exit 75: start this again once that one ends (systemd does, RestartSec later); a second server needs its own DATA_DIR (and PORT)\n`,
    );
    process.exit(75);
  }
  if (err instanceof ConfigError || err instanceof EmbeddedDatabaseUnreadableError || err instanceof DatabaseNewerError) {
    process.stderr.write(`catalog: ${err.message}\n`);
    process.exit(78);
  }
  // A wrong bucket or endpoint is named as the setting it is.
  const setting = storeSettingError(err, loadConfig);
  if (setting) {
    process.stderr.write(`catalog: ${setting.message}\n`);
    process.exit(78);
  }
  // The database or the store not answering (a stopped PostgreSQL, an S3 endpoint down): said as such, with what was reached for.
  if (isUnavailable(err))
    process.stderr.write(
      `catalog: cannot start: the database or the store does not answer (${failureLine(err)}); check that it runs and that DATABASE_URL or S3_ENDPOINT names it\n`,
    );
  else process.stderr.write(`catalog: cannot start: ${failureLine(err)}\n`);
  process.exit(1);
});
