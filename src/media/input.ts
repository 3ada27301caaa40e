import { readFile, stat } from 'node:fs/promises';
import { type XmodalError, xmodalError } from '../errors.js';

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
  const info = await stat(source).catch((error) => {
    throw fileSystemError(error, source);
  });
  // A FIFO or a device would block or never end: only regular files are read.
  if (!info.isFile()) throw xmodalError('BAD_INPUT', `${source} is not a regular file`);
  if (info.size === 0) throw xmodalError('BAD_INPUT', `${source} is empty`);
  if (info.size > maxBytes)
    throw xmodalError('INPUT_TOO_LARGE', `${source} is ${info.size} bytes, over the ${maxBytes}-byte limit`);
  return readFile(source).catch((error) => {
    throw fileSystemError(error, source);
  });
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'no such file',
  ENAMETOOLONG: 'file name too long',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'symbolic link loop',
  EISDIR: 'a folder, not a file',
};

/** A file-system error in a few words (no syscall, no errno number), for messages and ingest reports. */
export function fileSystemReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code && REASONS[code]) return REASONS[code];
  return error instanceof Error
    ? error.message.replace(/^\w+: /, '').replace(/, \w+ '.*'$/, '')
    : String(error);
}

/** A file-system error as one of the table's codes: missing or unreadable is FILE_NOT_FOUND, a non-file BAD_INPUT. */
export function fileSystemError(error: unknown, path: string): XmodalError {
  const code = (error as NodeJS.ErrnoException)?.code;
  const reason = fileSystemReason(error);
  if (code === 'EISDIR') return xmodalError('BAD_INPUT', `${path} is not a regular file (${reason})`, error);
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return xmodalError('FILE_NOT_FOUND', `no such file: ${path}`, error);
  return xmodalError('FILE_NOT_FOUND', `cannot read ${path}: ${reason}`, error);
}

export function describeSource(source: MediaSource): string {
  return typeof source === 'string' ? source : `<${source.byteLength} bytes>`;
}
