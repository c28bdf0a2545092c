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
import { ConfigError } from './config.js';

/** Creates `dir` (an absolute path) and its missing parents, or throws a ConfigError saying why not. */
export function prepareDataDir(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d) && d !== dirname(d); d = dirname(d)) missing.unshift(d);
  try {
    for (const d of missing) {
      try {
        mkdirSync(d);
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
