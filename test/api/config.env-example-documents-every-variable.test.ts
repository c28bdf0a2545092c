/**
 * .env.example documents every variable the configuration schema reads, and nothing else, and
 * the value it shows for each is the schema's default (empty where there is none).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { configSchema, loadConfig } from '../../api/config.js';

it('.env.example names every configuration variable once', () => {
  const text = readFileSync(join(import.meta.dirname, '..', '..', '.env.example'), 'utf8');
  const documented = [...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
  expect([...documented].sort()).toEqual(Object.keys(configSchema.shape).sort());
});

it('the value .env.example shows for each variable is the default the catalog applies', () => {
  const text = readFileSync(join(import.meta.dirname, '..', '..', '.env.example'), 'utf8');
  const defaults = loadConfig({}) as Record<string, unknown>;
  const shown = Object.fromEntries([...text.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1], m[2]]));
  const applied = Object.fromEntries(Object.keys(shown).map((k) => [k, defaults[k] === undefined ? '' : String(defaults[k])]));
  expect(shown).toEqual(applied);
});
