/** Every route module, in the order they are registered. Add yours here. */
import type { App } from '../context.js';
import { registerHealthRoutes } from './health.js';
import { registerTokenRoutes } from './tokens.js';
import { registerCaptureRoutes } from './captures.js';
import { registerAdminRoutes } from './admin.js';
import { registerSearchRoutes } from './search.js';
import { registerVolumeRoutes } from './volumes.js';
import { registerLunRoutes } from './luns.js';
import { registerHostRoutes } from './hosts.js';
import { registerEventRoutes } from './events.js';
import { registerArtifactRoutes } from './artifacts.js';
import { registerBundleRoutes } from './bundle.js';
import { registerDrPlanRoutes } from './dr-plan.js';
import { registerRetentionRoutes } from './retention.js';

export const routeModules: Array<(app: App) => void> = [
  registerHealthRoutes,
  registerTokenRoutes,
  registerCaptureRoutes,
  registerAdminRoutes,
  registerSearchRoutes,
  registerVolumeRoutes,
  registerLunRoutes,
  registerHostRoutes,
  registerEventRoutes,
  registerArtifactRoutes,
  registerBundleRoutes,
  registerDrPlanRoutes,
  registerRetentionRoutes,
];
