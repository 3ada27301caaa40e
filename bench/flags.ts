// Command-line flags every bench reads the same way.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SHIPPED_MODELS_DIR } from '../src/encoders/load.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const quick = process.argv.includes('--quick');

/** The value after `name` on the command line, if given. */
export function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** `--model`, else the shipped xmodal-mini, else the tiny fixture bundle (a checkout without the shipped model). */
export function benchModel(): string {
  return (
    flag('--model') ??
    (existsSync(join(SHIPPED_MODELS_DIR, 'xmodal-mini'))
      ? 'xmodal-mini'
      : join(ROOT, 'test/fixtures/models/tiny-bundle'))
  );
}
