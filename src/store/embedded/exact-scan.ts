// Exact top-k by inner product over vectors streamed from SQLite: the answer for selective filters.
import { dot } from '../../vectors.js';
import type { RidVector } from './items-db.js';

export interface ScoredKey {
  rid: number;
  score: number;
}

/** Best `k` by score, highest first; keeps a min-heap of size k so memory stays O(k) while streaming. */
export function exactTopK(query: Float32Array, rows: Iterable<RidVector>, k: number): ScoredKey[] {
  const heap: ScoredKey[] = [];
  for (const { rid, vector } of rows) {
    const score = dot(query, vector);
    if (heap.length < k) {
      heap.push({ rid, score });
      siftUp(heap, heap.length - 1);
    } else if (score > heap[0].score) {
      heap[0] = { rid, score };
      siftDown(heap, 0);
    }
  }
  return heap.sort((a, b) => b.score - a.score);
}

function siftUp(heap: ScoredKey[], i: number): void {
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent].score <= heap[i].score) return;
    [heap[parent], heap[i]] = [heap[i], heap[parent]];
    i = parent;
  }
}

function siftDown(heap: ScoredKey[], i: number): void {
  for (;;) {
    const left = 2 * i + 1;
    const right = left + 1;
    let smallest = i;
    if (left < heap.length && heap[left].score < heap[smallest].score) smallest = left;
    if (right < heap.length && heap[right].score < heap[smallest].score) smallest = right;
    if (smallest === i) return;
    [heap[smallest], heap[i]] = [heap[i], heap[smallest]];
    i = smallest;
  }
}
