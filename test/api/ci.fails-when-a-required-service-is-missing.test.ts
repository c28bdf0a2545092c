/**
 * Tests that CI must run are not dropped silently: under CI (CI=true, as .ci/run exports)
 * a missing TEST_DATABASE_URL or S3_ENDPOINT (or browser) fails the run; elsewhere the
 * reason is printed and only the runnable flavours and stores are tested.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { availableFlavours, reportMissingService, underCi } from '../helpers/catalog.js';
import { storeKinds } from '../store/blob-server.js';

const S3 = { S3_ENDPOINT: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' };

describe('missing test services', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('under CI, a missing TEST_DATABASE_URL or S3_ENDPOINT fails the catalog tests', () => {
    expect(() => availableFlavours({ CI: 'true', ...S3 })).toThrow(/TEST_DATABASE_URL/);
    expect(() => availableFlavours({ CI: 'true', TEST_DATABASE_URL: 'postgres://127.0.0.1/x' })).toThrow(/S3_ENDPOINT/);
    expect(availableFlavours({ CI: 'true', TEST_DATABASE_URL: 'postgres://127.0.0.1/x', ...S3 })).toEqual(['embedded', 'postgres-s3']);
  });

  it('under CI, a missing S3_ENDPOINT fails the store tests', () => {
    expect(() => storeKinds({ CI: 'true' })).toThrow(/S3_ENDPOINT/);
    expect(storeKinds({ CI: 'true', ...S3 })).toEqual(['fs', 's3']);
  });

  it('under CI, a missing browser fails the docs page test', () => {
    expect(() => reportMissingService('[docs page test] not run', '/usr/bin/chromium is not installed', { CI: 'true' })).toThrow(/chromium/);
  });

  it('outside CI the flavour or store is left out with the reason printed', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(availableFlavours({})).toEqual(['embedded']);
    expect(storeKinds({ CI: 'false' })).toEqual(['fs']);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(String(warn.mock.calls[0][0])).toMatch(/TEST_DATABASE_URL/);
    expect(String(warn.mock.calls[1][0])).toMatch(/S3_ENDPOINT/);
  });

  it('reads CI as .ci/run and common CI services set it', () => {
    expect(underCi({ CI: 'true' })).toBe(true);
    expect(underCi({ CI: '1' })).toBe(true);
    expect(underCi({ CI: 'false' })).toBe(false);
    expect(underCi({})).toBe(false);
  });
});
