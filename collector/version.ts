/** The collector's version: package.json's, put into the bundle by infra/build.mjs (`0.0.0-dev` from source). */
declare const __COLLECTOR_VERSION__: string;

export const VERSION = typeof __COLLECTOR_VERSION__ === 'string' ? __COLLECTOR_VERSION__ : '0.0.0-dev';
