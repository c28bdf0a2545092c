/**
 * PUBLIC_URL is the base of every upload and download URL the embedded store signs
 * (`PUBLIC_URL/v1/blobs/…?exp=…&sig=…`) and of the console URL the start prints. `ftp://x/`
 * or `http://x/?a=1` passed the start and gave `ftp://x/v1/blobs/…` or
 * `http://x/?a=1/v1/blobs/…`, which no collector could use; they are setting errors now. So
 * is a user:password@ in it, which the start printed on stdout ("Web console: https://user:pw@…")
 * and every signed URL carried; the error names PUBLIC_URL without echoing the password. The
 * scheme is read in any case (`HTTPS://…` was refused) and kept lower-case.
 */
import { expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../api/config.js';

it.each(['ftp://catalog.example/', 'file:///srv/catalog', 'http://catalog.example/?a=1', 'https://catalog.example/#top', 'catalog.example:8787'])(
  'PUBLIC_URL=%s is a setting error',
  (url) => {
    expect(() => loadConfig({ PUBLIC_URL: url })).toThrow(ConfigError);
    try {
      loadConfig({ PUBLIC_URL: url });
    } catch (e) {
      expect((e as ConfigError).problems).toHaveLength(1);
      expect((e as ConfigError).problems[0]).toMatch(/^PUBLIC_URL: /);
    }
  },
);

it.each([
  'https://admin:s3cret-pw@catalog.example/',
  'http://admin:s3cret-pw@127.0.0.1:8787',
  'HTTPS://admin:s3cret-pw@catalog.example/',
  'https://admin@catalog.example/',
])('PUBLIC_URL=%s is a setting error that does not echo the password', (url) => {
  const start = () => loadConfig({ PUBLIC_URL: url });
  expect(start).toThrow(ConfigError);
  // One problem, on one line, naming PUBLIC_URL.
  expect(start).toThrow(/^invalid configuration: PUBLIC_URL: must not hold a user name or password[^\n]*$/);
  expect(start).not.toThrow(/s3cret-pw|admin/);
});

it.each([
  ['HTTPS://catalog.example/', 'https://catalog.example/'],
  ['Http://Catalog.example:8787/vmfs', 'http://Catalog.example:8787/vmfs'],
])('PUBLIC_URL=%s is taken, its scheme lower-case', (url, taken) => {
  expect(loadConfig({ PUBLIC_URL: url }).PUBLIC_URL).toBe(taken);
});

it.each(['http://127.0.0.1:8787', 'https://catalog.example/', 'https://proxy.example/vmfs-catalog', 'http://[fd00::2]:8787/'])(
  'PUBLIC_URL=%s is taken',
  (url) => {
    expect(loadConfig({ PUBLIC_URL: url }).PUBLIC_URL).toBe(url);
  },
);
