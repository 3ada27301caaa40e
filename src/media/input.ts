import { readFile, stat } from 'node:fs/promises';
import { xmodalError } from '../errors.js';

/** A media input: a file path or the file's bytes. */
export type MediaSource = string | Uint8Array;

export const DEFAULT_MAX_INPUT_BYTES = 100 * 1024 * 1024;

/** Reads a path (or passes bytes through), refusing missing, empty and oversized inputs with clear errors. */
export async function readMediaBytes(
  source: MediaSource,
  kind: string,
  maxBytes = DEFAULT_MAX_INPUT_BYTES,
): Promise<Uint8Array> {
  if (typeof source !== 'string') {
    if (source.byteLength === 0) throw xmodalError('BAD_INPUT', `empty ${kind} input`);
    if (source.byteLength > maxBytes)
      throw xmodalError(
        'INPUT_TOO_LARGE',
        `${kind} input is ${source.byteLength} bytes, over the ${maxBytes}-byte limit`,
      );
    return source;
  }
  let size: number;
  try {
    const info = await stat(source);
    if (!info.isFile()) throw xmodalError('BAD_INPUT', `${source} is not a file`);
    size = info.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw xmodalError('FILE_NOT_FOUND', `no such file: ${source}`);
    throw error;
  }
  if (size === 0) throw xmodalError('BAD_INPUT', `${source} is empty`);
  if (size > maxBytes)
    throw xmodalError('INPUT_TOO_LARGE', `${source} is ${size} bytes, over the ${maxBytes}-byte limit`);
  return readFile(source);
}

export function describeSource(source: MediaSource): string {
  return typeof source === 'string' ? source : `<${source.byteLength} bytes>`;
}
