import { constants } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { xmodalError } from '../errors.js';
import { insideRoots } from '../tasks/expand-paths.js';

/** An item's file, opened once: what is streamed is the file that was checked. */
export interface OpenedItemFile {
  handle: FileHandle;
  /** The real path it was opened by. */
  real: string;
  size: number;
  mtimeMs: number;
  dev: number;
  ino: number;
}

/**
 * Opens an indexed file to serve it, checked now, not only when it was indexed: its real path must lie inside
 * `roots`, unless the stored path is itself still real (no link anywhere on it: a file the owner indexed outside
 * the server). A file later swapped for a link to somewhere else is refused; the last step is opened without
 * following links and, where the system names open files (Linux), the opened file's own path is checked again.
 */
export async function openItemFile(
  uri: string,
  roots: readonly string[],
  id: string,
): Promise<OpenedItemFile> {
  const gone = () => xmodalError('FILE_NOT_FOUND', `the file of item "${id}" is gone`);
  const allowed = async (real: string) => real === resolve(uri) || (await insideRoots(real, roots));
  const real = await realpath(uri).catch(() => undefined);
  if (real === undefined) throw gone();
  if (!(await allowed(real)))
    throw xmodalError(
      'FILE_NOT_FOUND',
      `the file of item "${id}" now leads outside the folders this server serves`,
    );
  // O_NONBLOCK: a FIFO swapped in opens at once (and is refused below) instead of holding a thread.
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    () => {
      throw gone();
    },
  );
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw gone();
    const opened = await realpath(`/proc/self/fd/${handle.fd}`).catch(() => real);
    if (opened !== real && !(await allowed(opened)))
      throw xmodalError(
        'FILE_NOT_FOUND',
        `the file of item "${id}" now leads outside the folders this server serves`,
      );
    return { handle, real, size: info.size, mtimeMs: info.mtimeMs, dev: info.dev, ino: info.ino };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
