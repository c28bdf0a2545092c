/**
 * `npm run catalog -- <command>`: the admin commands without the API (tokens, rebuild,
 * reindex, retention, check, drop, pin, events scan, maintenance; USAGE lists them). They open the same database and store the server uses; with
 * the embedded database only one process may hold it, so this says so plainly
 * when a running server has it.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { adminCommand, DatabaseBusyError, DatabaseNewerError, EmbeddedDatabaseUnreadableError } from '../db/client.js';
import { audit } from '../db/schema.js';
import { ARTIFACT_KINDS, type ArtifactKind } from '../formats/types.js';
import { openServices, type OpenedServices } from './boot.js';
import { ConfigError, loadConfig, onPostgres, storeSettingError } from './config.js';
import type { Role } from './context.js';
import { ApiError, failureLine, isUnavailable } from './errors.js';
import { createLogger } from './logger.js';
import { VERSION } from './version.js';
import { rebuildCatalog, reindexArtifacts, type Progress } from './admin/rebuild.js';
import { createToken, revokeToken } from './admin/tokens.js';
import { listTokens } from './read/tokens.js';
import { formatRetentionReport, runRetention } from './retention/run.js';
import { checkStore, formatCheckReport } from './retention/check.js';
import { pinCapture, unpinCapture } from './retention/pins.js';
import { dropOpenCapture } from './ingest/staging.js';
import { runEventChecks } from './events/checks.js';
import { hostScopeProblem } from './ingest/host-scope.js';
import { type Maintenance, runMaintenance } from './maintenance.js';

const USAGE = `usage: npm run catalog -- <command> [options]

commands:
  tokens create --role admin|operator|collector [--host HOST] --name NAME
                               create a bearer token; its secret is printed once
  tokens list                  list tokens (never their secrets)
  tokens revoke ID             revoke a token
  rebuild                      recreate the catalog from the manifests in the store
  reindex [--kind KIND]        re-parse stored artifacts (all, or one kind)
  retention [--dry-run]        apply the GFS retention policy (RETENTION_*): every capture with
                               its keep reasons or drop; without --dry-run delete what it drops
  check [--read-data-subset=N%]
                               check manifests, rows and chunks; re-hash the next N % of chunks
  drop ID                      drop an open capture (begun, never committed) now, as the staging
                               sweep does 24 h after its last begin, one still declared in part
                               an hour after; its collector sends it again if it spooled it
  pin ID --note TEXT           keep a capture whatever the policy says
  unpin ID                     remove a pin
  events scan                  raise host-stale (and re-check the health events), send due webhooks
  maintenance                  run the maintenance pass now, as the server does (a minute after
                               start, then hourly): stale commit jobs, staging sweep, event
                               checks, retention when RETENTION_SCHEDULED, the chunk listing,
                               the day's scrub when due, chunk-missing events; exit 3 when it
                               finds chunks lost or corrupt (the output says what to do)

options:
  --json                       machine-readable output on stdout; an error too, as
                               {"error":{"code","message"}} — code usage, database_busy,
                               database_unreadable, database_newer, invalid_setting, failed, or the
                               API's (not_found, conflict, service_unavailable, …) —
                               while stderr keeps its one line and the exit status is the same
  -h, --help                   this text
  -V, --version                the catalog's version (package.json's, as the collector's --version)

Configuration comes from the environment, as for \`npm start\` (see .env.example).
With the embedded database (no DATABASE_URL), stop the server first or use the
API's routes (the refusal names the one for the command).

exit status: 0 done · 1 failed · 2 done in part: rebuild left manifests or artifacts out,
reindex could not read artifacts (each named) · 3 check or maintenance found problems
(lost or corrupt chunks) · 64 usage · 75 the embedded
database is in use by a running server or another admin command · 78 a setting is invalid
(S3_BUCKET without credentials too), DATA_DIR's database or file store cannot be opened or
written by this user (the message says what to do: chown it, or rebuild a damaged one), or a
later release of the catalog migrated the database`;

/** USAGE's command-list entries of `command` (`tokens`: its three), each from its name on. */
function entriesOf(command: string): string[] {
  const list = USAGE.slice(USAGE.indexOf('commands:\n') + 10, USAGE.indexOf('\n\noptions:'));
  // An entry starts at two spaces' indent; its description lines are indented further.
  const entries = list.split(/\n(?= {2}\S)/).map((e) => e.replace(/^ {2}/, ''));
  return entries.filter((e) => e.split(/\s/)[0] === command);
}

/**
 * `<command> --help`: that command's entries of USAGE's command list (all of `tokens`, or just
 * `tokens create`), or null for a command it does not list.
 */
function commandUsage(command: string, sub?: string): string | null {
  const mine = entriesOf(command);
  const exact = mine.filter((e) => e.split(/\s/)[1] === sub);
  const shown = exact.length ? exact : mine;
  if (!shown.length) return null;
  return `usage: npm run catalog -- ${shown.join('\n   or: npm run catalog -- ')}\n\n--json, --help, --version and the exit statuses: npm run catalog -- --help`;
}

/** The usage error of a command USAGE does not list, with or without --help. */
function unknownCommand(command: string): string {
  return `unknown command ${JSON.stringify(command)}; see --help`;
}

/**
 * The usage error of a subcommand a command with subcommands (tokens, events: each entry's
 * second word a lower-case name) does not have, or null; an ID or an option is not one.
 */
function unknownSubcommand(command: string, sub: string | undefined): string | null {
  const subs = entriesOf(command).map((e) => e.split(/\s/)[1] ?? '');
  if (sub === undefined || !subs.length || !subs.every((s) => /^[a-z]+$/.test(s)) || subs.includes(sub)) return null;
  return `unknown ${command} command ${JSON.stringify(sub)}; try ${command} ${subs.join('|')}`;
}

/** What a command does through a running server's API, for the refusal on a busy embedded database. */
const BUSY_ROUTES: Record<string, string> = {
  'tokens create': 'POST /v1/tokens (or the console)',
  'tokens list': 'GET /v1/tokens (or the console)',
  'tokens revoke': 'DELETE /v1/tokens/{id} (or the console)',
  rebuild: 'POST /v1/admin/rebuild',
  reindex: 'POST /v1/admin/reindex',
  retention: 'POST /v1/retention/run?dry_run=true|false',
  check: 'POST /v1/admin/check?read_data_subset=N',
  events: 'POST /v1/admin/events/scan',
  drop: 'DELETE /v1/captures/{id}',
  pin: 'PUT /v1/captures/{id}/pin',
  unpin: 'DELETE /v1/captures/{id}/pin',
};

/** Whether a maintenance pass found chunks lost (listing) or corrupt or gone (scrub): exit 3, as for `check`'s findings. */
function maintenanceFoundProblems(done: Maintenance): boolean {
  return (done.listing?.doubted ?? 0) > 0 || (done.chunkMissing?.holding ?? 0) > 0 || (done.scrub !== null && !done.scrub.clean);
}

/** The maintenance pass's report: one summary line, then what each finding means and what to do. */
function formatMaintenance(done: Maintenance): string {
  const lines = [
    `maintenance: event checks ${done.events ? `${done.events.raised} raised, ${done.events.resolved} resolved` : '-'}; staging sweep ${done.sweptStaging ? `${done.sweptStaging.captures} areas` : '-'}; ` +
      `retention ${done.retention ? `${done.retention.dropped} dropped` : 'not scheduled'}; listing ${done.listing ? `${done.listing.vouched} vouched, ${done.listing.doubted} doubted` : '-'}; ` +
      `scrub ${done.scrub ? `${done.scrub.read} read, ${done.scrub.corrupt} corrupt` : 'not due'}; ` +
      `chunk-missing ${done.chunkMissing ? `${done.chunkMissing.raised} raised, ${done.chunkMissing.resolved} resolved, ${done.chunkMissing.holding} open` : '-'}`,
    ...done.failed.map((f) => `  ${f.step} failed: ${f.error}`),
  ];
  const doubted = done.listing?.doubted ?? 0;
  const missingOn = done.chunkMissing?.holding ?? 0;
  if (doubted > 0 || missingOn > 0)
    lines.push(
      `  ${doubted > 0 ? `${doubted} chunks the catalog holds are` : 'chunks kept artifacts reference are still'} not in the store at their recorded size (lost, or the store is not all there: an unmounted directory, another bucket); ` +
        `${missingOn} volume${missingOn === 1 ? '' : 's'} or host${missingOn === 1 ? '' : 's'} affected. ` +
        `Check the store first; then \`${adminCommand('check')}\` names the artifacts that need them. The next capture of a host holding a lost chunk uploads it again. ` +
        'A critical chunk-missing event on each (GET /v1/events?type=chunk-missing) says how many chunks and artifacts; it is resolved once none is missing.',
    );
  if (done.scrub && !done.scrub.clean)
    lines.push(
      `  the scrub found ${done.scrub.corrupt} chunks corrupt (bytes no longer matching their hash: set aside under quarantine/) or gone; ` +
        'a critical chunk-corrupt event names the artifacts each affects (GET /v1/events). The next capture of a host holding the good bytes uploads them again.',
    );
  return lines.join('\n');
}

/** Usage text as this CLI is run here: `npm run catalog -- …` in a checkout, `node …/dist/catalog.mjs …` beside a deployed bundle (adminCommand). */
function asRun(text: string): string {
  return text.replaceAll('npm run catalog -- ', adminCommand(''));
}

/** A usage mistake: exit 64 (EX_USAGE) with one line. */
class UsageError extends Error {}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  isTTY: boolean;
}

function progressPrinter(io: Io, label: string): Progress | undefined {
  if (!io.isTTY) return undefined;
  let last = 0;
  return (done, total, what) => {
    const t = Date.now();
    if (done < total && t - last < 100) return;
    last = t;
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    io.err(`\r\x1b[2K${label} ${done}/${total} (${pct}%) ${what.slice(0, 60)}${done === total ? '\n' : ''}`);
  };
}

/**
 * Opens the catalog for one command. An embedded catalog DATA_DIR did not hold (no pg/PG_VERSION)
 * is made anew by the open: `onFresh` is told, with the directory, once the command has succeeded
 * (a failure keeps its one line).
 */
async function openForCommand<T>(holder: string, fn: (opened: OpenedServices) => Promise<T>, onFresh?: (dataDir: string) => void): Promise<T> {
  const config = loadConfig();
  const dataDir = resolve(config.DATA_DIR);
  const fresh = !onPostgres(config) && !existsSync(join(dataDir, 'pg', 'PG_VERSION'));
  const opened = await openServices(config, { logger: createLogger(config.LOG_LEVEL === 'debug' ? 'debug' : 'warn'), embedded: { holder } });
  let result: T;
  try {
    result = await fn(opened);
  } catch (e) {
    throw storeSettingError(e, () => config) ?? e;
  } finally {
    await opened.close();
  }
  if (fresh) onFresh?.(dataDir);
  return result;
}

async function cliAudit(opened: OpenedServices, action: string, subject: string, details: Record<string, unknown>): Promise<void> {
  const { db, now } = opened.services;
  await db.insert(audit).values({ at: now(), tokenId: null, role: 'cli', action, subject, remoteAddr: 'cli', requestId: null, details });
}

/** `--json` among the options (before any `--`), read from argv itself: a line that does not parse still asked for it. */
function asksForJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * Ends a run that failed: one line on stderr, and with --json the error on stdout as well, in the
 * API's shape ({"error":{"code","message"}}, api/errors.ts), so a script reading stdout finds
 * JSON there whatever happened. Answers the exit status.
 */
function failed(io: Io, json: boolean, status: number, code: string, message: string): number {
  io.err(`catalog: ${message}\n`);
  if (json) io.out(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
  return status;
}

/** Runs one CLI invocation; returns the exit status. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        role: { type: 'string' },
        host: { type: 'string' },
        name: { type: 'string' },
        kind: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        'read-data-subset': { type: 'string' },
        note: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'V', default: false },
      },
    });
  } catch (e) {
    // An unknown option is named with where the command's options are listed (parseArgs' own
    // sentence advised `-- "--x"`, which no command takes).
    const unknown = /^Unknown option '(.*?)'\./.exec((e as Error).message);
    const command = argv.find((a) => !a.startsWith('-'));
    if (unknown)
      return failed(io, asksForJson(argv), 64, 'usage', `unknown option ${unknown[1]} (${adminCommand(`${command ? `${command} ` : ''}--help`)} lists them)`);
    // parseArgs says some errors in three lines (a value starting with '-': the last line says
    // to write --name=-VALUE); joined, they stay the one line stderr promises.
    return failed(io, asksForJson(argv), 64, 'usage', (e as Error).message.replace(/\n/g, ' '));
  }
  const { values, positionals } = parsed;
  const json = values.json ?? false;
  const print = (human: string, machine: unknown) => io.out(json ? JSON.stringify(machine, null, 2) + '\n' : human + '\n');
  if (values.help) {
    // `<command> --help` shows that command's own entry; none, everything. An unknown command or
    // subcommand is the usage error it is without --help: one line, 64, nothing on stdout.
    const own = positionals.length ? commandUsage(positionals[0], positionals[1]) : null;
    if (positionals.length && !own) return failed(io, json, 64, 'usage', unknownCommand(positionals[0]));
    const unknownSub = positionals.length ? unknownSubcommand(positionals[0], positionals[1]) : null;
    if (unknownSub) return failed(io, json, 64, 'usage', unknownSub);
    const usage = asRun(own ?? USAGE);
    // --json: one JSON document, the usage in it, as every other answer under --json.
    io.out(values.json ? `${JSON.stringify({ usage }, null, 2)}\n` : `${usage}\n`);
    return 0;
  }
  if (values.version) {
    print(VERSION, { version: VERSION });
    return 0;
  }
  if (positionals.length === 0) {
    if (json) return failed(io, json, 64, 'usage', 'no command given; see --help');
    io.err(asRun(USAGE) + '\n');
    return 64;
  }
  const [command, sub, ...rest] = positionals;
  // A DATA_DIR that held no catalog (a typo, a relative ./data read from another directory) is
  // made anew by any command: said, as 'no tokens' or an empty check would not say it. Not for
  // rebuild, whose work is to fill an empty one.
  const withServices = <T>(fn: (opened: OpenedServices) => Promise<T>) =>
    openForCommand(
      // What a server waiting for this database names (api/server.ts): `catalog retention`.
      `catalog ${command === 'tokens' && sub ? `tokens ${sub}` : command}`,
      fn,
      command === 'rebuild'
        ? undefined
        : (dataDir) =>
            io.err(
              `catalog: warning: DATA_DIR ${dataDir} held no catalog: a new, empty one was made there; if the server's is elsewhere, set DATA_DIR to it\n`,
            ),
    );
  try {
    switch (command) {
      case 'tokens': {
        if (sub === 'create') {
          const role = values.role as Role | undefined;
          if (!role) throw new UsageError('tokens create needs --role admin|operator|collector');
          if (!['admin', 'operator', 'collector'].includes(role))
            throw new UsageError(`tokens create: no role ${JSON.stringify(role)}; --role is admin, operator or collector`);
          if (!values.name) throw new UsageError('tokens create needs --name NAME');
          if (role === 'collector' && !values.host) throw new UsageError('a collector token needs --host HOST (the only host it may write for)');
          if (role !== 'collector' && values.host) throw new UsageError(`an ${role} token reaches every host: --host is for collector tokens only`);
          const hostProblem = values.host ? hostScopeProblem(values.host) : null;
          if (hostProblem) throw new UsageError(`--host: ${hostProblem}`);
          return await withServices(async (opened) => {
            const created = await createToken(opened.services, { role, host: values.host ?? null, name: values.name! });
            await cliAudit(opened, 'token-create', created.id, { role, host: created.host, name: created.name });
            print(
              `created ${role} token ${created.id}${created.host ? ` for host ${created.host}` : ''} (${created.name}).\n` +
                `The secret is shown once, here:\n  ${created.token}`,
              created,
            );
            return 0;
          });
        }
        if (sub === 'list') {
          return await withServices(async (opened) => {
            const list = await listTokens(opened.services.db);
            const human =
              list.length === 0
                ? 'no tokens'
                : list
                    .map((t) => `${t.id}  ${t.role.padEnd(9)} ${(t.host ?? '-').padEnd(20)} ${t.name}${t.revokedAt ? `  (revoked ${t.revokedAt})` : ''}`)
                    .join('\n');
            print(human, { tokens: list });
            return 0;
          });
        }
        if (sub === 'revoke') {
          const id = rest[0];
          if (!id) throw new UsageError('tokens revoke needs the token id');
          return await withServices(async (opened) => {
            const at = await revokeToken(opened.services, id);
            await cliAudit(opened, 'token-revoke', id, {});
            print(`revoked token ${id}`, { id, revokedAt: at.toISOString() });
            return 0;
          });
        }
        throw new UsageError(
          sub === undefined
            ? 'tokens needs a subcommand: create, list or revoke'
            : `unknown tokens command ${JSON.stringify(sub)}; try tokens create|list|revoke`,
        );
      }
      case 'rebuild': {
        if (sub) throw new UsageError(`rebuild takes no arguments (got ${JSON.stringify(sub)})`);
        return await withServices(async (opened) => {
          const result = await rebuildCatalog(opened.services, progressPrinter(io, 'rebuild'));
          const left = result.artifactsLeftOut;
          await cliAudit(opened, 'rebuild', 'catalog', {
            captures: result.captures,
            skipped: result.skipped,
            errors: result.errors.length,
            artifactsLeftOut: left.length,
            artifactsBroughtBack: result.artifactsBroughtBack.length,
          });
          const errors = result.errors.map((e) => `\n  ${e.key}: ${e.message}`).join('');
          const leftOut = left.length
            ? `, ${left.length} artifacts left out of their capture (chunk list missing or damaged)${left.map((l) => `\n  ${l.key} artifacts[${l.index}] (${l.fileName}) chunk list ${l.chunkList}: ${l.message}`).join('')}`
            : '';
          const back = result.artifactsBroughtBack;
          const broughtBack = back.length
            ? `, ${back.length} artifacts brought back into captures already present (their chunk list reads again)${back.map((b) => `\n  ${b.key} artifacts[${b.index}] (${b.fileName})`).join('')}`
            : '';
          print(
            `rebuild: ${result.manifests} manifests, ${result.captures} captures recreated (${result.artifacts} artifacts), ${result.skipped} already present, ${result.tokens.restored} tokens restored, ${result.errors.length} errors${errors}${leftOut}${broughtBack}`,
            result,
          );
          // A store with nothing to rebuild from is most often not the catalog's: a mistyped or relative DATA_DIR, another bucket.
          if (result.manifests === 0) {
            const { config, store } = opened.services;
            const s3 = store.kind === 's3';
            const where = s3 ? `bucket ${config.S3_BUCKET} at ${config.S3_ENDPOINT ?? `AWS S3 (${config.S3_REGION})`}` : join(config.DATA_DIR, 'blobs');
            io.err(
              `catalog: warning: the store (${where}) holds no capture manifest, so nothing was rebuilt; if the catalog's store is another, set ${s3 ? 'S3_BUCKET' : 'DATA_DIR'} to it and run rebuild again\n`,
            );
          }
          return result.errors.length > 0 || left.length > 0 ? 2 : 0;
        });
      }
      case 'reindex': {
        if (sub) throw new UsageError(`reindex takes no arguments (got ${JSON.stringify(sub)}); use --kind KIND`);
        const kind = values.kind as ArtifactKind | undefined;
        if (kind && !ARTIFACT_KINDS.includes(kind)) throw new UsageError(`unknown --kind ${kind}; one of ${ARTIFACT_KINDS.join(', ')}`);
        return await withServices(async (opened) => {
          const result = await reindexArtifacts(opened.services, { kind }, progressPrinter(io, 'reindex'));
          await cliAudit(opened, 'reindex', kind ?? 'all', { artifacts: result.artifacts, ok: result.ok, error: result.error });
          print(
            `reindex: ${result.artifacts} artifacts — ${result.ok} parsed, ${result.error} parse errors, ${result.opaque} opaque, ${result.failed.length} unreadable${result.failed.map((f) => `\n  artifact ${f.id}: ${f.message}`).join('')}`,
            result,
          );
          return result.failed.length > 0 ? 2 : 0;
        });
      }
      case 'events': {
        if (sub === undefined) throw new UsageError('events needs a subcommand: scan');
        if (sub !== 'scan' || rest.length) throw new UsageError(`unknown events command ${JSON.stringify([sub, ...rest].join(' '))}; try events scan`);
        return await withServices(async (opened) => {
          const result = await runEventChecks(opened.services);
          await cliAudit(opened, 'event-scan', 'events', { raised: result.raised, resolved: result.resolved });
          print(
            `events scan: ${result.raised} raised, ${result.resolved} resolved; webhooks: ${result.webhooks.delivered} delivered, ${result.webhooks.failed} failed`,
            result,
          );
          return 0;
        });
      }
      case 'retention': {
        if (sub) throw new UsageError(`retention takes no arguments (got ${JSON.stringify(sub)}); use --dry-run`);
        const dryRun = values['dry-run'] ?? false;
        return await withServices(async (opened) => {
          const report = await runRetention(opened.services, { dryRun, ranBy: 'cli' });
          await cliAudit(opened, dryRun ? 'retention-dry-run' : 'retention', `run ${report.runId}`, {
            kept: report.plan.keep,
            dropped: report.dropped.length,
            chunksDeleted: report.chunksDeleted,
            bytesFreed: report.bytesFreed,
          });
          print(formatRetentionReport(report), report);
          return 0;
        });
      }
      case 'maintenance': {
        if (sub) throw new UsageError(`maintenance takes no arguments (got ${JSON.stringify(sub)})`);
        return await withServices(async (opened) => {
          const done = await runMaintenance(opened.services);
          await cliAudit(opened, 'maintenance', 'catalog', { failed: done.failed.map((f) => f.step) });
          print(formatMaintenance(done), done);
          // A failed step first (the pass did not see everything), then what it found.
          return done.failed.length > 0 ? 1 : maintenanceFoundProblems(done) ? 3 : 0;
        });
      }
      case 'check': {
        if (sub) throw new UsageError(`check takes no arguments (got ${JSON.stringify(sub)}); use --read-data-subset=N%`);
        const subset = values['read-data-subset'];
        const m = subset === undefined ? null : /^(\d+(?:\.\d+)?)%?$/.exec(subset.trim());
        if (subset !== undefined && (!m || Number(m[1]) > 100))
          throw new UsageError(`--read-data-subset takes a percentage from 0 to 100, e.g. 5% (got ${JSON.stringify(subset)})`);
        return await withServices(async (opened) => {
          const report = await checkStore(opened.services, { readDataPercent: m ? Number(m[1]) : 0 });
          await cliAudit(opened, 'check', 'store', { clean: report.clean, corrupt: report.scrub?.corrupt.length ?? 0 });
          print(formatCheckReport(report), report);
          return report.clean ? 0 : 3;
        });
      }
      case 'drop': {
        if (!sub || rest.length) throw new UsageError("drop needs one capture id (a host's open captures are listed by GET /v1/hosts/{name})");
        return await withServices(async (opened) => {
          const dropped = await dropOpenCapture(opened.services, sub.toLowerCase());
          await cliAudit(opened, 'drop-capture', dropped.captureId, { host: dropped.host, chunkRecords: dropped.chunkRecords });
          print(`dropped open capture ${dropped.captureId} of host ${dropped.host} (${dropped.chunkRecords} chunk records)`, { ...dropped, dropped: true });
          return 0;
        });
      }
      case 'pin':
      case 'unpin': {
        if (!sub) throw new UsageError(`${command} needs the capture id`);
        if (command === 'pin' && !values.note?.trim()) throw new UsageError('pin needs --note TEXT (why the capture must be kept)');
        return await withServices(async (opened) => {
          if (command === 'pin') {
            const pinned = await pinCapture(opened.services, sub, values.note!, 'cli');
            await cliAudit(opened, 'pin', pinned.captureId, { note: pinned.note });
            print(`pinned ${pinned.captureId}: ${pinned.note}`, pinned);
          } else {
            await unpinCapture(opened.services, sub);
            await cliAudit(opened, 'unpin', sub, {});
            print(`unpinned ${sub}`, { captureId: sub, pinned: false });
          }
          return 0;
        });
      }
      default:
        throw new UsageError(unknownCommand(command));
    }
  } catch (e) {
    if (e instanceof UsageError) return failed(io, json, 64, 'usage', e.message);
    if (e instanceof DatabaseBusyError) {
      const route = BUSY_ROUTES[`${command} ${sub}`] ?? BUSY_ROUTES[command] ?? "the API's admin routes";
      return failed(
        io,
        json,
        75,
        'database_busy',
        e.holder && e.holder !== 'catalog server'
          ? `the embedded database in ${e.dataDir} is in use by another admin command (${e.heldBy}); it allows one at a time: run this again once that one ends`
          : command === 'maintenance'
            ? `the embedded database in ${e.dataDir} is in use by a running catalog server (pid ${e.pid}), which runs this pass itself (first a minute after its start, then hourly); stop it first to run one now`
            : `the embedded database in ${e.dataDir} is in use by a running catalog server (pid ${e.pid}); stop it first, or use ${route}`,
      );
    }
    if (e instanceof EmbeddedDatabaseUnreadableError) return failed(io, json, 78, 'database_unreadable', e.message);
    if (e instanceof DatabaseNewerError) return failed(io, json, 78, 'database_newer', e.message);
    if (e instanceof ConfigError) return failed(io, json, 78, 'invalid_setting', e.message.replace(/\n\s*/g, ' '));
    if (e instanceof ApiError) return failed(io, json, 1, e.code, e.message);
    // The store or the database not answering is said as such, with what it said (the address).
    if (isUnavailable(e))
      return failed(io, json, 1, 'service_unavailable', `the catalog's database or store is out of reach (${failureLine(e)}); run this again once it answers`);
    return failed(io, json, 1, 'failed', failureLine(e));
  }
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain || process.argv[1]?.endsWith('api/cli.ts')) {
  // A reader that stops early (`… | head`): the rest of the output goes nowhere and the command
  // still finishes its work (a rebuild cut off by a closed pipe would be worse than lost lines).
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  runCli(process.argv.slice(2), {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    isTTY: Boolean(process.stderr.isTTY),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`catalog: ${failureLine(e)}\n`);
      process.exitCode = 1;
    },
  );
}
