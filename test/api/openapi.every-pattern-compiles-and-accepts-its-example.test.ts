/**
 * Every `pattern` /openapi.json publishes is a JSON-schema pattern a validator can use: it
 * compiles as an ECMA-262 regular expression without flags (a zod regex's `/i` once leaked
 * into the string, `…$/i`, and no UUID matched it), and it accepts a valid value — the
 * schema's own example, or a known one for the identifiers the API takes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

/** Valid values for the identifier patterns, known by a piece of their text. */
const KNOWN: Array<{ shape: RegExp; values: string[] }> = [
  { shape: /\{12\}/, values: ['0f8fad5b-d9cb-469f-a165-70867728950e', '0F8FAD5B-D9CB-469F-A165-70867728950E'] },
  { shape: /\{64\}/, values: ['e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'] },
  { shape: /\{22\}==/, values: ['1B2M2Y8AsgTpgAmY7PhCfg=='] },
];

/** Every node of `doc` holding a `pattern`, with its path. */
function patterns(doc: unknown, path = '$', out: Array<{ path: string; node: Record<string, unknown> }> = []) {
  if (Array.isArray(doc)) doc.forEach((d, i) => patterns(d, `${path}[${i}]`, out));
  else if (doc && typeof doc === 'object') {
    const node = doc as Record<string, unknown>;
    if (typeof node.pattern === 'string') out.push({ path, node });
    for (const [k, v] of Object.entries(node)) patterns(v, `${path}.${k}`, out);
  }
  return out;
}

describe('/openapi.json patterns', () => {
  let catalog: TestCatalog;
  let found: Array<{ path: string; node: Record<string, unknown> }>;
  beforeAll(async () => {
    catalog = await startTestCatalog('embedded');
    found = patterns(await (await catalog.request('/openapi.json', { token: null })).json());
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('every pattern compiles without flags and carries none', () => {
    expect(found.length).toBeGreaterThan(0);
    for (const { path, node } of found) {
      const p = node.pattern as string;
      expect(() => new RegExp(p, 'u'), path).not.toThrow();
      expect(p, path).not.toMatch(/\/[dgimsuy]*$/);
    }
  });

  it('every pattern accepts its example, and the identifier patterns accept a valid value', () => {
    let known = 0;
    for (const { path, node } of found) {
      const re = new RegExp(node.pattern as string, 'u');
      if (typeof node.example === 'string') expect(re.test(node.example), `${path}: ${node.example}`).toBe(true);
      for (const { shape, values } of KNOWN) {
        if (!shape.test(node.pattern as string)) continue;
        known++;
        for (const v of values) expect(re.test(v), `${path}: ${v}`).toBe(true);
      }
    }
    expect(known).toBeGreaterThan(0);
  });

  it("a capture's id and previous take a UUID in either case", () => {
    const uuids = found.filter(({ path }) => /captureId|previous/.test(path));
    expect(uuids.length).toBeGreaterThan(0);
    for (const { path, node } of uuids) for (const v of KNOWN[0].values) expect(new RegExp(node.pattern as string, 'u').test(v), `${path}: ${v}`).toBe(true);
  });
});
