// What the kill -9 child writes and the parent checks: batch n is a deterministic function of n.
import type { Item, OpenStoreOptions } from '../../src/store/store.js';
import { prng, randomVector } from './reference.js';

export const CRASH_BATCH = 40;
export const CRASH_OPTIONS: OpenStoreOptions & { indexSaveEvery: number } = {
  collection: 'crash',
  dim: 24,
  encoderId: 'crash-test',
  // Search through the graph (never the small-collection exact scan), and save it often, so a kill can land
  // mid-save and the reopened index has to catch up.
  exactScanMax: 0,
  indexSaveEvery: 120,
};

export function crashBatch(batch: number): Item[] {
  const random = prng(1000 + batch);
  return Array.from({ length: CRASH_BATCH }, (_, j) => ({
    id: `b${batch}-${j}`,
    vector: randomVector(random, CRASH_OPTIONS.dim),
    modality: 'text' as const,
    tags: [`batch-${batch}`],
  }));
}
