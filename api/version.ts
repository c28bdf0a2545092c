/** The catalog's version: package.json's, the same number the collector bundle carries (infra/build.mjs). */
import pkg from '../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
