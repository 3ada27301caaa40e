import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './paths.js';

/** The shipped default model (XMODAL_TEST_MINI tries a candidate); tests that need meaning skip until it is there. */
export const MINI = process.env.XMODAL_TEST_MINI ?? join(ROOT, 'models', 'xmodal-mini');

export const MINI_MISSING: string | false = existsSync(join(MINI, 'xmodal.json'))
  ? false
  : 'models/xmodal-mini is not there yet: meaning needs the trained default model';
