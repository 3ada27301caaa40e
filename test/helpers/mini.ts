import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './paths.js';

/** The shipped default model; tests that need real meaning skip (saying why) until it is in models/. */
export const MINI = join(ROOT, 'models', 'xmodal-mini');

export const MINI_MISSING: string | false = existsSync(join(MINI, 'xmodal.json'))
  ? false
  : 'models/xmodal-mini is not there yet: meaning needs the trained default model';
