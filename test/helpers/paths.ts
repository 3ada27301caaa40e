import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const TINY_CLIP = join(FIXTURES, 'models', 'tiny-clip');
export const TINY_CLAP = join(FIXTURES, 'models', 'tiny-clap');
export const TINY_SIGLIP = join(FIXTURES, 'models', 'tiny-siglip');
export const TINY_JINA_CLIP = join(FIXTURES, 'models', 'tiny-jina-clip');
export const IMAGES = join(FIXTURES, 'images');
export const AUDIO = join(FIXTURES, 'audio');

export function tempDir(prefix = 'xmodal-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
/** tiny-clip + tiny-clap as one text/image/audio encoder (random weights: mechanics, not meaning). */
export const TINY_BUNDLE = join(FIXTURES, 'models', 'tiny-bundle');
