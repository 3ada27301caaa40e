import { createRequire } from 'node:module';

/** The package's version, read from its package.json (one folder up from both src/ and dist/). */
export const PACKAGE_VERSION: string = (
  createRequire(import.meta.url)('../package.json') as { version: string }
).version;
