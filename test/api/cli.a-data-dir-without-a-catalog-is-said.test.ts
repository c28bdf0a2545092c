/**
 * The catalog CLI on a DATA_DIR that held no catalog — a typo, or ./data read from another
 * directory than the server's — makes a new, empty one, and answered "no tokens" or a clean
 * empty check as if that were the catalog. It now says so on stderr once the command is done
 * (stdout unchanged, --json too); rebuild, whose work is to fill an empty one, says nothing.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/in-process-cli.js';

const root = mkdtempSync(join(tmpdir(), 'vrc-cli-fresh-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('catalog CLI on a DATA_DIR without a catalog', () => {
  it('says a new, empty one was made, once, and the output is as before', { timeout: 120_000 }, async () => {
    const dataDir = join(root, 'typo');
    const first = await cli(['tokens', 'list', '--json'], { DATA_DIR: dataDir });
    expect(first.code, first.err).toBe(0);
    expect(JSON.parse(first.out)).toEqual({ tokens: [] });
    expect(first.err).toBe(
      `catalog: warning: DATA_DIR ${dataDir} held no catalog: a new, empty one was made there; if the server's is elsewhere, set DATA_DIR to it\n`,
    );
    expect(existsSync(join(dataDir, 'pg', 'PG_VERSION'))).toBe(true);
    // The catalog is there now: nothing more to say.
    const again = await cli(['tokens', 'list'], { DATA_DIR: dataDir });
    expect(again.code).toBe(0);
    expect(again.err).toBe('');
  });

  it('rebuild fills an empty one without a word of it', { timeout: 120_000 }, async () => {
    const r = await cli(['rebuild'], { DATA_DIR: join(root, 'rebuilt') });
    expect(r.code, r.err).toBe(0);
    expect(r.err).not.toContain('held no catalog');
  });
});
