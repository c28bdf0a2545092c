/**
 * `collector cron --json` prints {"line": …}, the crontab line alone, as every other
 * command's --json prints JSON; it was accepted and ignored (the text recipe came out).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
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

it('without --schedule, runs daily at the minute past 02:00 the host name gives, as README and --help say', async () => {
  const r = await runJson(['cron', '--json'], env());
  const minute = createHash('sha256').update(hostname()).digest()[0] % 60;
  expect(r.json.line).toMatch(new RegExp(`^${minute} 2 \\* \\* \\* .*collect --quiet >> /var/log/vmfs-collector\\.log 2>&1$`));
  expect((await runCollector(['cron', '--help'], env())).stdout).toContain('(default: a host-specific minute past 02:00)');
});
