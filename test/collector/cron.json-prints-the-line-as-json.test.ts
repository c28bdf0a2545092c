/**
 * `collector cron --json` prints {"line": …}, the crontab line alone, as every other
 * command's --json prints JSON; it was accepted and ignored (the text recipe came out).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildBundle, isolatedEnv, runCollector, runJson } from './run-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'cron-json-'));
const env = () => isolatedEnv(join(dir, 'absent.json'));
beforeAll(() => buildBundle());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('prints {"line": …} with the same line the text recipe holds, and nothing else', async () => {
  const args = ['cron', '--schedule', '5 3 * * *', '--args=--ssh root@esx01'];
  const r = await runJson([...args, '--json'], env());
  expect(r.code, r.stderr).toBe(0);
  expect(Object.keys(r.json)).toEqual(['line']);
  expect(r.json.line).toMatch(/^5 3 \* \* \* .*collector\.cjs collect --quiet --ssh root@esx01 >> \/var\/log\/vmfs-collector\.log 2>&1$/);
  const text = await runCollector(args, env());
  expect(text.stdout.split('\n')).toContain(r.json.line);
});

it('still refuses a token in the line, as a usage error: no line, the error as JSON', async () => {
  const r = await runCollector(['cron', '--json', '--args=--token abc'], env());
  expect(r.code).toBe(64);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'usage', message: expect.stringMatching(/^--args must not carry --token/) } });
});

it('documents --json in cron --help', async () => {
  expect((await runCollector(['cron', '--help'], env())).stdout).toMatch(/--json +only \{"line": "<the crontab line>"\} on stdout/);
});
