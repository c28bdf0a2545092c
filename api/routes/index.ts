/** Every route module, in the order they are registered. Add yours here. */
import type { App } from '../context.js';
import { registerHealthRoutes } from './health.js';
import { registerTokenRoutes } from './tokens.js';
import { registerCaptureRoutes } from './captures.js';

export const routeModules: Array<(app: App) => void> = [
  registerHealthRoutes,
  registerTokenRoutes,
  registerCaptureRoutes,
];
