/**
 * The deployable artifact, not just the source: `node infra/build.mjs --lambda` builds
 * dist/lambda.mjs, and its `handler` answers API Gateway v2 events in a plain Node
 * process configured only by environment, as Lambda runs it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { ROOT, serverEnv } from '../helpers/spawn-server.js';

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'vrc-lambda-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('dist/lambda.mjs serves health, an authorised route and the error shape', { timeout: 180_000 }, async () => {
  const script = join(work, 'invoke.mjs');
  writeFileSync(
    script,
    `
    import { handler } from ${JSON.stringify(join(ROOT, 'dist/lambda.mjs'))};
    const event = (method, path, headers = {}) => ({
      version: '2.0', routeKey: '$default', rawPath: path, rawQueryString: '', headers: { host: 'x.execute-api.local', ...headers },
      requestContext: { http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 't' }, requestId: 'r', routeKey: '$default', stage: '$default', timeEpoch: Date.now() },
      isBase64Encoded: false,
    });
    const out = [];
    out.push(await handler(event('GET', '/healthz'), {}));
    out.push(await handler(event('GET', '/v1/tokens', { authorization: 'Bearer ' + process.env.CATALOG_BOOTSTRAP_TOKEN }), {}));
    out.push(await handler(event('GET', '/v1/tokens', { authorization: 'Bearer wrong-token-wrong-token-wrong' }), {}));
    process.stdout.write(JSON.stringify(out));
    process.exit(0);
  `,
  );
  const token = 'lambda-bootstrap-token-0123456789abcdef';
  const { stdout } = await run(process.execPath, [script], {
    cwd: ROOT,
    env: serverEnv({ DATA_DIR: join(work, 'data'), CATALOG_BOOTSTRAP_TOKEN: token, LOG_LEVEL: 'silent' }),
  });
  const [health, tokens, denied] = JSON.parse(stdout) as Array<{ statusCode: number; body: string }>;
  expect(health.statusCode).toBe(200);
  expect(JSON.parse(health.body)).toEqual({ status: 'ok' });
  expect(tokens.statusCode).toBe(200);
  expect(JSON.parse(tokens.body)).toHaveProperty('tokens');
  expect(denied.statusCode).toBe(401);
  expect(JSON.parse(denied.body).error.code).toBe('unauthorized');
});
