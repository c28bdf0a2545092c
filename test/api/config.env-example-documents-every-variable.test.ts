/** .env.example documents every variable the configuration schema reads, and nothing else. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { configSchema } from '../../api/config.js';

it('.env.example names every configuration variable once', () => {
  const text = readFileSync(join(import.meta.dirname, '..', '..', '.env.example'), 'utf8');
  const documented = [...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
  expect([...documented].sort()).toEqual(Object.keys(configSchema.shape).sort());
});
