/**
 * The catalog CLI with its store not answering (an S3 endpoint down): one line saying the
 * database or store is out of reach, with what the connection said, and the JSON error code an
 * API client gets for an outage (`service_unavailable`) — where it printed only
 * `catalog: connect ECONNREFUSED 127.0.0.1:1`, code `failed`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/in-process-cli.js';

const dataDir = mkdtempSync(join(tmpdir(), 'vrc-cli-store-down-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('catalog CLI with the store out of reach', () => {
  it('says so in one line with the address, exit 1, service_unavailable under --json', { timeout: 120_000 }, async () => {
    // A port that was free a moment ago: nothing listens there now.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const env = {
      DATA_DIR: dataDir,
      S3_BUCKET: 'catalog',
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_FORCE_PATH_STYLE: 'true',
      S3_MAX_ATTEMPTS: '1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
    const r = await cli(['check'], env);
    expect(r.code, r.err).toBe(1);
    expect(r.err.trim().split('\n')).toEqual([
      `catalog: the catalog's database or store is out of reach (connect ECONNREFUSED 127.0.0.1:${port}); run this again once it answers`,
    ]);
    const j = await cli(['check', '--json'], env);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.out).error.code).toBe('service_unavailable');
  });
});
