import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type IngestOptions, type IngestReport, ingest } from './ingest.js';
import { homeDir, type OpenCollection, storeLocation, type Workspace } from './workspace.js';

const POLL_MS = 250;

export interface IndexLockOptions {
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
 * Runs `work` while holding the collection's index lock: one indexing run per collection at a time, across
 * processes (two `xmodal index`, or the CLI and a server) and within one (two server requests). A run that finds
 * the lock held waits for it, saying so once; a lock left by a killed process is taken over.
 */
export async function withIndexLock<T>(
  workspace: Workspace,
  collection: string,
  work: () => Promise<T>,
  options: IndexLockOptions = {},
): Promise<T> {
  const folder = join(homeDir(workspace), 'locks');
  await mkdir(folder, { recursive: true });
  const key = createHash('sha256')
    .update(`${storeLocation(workspace)}\0${collection}`)
    .digest('hex')
    .slice(0, 16);
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

/**
 * Indexes into an open collection while holding its index lock: how the CLI (through the library), the server
 * and the library index, so no two runs write one collection at once. Queue workers index without it: many
 * workers writing one shared collection is what they are for.
 */
export function ingestUnderLock(
  workspace: Workspace,
  collection: OpenCollection,
  options: IngestOptions & Pick<IndexLockOptions, 'onWait'>,
): Promise<IngestReport> {
  const { onWait, ...ingestOptions } = options;
  return withIndexLock(workspace, collection.info.name, () => ingest(collection, ingestOptions), {
    onWait,
    signal: options.signal,
  });
}
