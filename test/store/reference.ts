// Test data and the obviously-correct answers a store must reproduce: seeded vectors, filters in JS, brute force.
import type { Filter, Item, ItemRecord } from '../../src/store/store.js';
import { mulberry32 } from '../../src/tasks/random.js';

/** Mulberry32 (the one the trainer and the audit use): small, fast, seeded. */
export const prng = mulberry32;

export function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
}

export function randomVector(random: () => number, dim: number): Float32Array {
  return Float32Array.from({ length: dim }, () => gaussian(random));
}

/** The L2-normalised f32 copy a cosine collection keeps. */
export function normalised(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const x of vector) norm += x * x;
  const scale = 1 / Math.sqrt(norm);
  return vector.map((x) => x * scale);
}

export function dotProduct(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

export function matchesFilter(item: ItemRecord, filter: Filter | undefined): boolean {
  if (!filter) return true;
  const modalities = filter.modality === undefined ? [] : [filter.modality].flat();
  if (modalities.length > 0 && !modalities.includes(item.modality)) return false;
  const tags = item.tags ?? [];
  if (filter.tagsAny?.length && !filter.tagsAny.some((t) => tags.includes(t))) return false;
  if (filter.tagsAll?.length && !filter.tagsAll.every((t) => tags.includes(t))) return false;
  if (filter.uriPrefix && !item.uri?.startsWith(filter.uriPrefix)) return false;
  for (const [key, value] of Object.entries(filter.meta ?? {})) if (item.meta?.[key] !== value) return false;
  return true;
}

/** Exact top-k by cosine over `items`, best first. */
export function bruteForce(
  items: readonly Item[],
  query: Float32Array,
  k: number,
  filter?: Filter,
): { id: string; score: number }[] {
  const q = normalised(query);
  return items
    .filter((item) => matchesFilter(item, filter))
    .map((item) => ({ id: item.id, score: dotProduct(normalised(item.vector), q) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}
