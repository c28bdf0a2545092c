/**
 * WEBHOOK_URL that is no http(s) URL stops the start with one problem naming it: `notaurl`
 * gave two ("Invalid URL" and "must be an http(s) URL"), an ftp:// URL one; each now the same one.
 */
import { expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../api/config.js';

it.each(['notaurl', 'ftp://hooks.example/catalog', 'http://', 'hooks.example/catalog'])('WEBHOOK_URL=%s is one setting error', (url) => {
  let thrown: unknown;
  try {
    loadConfig({ WEBHOOK_URL: url });
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  expect((thrown as ConfigError).problems).toEqual(['WEBHOOK_URL: must be an http(s) URL']);
});

it.each(['https://hooks.example/catalog', 'http://127.0.0.1:9000/hook', 'HTTPS://hooks.example/'])('WEBHOOK_URL=%s is taken', (url) => {
  expect(loadConfig({ WEBHOOK_URL: url }).WEBHOOK_URL).toBe(url);
});
