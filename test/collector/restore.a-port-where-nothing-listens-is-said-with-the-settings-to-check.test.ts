/**
 * A catalog URL with the wrong port (`:8778` for `:8787`, the server's old port) and a catalog
 * down both gave `catalog unreachable: connect ECONNREFUSED 127.0.0.1:8778`, exit 75: at 3 a.m.
 * the operator could not tell "wait for the catalog" from "fix the URL". Only the operator can
 * (a catalog restarting refuses too, for seconds, and a spooled capture must wait, so the exit
 * stays 75, as --help and README say); the line now says what a refusal means — nothing listens
 * on that host and port — and which settings give the URL. An upload URL the catalog handed out
 * is named without them (they do not set it). Through the bundle, against a port where nothing
 * listens.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeError } from '../../collector/errors.js';
import { buildBundle, freePort, isolatedEnv, runCollector } from './run-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'restore-refused-'));
beforeAll(() => buildBundle());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('restore against a port where nothing listens: exit 75, one line naming the address and the settings', async () => {
  const port = await freePort();
  const args = [
    'restore',
    '--volume',
    '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c',
    '-o',
    join(dir, 'out'),
    '--url',
    `http://127.0.0.1:${port}`,
    '--token',
    't',
    '--retries',
    '0',
  ];
  const r = await runCollector(args, isolatedEnv(join(dir, 'absent.json')));
  expect(r.code, r.stderr).toBe(75);
  expect(r.stderr.trim().split('\n')).toEqual([
    `collector restore: catalog unreachable: nothing listens on 127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}): the catalog is not running there, or that is not its port — check --url, CATALOG_URL or the config file's "catalogUrl"`,
  ]);
  expect(readdirSync(dir)).toEqual([]);
  const json = await runCollector([...args, '--json'], isolatedEnv(join(dir, 'absent.json')));
  expect(JSON.parse(json.stdout).error).toEqual({ code: 'unreachable', message: r.stderr.trim().replace(/^collector restore: /, '') });
});

it('an upload URL (not the catalog own) that is refused is named without the catalog settings', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });
  expect(describeError(refused, 'http://127.0.0.1:9000/bucket/chunk?X-Amz-Signature=x')).toBe(
    'nothing listens on 127.0.0.1:9000 (connect ECONNREFUSED 127.0.0.1:9000)',
  );
});
