/**
 * Prints /openapi.json as the app serves it (`npm run openapi`), for the OpenAPI lint in
 * .ci/run and for generating the typed client (test/helpers/catalog-api.d.ts).
 * Builds the app on a throw-away embedded catalog.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from './app.js';
import { openServices } from './boot.js';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';

const dataDir = mkdtempSync(join(tmpdir(), 'vmfs-catalog-openapi-'));
try {
  const opened = await openServices(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'error' }), { logger: createLogger('error') });
  const res = await createApp(opened.services).request('/openapi.json');
  process.stdout.write(`${JSON.stringify(await res.json(), null, 2)}\n`);
  await opened.close();
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
