import { withCollectionLock } from '../../src/tasks/collection-lock.js';
import type { Workspace } from '../../src/tasks/workspace.js';

export interface HeldLock {
  /** Lets go of the lock (again: no-op); resolves once it is free. */
  release(): Promise<void>;
}

/**
 * Holds a collection's lock as another indexing run would, until `release()`; resolves once it is held.
 * `beforeRelease` runs while it is still held, after `release()` is called.
 */
export async function holdCollectionLock(
  workspace: Workspace,
  collection: string,
  beforeRelease?: () => Promise<void>,
): Promise<HeldLock> {
  let letGo!: () => void;
  const released = new Promise<void>((resolve) => {
    letGo = resolve;
  });
  let held!: () => void;
  const isHeld = new Promise<void>((resolve) => {
    held = resolve;
  });
  const holder = withCollectionLock(workspace, collection, async () => {
    held();
    await released;
    await beforeRelease?.();
  });
  await Promise.race([isHeld, holder]);
  return {
    release() {
      letGo();
      return holder;
    },
  };
}
