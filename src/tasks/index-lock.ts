import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { homeDir, storeLocation, type Workspace } from './workspace.js';

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
