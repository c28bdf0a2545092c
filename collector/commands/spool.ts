import { readdirSync, statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { CATALOG_OPTIONS, COMMON_HELP, DEFAULT_SPOOL_DIR, parseCommand, printedHelp, spoolListCommand, VALUE } from '../cli.js';
import { loadConfigFile, requireCatalog, resolveSendConfig } from '../config.js';
import { CatalogClient } from '../catalog-client.js';
import { deliverCapture } from '../deliver.js';
import { UnreachableError, unreachableLine } from '../http.js';
import { CollectorError, UsageError } from '../errors.js';
import { readSpool, Spool, type SpoolEntry } from '../spool.js';
import { printableJson, visible } from '../../formats/printable.js';

export const HELP = `Usage: collector spool list | resend ID | drop ID [options]

The captures waiting in the spool for the catalog (pending) and those it will never
take (rejected: collect --help says when).

  list                 each capture: id, state, host, collected at, artifacts, size,
                       failed attempts, last error (--json: all of it)
  resend ID            deliver a capture now; a rejected one goes back to the queue
                       (--json: the capture as listed, chunks and bytes uploaded)
  drop ID              delete a capture, pending or rejected, saying what it was
                       (--json: the capture as listed)
  ID may be any unique prefix of a capture id.

  --spool DIR          the spool (default ${DEFAULT_SPOOL_DIR}; config "spool"); one
                       given must exist and be a spool or empty, the default not
                       there yet has no captures
${COMMON_HELP}

Exit status: 0 done · 1 failed, or no such capture · 64 usage, or no spool at the
--spool or "spool" given · 65 rejected again · 75 catalog unreachable (the capture stays
pending) · 78 config file unreadable or invalid, or TLS cert untrusted.
`;

const OPTIONS = { ...CATALOG_OPTIONS, spool: VALUE } as const;

const SPOOL_PARTS = ['captures/', 'chunks/', 'rejected/', 'lock'];

/** A directory with entries, none of them a spool's. An unreadable one is left to the spool's own read to say. */
function notSpool(dir: string): boolean {
  try {
    const names = readdirSync(dir);
    return names.length > 0 && !names.some((n) => SPOOL_PARTS.includes(n) || SPOOL_PARTS.includes(`${n}/`));
  } catch {
    return false;
  }
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** The one capture whose id starts with `id`, or a one-line error. */
function pick(entries: SpoolEntry[], id: string, dir: string): SpoolEntry {
  const hits = entries.filter((e) => e.id.startsWith(id));
  if (hits.length === 1 && id) return hits[0];
  throw new CollectorError(
    hits.length
      ? `${JSON.stringify(id)} matches ${hits.length} captures in ${dir}`
      : `no capture ${JSON.stringify(id)} in ${dir} (see ${spoolListCommand(dir)})`,
  );
}

/** An entry as --json prints it: everything but the capture's begin body. */
const shown = ({ capture, ...e }: SpoolEntry) => e;

const describe = (e: SpoolEntry) => `${e.state} capture ${e.id} of ${e.host}, collected ${e.collectedAt}: ${e.artifacts} artifact(s), ${mib(e.size)}`;

/** `spool`: list, resend or drop the captures in the spool. */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand('spool', OPTIONS, args, true);
  if (printedHelp(values, HELP)) return 0;
  const [action, id] = positionals;
  const arity = action === 'list' ? 1 : action === 'resend' || action === 'drop' ? 2 : 0;
  if (!arity || positionals.length !== arity) throw new UsageError(`spool: expected list, resend ID or drop ID (see collector spool --help)`);
  const file = loadConfigFile(values.config);
  const cfg = resolveSendConfig(values, file);
  const dir = cfg.spoolDir;
  let found: Stats | undefined;
  try {
    found = statSync(dir);
  } catch {
    // not there (or not to be reached): found stays undefined
  }
  // A spool named by --spool or "spool" that is not there is a typo to say, not a spool with nothing
  // waiting (list said "no captures", exit 0; resend and drop made one there). The default not there
  // yet is a host that never spooled.
  // A directory holding other things but none of a spool's is one named a level off (/var/spool
  // for /var/spool/vrc-collector): list would say "no captures" and resend/drop would make a
  // spool among its files. An empty one is a spool made ready before the first collect.
  const problem = !found?.isDirectory()
    ? (found || resolve(dir) !== DEFAULT_SPOOL_DIR) && (found ? 'is not a directory' : 'does not exist')
    : notSpool(dir) && `is not a spool (it has none of ${SPOOL_PARTS.join(', ')})`;
  if (problem)
    throw new UsageError(
      `spool: ${values.spool !== undefined ? '--spool' : file.spool !== undefined ? `"spool" of ${file.from}:` : 'the spool'} ${dir} ${problem}`,
    );

  if (action === 'list') {
    const entries = await readSpool(dir, true);
    if (values.json) {
      process.stdout.write(printableJson({ spool: dir, captures: entries.map(shown) }) + '\n');
    } else {
      for (const e of entries)
        process.stdout.write(
          `${visible(`${describe(e)}; ${mib(e.spoolBytes)} staged; ${e.attempts} failed attempt(s)${e.lastError ? `; last: ${e.lastError}` : ''}`)}\n`,
        );
      if (!entries.length) process.stdout.write(`no captures in ${dir}\n`);
    }
    return 0;
  }

  const client = action === 'resend' ? requireCatalog(cfg) : null;
  if (!found) pick([], id, dir);
  const spool = await Spool.open(dir, cfg.spoolMaxBytes);
  try {
    const e = pick(await readSpool(dir), id, dir);
    // With --json, the one document is written once the action is done; a failure is main's error document.
    if (action === 'drop') {
      if (!values.json) process.stdout.write(`dropping ${visible(describe(e))}\n`);
      await spool.drop(e);
      if (values.json) process.stdout.write(printableJson({ spool: dir, dropped: shown(e) }) + '\n');
      return 0;
    }
    const c = e.state === 'rejected' ? await spool.unreject(e) : e.capture;
    const d = await deliverCapture(c, new CatalogClient(client!.catalogUrl, client!.token, cfg.retry), spool, { parallel: cfg.parallel }).catch((err) => {
      // As collect says it: what is wrong with the catalog, not the request it went wrong on.
      if (err instanceof UnreachableError) err.message = unreachableLine(err) ?? err.message;
      throw err;
    });
    process.stdout.write(
      values.json
        ? printableJson({ spool: dir, resent: shown(e), chunksUploaded: d.chunksUploaded, bytesUploaded: d.bytesUploaded }) + '\n'
        : `delivered capture ${e.id} of ${e.host}: ${d.chunksUploaded} chunk(s) uploaded, ${mib(d.bytesUploaded)}\n`,
    );
    return 0;
  } finally {
    spool.close();
  }
}
