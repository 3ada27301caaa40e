import cliProgress from 'cli-progress';
import { DTYPES, type Dtype, type Encoder } from '../encoders/encoder.js';
import { loadEncoder } from '../encoders/load.js';
import { xmodalError } from '../errors.js';
import { isInteractive } from './io.js';

/** Options every model-using command accepts. */
export interface ModelFlags {
  model?: string;
  dtype?: string;
  offline?: boolean;
  cacheDir?: string;
}

export function parseDtype(value: string | undefined): Dtype | undefined {
  if (value === undefined) return undefined;
  if (!(DTYPES as readonly string[]).includes(value))
    throw xmodalError('BAD_ARGUMENT', `unknown --dtype ${value}; use one of ${DTYPES.join(', ')}`);
  return value as Dtype;
}

/** Loads the model the flags name, with a download progress bar on a terminal. */
export async function openEncoder(flags: ModelFlags): Promise<Encoder> {
  const bars = new Map<string, cliProgress.SingleBar>();
  const multibar = isInteractive()
    ? new cliProgress.MultiBar(
        {
          stream: process.stderr,
          format: ' {bar} {percentage}% | {file}',
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  try {
    return await loadEncoder(flags.model, {
      dtype: parseDtype(flags.dtype),
      offline: flags.offline,
      cacheDir: flags.cacheDir,
      onProgress: multibar
        ? ({ file, loaded, total }) => {
            let bar = bars.get(file);
            if (!bar) {
              bar = multibar.create(total || 1, 0, { file });
              bars.set(file, bar);
            }
            bar.update(loaded, { file });
          }
        : undefined,
    });
  } finally {
    multibar?.stop();
  }
}

/** Kept for commands written before `io.ts`: JSON goes through the injected output like everything else. */
export { printJson } from './io.js';

/** A flag's value as a whole number in [min, max], or BAD_ARGUMENT. */
export function whole(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw xmodalError('BAD_ARGUMENT', `${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}
