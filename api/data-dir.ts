/**
 * DATA_DIR made ready before anything writes there. Node's recursive mkdir (sync and async)
 * loops for ever when mkdir answers ENOENT under a parent that exists, which is what /proc
 * does: `mkdir /proc/x` → ENOENT, so it makes the parent, `/proc` → EEXIST, and tries
 * `/proc/x` again. `DATA_DIR=/proc/x npm start` hung there, in the embedded database's
 * mkdirSync, printing nothing. Here each missing level is made on its own, and a directory
 * made and removed inside proves DATA_DIR takes the ones the catalog makes later (a DATA_DIR
 * of /proc itself passes the first step); any failure is a setting error naming DATA_DIR.
 */
import { existsSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { firstUnwritable, userName } from '../db/client.js';
import { shellWord } from '../formats/printable.js';
import { ConfigError } from './config.js';

/**
 * Creates `dir` (an absolute path) and its missing parents, or throws a ConfigError saying why
 * not. A DATA_DIR made here is the catalog user's alone (0700): it holds the embedded database,
 * token records and every stored artifact, which other local users have no business reading.
 * One that exists keeps its mode.
 */
export function prepareDataDir(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d) && d !== dirname(d); d = dirname(d)) missing.unshift(d);
  try {
    for (const d of missing) {
      try {
        mkdirSync(d, d === dir ? 0o700 : undefined);
      } catch (e) {
        // Another process of this catalog made it meanwhile.
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(d).isDirectory()) throw e;
      }
    }
    const probe = join(dir, `.write-check-${process.pid}`);
    mkdirSync(probe);
    rmdirSync(probe);
  } catch (e) {
    throw new ConfigError([`DATA_DIR: cannot use ${dir}: ${(e as Error).message}`]);
  }
}

/**
 * The filesystem store's directories (DATA_DIR/blobs and two levels below: chunks/ab,
 * manifests/HOST, staging/CAPTURE) are the catalog user's to write, or a ConfigError naming the
 * first that is not. One restored or copied as root started, and then every begin answered 503
 * 'retry later' (EACCES in the log), which collectors spool and send again every run for ever.
 */
export function checkStoreDirs(dataDir: string): void {
  const blobs = join(dataDir, 'blobs');
  const found = existsSync(blobs) ? firstUnwritable(blobs, 2, true) : null;
  if (found)
    throw new ConfigError([
      `DATA_DIR: the file store in ${blobs} cannot be written by this process (${found}): chown -R ${shellWord(userName())} ${shellWord(blobs)}, or make it writable`,
    ]);
}
