import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dropCollection as dropStored, listCollections } from '../store/open.js';
import { type IngestOptions, type IngestReport, ingest } from './ingest.js';
import {
  homeDir,
  type OpenCollection,
  spaceCollections,
  storeLocation,
  uploadsRoot,
  type Workspace,
} from './workspace.js';

const POLL_MS = 250;

export interface CollectionLockOptions {
  /** Told once, with the holder's process id, when the collection is busy and this run waits. */
  onWait?: (holder: number) => void;
  signal?: AbortSignal;
}

/** Whether a process id is alive (EPERM: alive, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `work` while holding the collection's lock: one writer per collection at a time (an indexing run or a
 * drop), across processes (two `xmodal index`, the CLI and a server) and within one (two server requests). A
 * writer that finds the lock held waits for it, saying so once; a lock left by a killed process is taken over.
 */
export async function withCollectionLock<T>(
  workspace: Workspace,
  collection: string,
  work: () => Promise<T>,
  options: CollectionLockOptions = {},
): Promise<T> {
  const folder = join(homeDir(workspace), 'locks');
  await mkdir(folder, { recursive: true });
  const key = createHash('sha256')
    .update(`${storeLocation(workspace)}\0${collection}`)
    .digest('hex')
    .slice(0, 16);
  // Named `index-…` since only indexing runs took it: kept, so that a process of an earlier version still excludes.
  const path = join(folder, `index-${key}.lock`);
  const token = `${process.pid} ${Math.random().toString(36).slice(2)}`;
  let told = false;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(token);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const held = await readFile(path, 'utf8').catch(() => '');
    const holder = Number(held.split(' ')[0]);
    if (held && !alive(holder)) {
      // Left by a process that died mid-run: nothing holds it any more.
      if ((await readFile(path, 'utf8').catch(() => '')) === held) await rm(path, { force: true });
      continue;
    }
    if (!told && held) {
      options.onWait?.(holder);
      told = true;
    }
    await sleep(POLL_MS);
  }
  try {
    return await work();
  } finally {
    if ((await readFile(path, 'utf8').catch(() => '')) === token) await rm(path, { force: true });
  }
}

/** What an indexing run writes, made once the collection's lock is held. */
export interface IndexRun {
  collection: OpenCollection;
  /** Files, folders and globs; uploads are written to disk in `prepare`, so a drop that went first cannot take them. */
  paths: string[];
  /** Called once the run is over, however it ends (the server's pool may close the collection again). */
  finished?: () => void;
}

/**
 * Indexes into a collection while holding its lock: how the CLI (through the library), the server and the library
 * index, so no two runs write one collection at once and no drop pulls it away mid-run. `prepare` opens the
 * collection and writes any uploaded files once the lock is held, so a drop that went first is seen (the server
 * then makes the collection again) and never deletes an upload before its run. Queue workers index without it:
 * many workers writing one shared collection is what they are for.
 */
export function ingestUnderLock(
  workspace: Workspace,
  name: string,
  prepare: () => Promise<IndexRun>,
  options: Omit<IngestOptions, 'paths'> & Pick<CollectionLockOptions, 'onWait'>,
): Promise<IngestReport> {
  const { onWait, ...ingestOptions } = options;
  return withCollectionLock(
    workspace,
    name,
    async () => {
      const { collection, paths, finished } = await prepare();
      try {
        return await ingest(collection, { ...ingestOptions, paths });
      } finally {
        finished?.();
      }
    },
    { onWait, signal: options.signal },
  );
}

export interface DropOptions extends CollectionLockOptions {
  /** Runs once the lock is held, before anything is deleted: the server closes its open copy here. */
  beforeDrop?: () => Promise<void>;
}

/**
 * Deletes a collection, every sub-collection of its spaces and the files uploaded to it; false when there was
 * none. It waits for an indexing run on the collection to finish first, so that run neither fails half-way nor
 * leaves a half-made collection behind. The one drop the library, the CLI, the server and the demo share.
 */
export function dropCollection(
  workspace: Workspace,
  name: string,
  options: DropOptions = {},
): Promise<boolean> {
  const { beforeDrop, ...lockOptions } = options;
  return withCollectionLock(
    workspace,
    name,
    async () => {
      await beforeDrop?.();
      const location = storeLocation(workspace);
      const all = await listCollections(location);
      const info = all.find((c) => c.name === name);
      // Spaces first: if one fails, the collection that leads to them is still there to drop again.
      for (const space of info ? spaceCollections(info, all) : []) await dropStored(location, space);
      const dropped = await dropStored(location, name);
      await rm(join(uploadsRoot(workspace), name), { recursive: true, force: true });
      return dropped;
    },
    lockOptions,
  );
}
