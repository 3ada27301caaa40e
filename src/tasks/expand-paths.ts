import { isUtf8 } from 'node:buffer';
import { constants } from 'node:fs';
import { access, lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import fg from 'fast-glob';
import { fileSystemReason } from '../media/input.js';

export interface ExpandOptions {
  /** When given, every file must lie, by its real path (links resolved), inside one of these folders. */
  roots?: readonly string[];
  /** Stops the walk (a glob over a huge tree) when the caller is gone. */
  signal?: AbortSignal;
}

export interface ExpandedPaths {
  /** Absolute paths as found (links not resolved), sorted, one per real file. */
  files: string[];
  /** Named paths that are missing, files outside the roots, unreadable folders, broken links, non-files. */
  skipped: { path: string; reason: string }[];
}

const GLOB_CHARS = /[*?[\]{}]/;

/** Whether a real path lies inside one of the real roots. */
function insideRealRoots(real: string, realRoots: readonly string[]): boolean {
  return realRoots.some((root) => {
    const rel = relative(root, real);
    return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
  });
}

/** Whether a path, links resolved, lies inside one of the roots (a path that does not exist yet: as written). */
export async function insideRoots(path: string, roots: readonly string[]): Promise<boolean> {
  const real = await realpath(path).catch(() => resolve(path));
  const realRoots = await Promise.all(roots.map((root) => realpath(root).catch(() => resolve(root))));
  return insideRealRoots(real, realRoots);
}

interface Entry {
  path: string;
  dirent: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean };
}

/**
 * Expands files, folders (walked recursively) and globs into absolute file paths. Symbolic links to files are
 * followed, links to folders never (so a link loop cannot make a walk endless or yield a file twice); each real
 * file comes out once; with `roots`, files whose real path lies outside every root are skipped and reported.
 */
export async function expandPaths(
  paths: readonly string[],
  options: ExpandOptions = {},
): Promise<ExpandedPaths> {
  const { signal } = options;
  const skipped: ExpandedPaths['skipped'] = [];
  const candidates: string[] = [];
  const skip = (path: string, reason: string) => skipped.push({ path, reason });

  const walk = async (pattern: string, cwd: string | undefined, checkFolders: boolean) => {
    const stream = fg.stream(pattern, {
      cwd,
      absolute: false,
      onlyFiles: false,
      followSymbolicLinks: false,
      dot: false,
      objectMode: true,
      // An unreadable folder is reported below and skipped; it must not end the walk.
      suppressErrors: true,
    });
    const stop = () => (stream as unknown as NodeJS.ReadableStream & { destroy(): void }).destroy();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (const value of stream) {
        signal?.throwIfAborted();
        const entry = value as unknown as Entry;
        // Made absolute here: fast-glob's own `absolute` turns a backslash in a file name into a slash.
        const path = resolve(cwd ?? '', entry.path);
        if (entry.dirent.isFile()) candidates.push(path);
        else if (entry.dirent.isSymbolicLink()) {
          const target = await stat(path).catch((error: unknown) => error as NodeJS.ErrnoException);
          if (target instanceof Error) skip(path, fileSystemReason(target));
          else if (target.isFile()) candidates.push(path);
          // A link to a folder is not walked: that is how loops (loop/a -> .) stay finite.
          else if (!target.isDirectory()) skip(path, 'not a regular file');
        } else if (entry.dirent.isDirectory()) {
          if (checkFolders) {
            const unreadable = await access(path, constants.R_OK | constants.X_OK).catch(
              (error: NodeJS.ErrnoException) => error,
            );
            if (unreadable) skip(path, `cannot read folder (${fileSystemReason(unreadable)})`);
          }
        } else skip(path, 'not a regular file');
      }
    } finally {
      signal?.removeEventListener('abort', stop);
    }
    signal?.throwIfAborted();
  };

  for (const path of paths) {
    signal?.throwIfAborted();
    const absolute = resolve(path);
    const info = await stat(absolute).catch((error: unknown) => error as NodeJS.ErrnoException);
    if (!(info instanceof Error)) {
      if (info.isFile()) candidates.push(absolute);
      else if (info.isDirectory()) {
        const unreadable = await access(absolute, constants.R_OK | constants.X_OK).catch(
          (error: NodeJS.ErrnoException) => error,
        );
        if (unreadable) skip(path, `cannot read folder (${fileSystemReason(unreadable)})`);
        else await walk('**/*', absolute, true);
      } else skip(path, 'not a regular file');
    } else if (info.code === 'ENOENT' && GLOB_CHARS.test(path))
      await walk(path, undefined, path.includes('**'));
    else skip(path, info.code === 'ENOENT' ? 'no such file or folder' : fileSystemReason(info));
  }

  const realRoots = options.roots
    ? await Promise.all(options.roots.map((root) => realpath(root).catch(() => resolve(root))))
    : undefined;
  const files: string[] = [];
  const seen = new Set<string>();
  for (const path of [...new Set(candidates)].sort()) {
    signal?.throwIfAborted();
    const real = await realpath(path).catch(() => undefined);
    if (real === undefined) {
      skip(path, 'no such file');
      continue;
    }
    if (realRoots && !insideRealRoots(real, realRoots)) {
      skip(path, 'outside the folders this server may index');
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    files.push(path);
  }
  return { files, skipped: await withNonUtf8Names(skipped) };
}

/**
 * Node reads a file name that is not valid UTF-8 with U+FFFD for each bad byte, so no string opens that file and
 * it was skipped as missing: it is reported instead by its own name, each bad byte written \xHH, and why.
 */
async function withNonUtf8Names(skipped: ExpandedPaths['skipped']): Promise<ExpandedPaths['skipped']> {
  const reported = new Map<string, string>();
  for (const entry of skipped) {
    const names = entry.path.includes('\uFFFD') ? await nonUtf8Names(entry.path) : [];
    if (names.length === 0) reported.set(entry.path, entry.reason);
    for (const { path, folder } of names)
      reported.set(
        path,
        folder ? 'folder name is not valid UTF-8: its files are not read' : 'file name is not valid UTF-8',
      );
  }
  return [...reported].map(([path, reason]) => ({ path, reason }));
}

/** The names in `path`'s folder that are not UTF-8 and decode to `path`'s name, as escaped paths. */
async function nonUtf8Names(path: string): Promise<{ path: string; folder: boolean }[]> {
  const folder = dirname(path);
  const names = await readdir(folder, { encoding: 'buffer' }).catch(() => [] as Buffer[]);
  const found: { path: string; folder: boolean }[] = [];
  for (const name of names) {
    if (isUtf8(name) || name.toString('utf8') !== basename(path)) continue;
    const info = await lstat(Buffer.concat([Buffer.from(`${folder}/`), name])).catch(() => undefined);
    found.push({ path: join(folder, escapedName(name)), folder: info?.isDirectory() ?? false });
  }
  return found;
}

/** A file name's bytes as text: its UTF-8 sequences as they read, every other byte as \xHH. */
function escapedName(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i];
    const size = lead < 0x80 ? 1 : lead < 0xc2 ? 0 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : lead < 0xf5 ? 4 : 0;
    const sequence = bytes.subarray(i, i + size);
    if (size > 0 && sequence.length === size && isUtf8(sequence)) {
      text += Buffer.from(sequence).toString('utf8');
      i += size;
    } else {
      text += `\\x${lead.toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return text;
}
