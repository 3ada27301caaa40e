import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { xmodalError } from '../errors.js';
import { uploadsRoot, type Workspace } from './workspace.js';

/** A file a client sent as bytes (an HTTP upload, or bytes and streams given to the library). */
export interface UploadedFile {
  filename: string;
  bytes: Uint8Array;
}

/** A file name safe to keep: no folders, no dot files, only plain characters. */
function safeFileName(name: string, index: number): string {
  const plain = basename(name.replaceAll('\\', '/'))
    .replace(/[^\w.-]+/g, '_')
    .replace(/^\.+/, '');
  return plain.slice(-120) || `upload-${index}`;
}

/**
 * Keeps an uploaded file in `folder` under its own name, or `name-1.ext`, `name-2.ext`... when another file
 * holds that name: an upload never replaces another. The same bytes under the same name are the same upload,
 * kept once, so sending a file again leaves it unchanged instead of duplicating it.
 */
export async function keepUpload(folder: string, file: UploadedFile, index: number): Promise<string> {
  const name = safeFileName(file.filename, index);
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length);
  // Written whole under a name of its own first, then linked under its name: a file that holds the name is
  // always complete, so a request comparing bytes with it never sees it half-written and keeps a copy.
  const staged = join(folder, `.upload-${randomUUID()}`);
  await writeFile(staged, file.bytes, { flag: 'wx' });
  try {
    for (let n = 0; n < 10_000; n++) {
      const path = join(folder, n === 0 ? name : `${stem}-${n}${ext}`);
      try {
        // A link creates or fails: two requests racing for one name cannot both get it.
        await link(staged, path);
        return path;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      if (await sameBytes(path, file.bytes)) return path;
    }
    throw xmodalError('CONFLICT', `too many uploads named ${name}`);
  } finally {
    await rm(staged, { force: true });
  }
}

async function sameBytes(path: string, bytes: Uint8Array): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() === true && info.size === bytes.length && (await readFile(path)).equals(bytes);
}

/**
 * Keeps uploaded files in the collection's uploads folder (`<home>/uploads/<collection>/`, see `keepUpload`), the
 * one layout for the server and the library. Resolves to the kept paths, each once, and how to show each path to
 * the client (the name it sent). Call it holding the collection's lock, so a drop cannot delete them unindexed.
 */
export async function keepUploads(
  workspace: Workspace,
  collection: string,
  files: readonly UploadedFile[],
): Promise<{ paths: string[]; shown: Map<string, string> }> {
  const folder = join(uploadsRoot(workspace), collection);
  await mkdir(folder, { recursive: true });
  const paths: string[] = [];
  const shown = new Map<string, string>();
  for (const [i, file] of files.entries()) {
    const path = await keepUpload(folder, file, i);
    if (!shown.has(path)) paths.push(path);
    shown.set(path, file.filename);
  }
  return { paths, shown };
}
