import { rmSync } from 'node:fs';
import { after, before } from 'node:test';
import type { Encoder } from '../../src/encoders/encoder.js';
import { loadEncoder } from '../../src/encoders/load.js';
import { tempDir } from './paths.js';

/**
 * A describe block's model and scratch folder: call it in the block; `spec` is loaded before the block's tests
 * and disposed after them, and `dir` is removed then.
 */
export function encoderSuite(spec: string): { readonly encoder: Encoder; readonly dir: string } {
  const dir = tempDir();
  let encoder: Encoder | undefined;
  before(async () => {
    encoder = await loadEncoder(spec);
  });
  after(async () => {
    await encoder?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    get encoder() {
      if (!encoder) throw new Error(`${spec} is not loaded: use the encoder inside a test`);
      return encoder;
    },
  };
}
