/**
 * `npm start` (api/server.ts) prints the console URL as its first line, before the
 * first-start admin token and the listening line, and that URL answers with the sign-in page.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from '../helpers/spawn-server.js';

let server: ServerProcess | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'vrc-banner-'));
afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

it('prints the console URL first, and it serves the sign-in page', async () => {
  server = await spawnServer({ DATA_DIR: dataDir });
  const lines = server.stdout().split('\n');
  const m = /^Web console: (http:\/\/127\.0\.0\.1:\d+\/) /.exec(lines[0]);
  expect(m, lines.slice(0, 3).join('\n')).not.toBeNull();
  expect(m![1]).toBe(`${server.url}/`);
  expect(lines[1]).toMatch(/^First start: created an admin token/);
  // The defaults (127.0.0.1, no S3 setting) warn of nothing.
  expect(server.stdout()).not.toContain('Warning:');
  const res = await fetch(m![1]);
  expect(res.url).toMatch(/\/sign-in\?next=%2F$/);
  expect(await res.text()).toContain('<title>Sign in · VMFS Recovery Catalog</title>');
});
