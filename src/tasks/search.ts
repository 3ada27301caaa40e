import { xmodalError } from '../errors.js';
import type { Filter, ItemRecord } from '../store/store.js';
import { l2normalize } from '../vectors.js';
import { embedInputs, type Input } from './embed.js';
import { groupMoments, type ResultHit } from './moments.js';
import type { OpenCollection } from './workspace.js';

/** One part of a query: something to embed (or an indexed item's id), weighted; a negative weight pushes away. */
export interface QueryPart {
  kind: 'text' | 'image' | 'audio' | 'like';
  value: string | Uint8Array;
  weight?: number;
}

export interface SearchQuery {
  parts: QueryPart[];
  k?: number;
  filter?: Filter;
  /** Drop hits scoring below this cosine similarity. */
  minScore?: number;
  ef?: number;
}

export const DEFAULT_K = 10;
/** The most results one search returns, for the CLI, the server and the library alike. */
export const MAX_K = 1000;

/** `k` checked against the one bound; `name` is how the caller's user spells it (`-k`, `k`). */
export function checkK(k: unknown, name = 'k'): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_K)
    throw xmodalError('BAD_ARGUMENT', `${name} must be a positive integer up to ${MAX_K}, got ${k}`);
  return k;
}

/** An item as JSON for a user: everything but the vector, undefined fields left out by JSON.stringify. */
export function itemJson(item: ItemRecord) {
  return {
    id: item.id,
    modality: item.modality,
    uri: item.uri,
    mime: item.mime,
    tags: item.tags,
    meta: item.meta,
  };
}

/** A search hit as JSON: the item and its score; a video moment adds where to play from and the span of its hits. */
export function hitJson(hit: ResultHit) {
  return {
    ...itemJson(hit),
    score: hit.score,
    ...(hit.t !== undefined ? { t: hit.t, start: hit.start, end: hit.end } : {}),
  };
}

/** The query vector: the normalised weighted sum of the parts' embeddings. */
export async function queryVector(
  collection: OpenCollection,
  parts: readonly QueryPart[],
): Promise<Float32Array> {
  if (parts.length === 0)
    throw xmodalError('BAD_ARGUMENT', 'empty query: give a text, an image, an audio clip or an item id');
  const vectors: Float32Array[] = [];
  const toEmbed: { index: number; input: Input }[] = [];
  for (const [index, part] of parts.entries()) {
    if (part.kind === 'like') {
      const item = await collection.store.get(String(part.value));
      if (!item)
        throw xmodalError(
          'NOT_FOUND',
          `no item "${String(part.value)}" in collection "${collection.info.name}"`,
        );
      vectors[index] = item.vector;
    } else if (part.kind === 'text') {
      if (typeof part.value !== 'string' || !part.value.trim())
        throw xmodalError('BAD_ARGUMENT', 'empty text query');
      toEmbed.push({ index, input: { modality: 'text', text: part.value } });
    } else {
      toEmbed.push({ index, input: { modality: part.kind, source: part.value } });
    }
  }
  const embedded = await embedInputs(
    collection.encoder,
    toEmbed.map((e) => e.input),
  );
  toEmbed.forEach((e, i) => {
    vectors[e.index] = embedded[i];
  });
  const sum = new Float32Array(collection.encoder.dim);
  parts.forEach((part, index) => {
    const weight = part.weight ?? 1;
    if (!Number.isFinite(weight))
      throw xmodalError('BAD_ARGUMENT', `weight must be a number, got ${part.weight}`);
    for (let d = 0; d < sum.length; d++) sum[d] += weight * vectors[index][d];
  });
  if (!sum.some((x) => x !== 0))
    throw xmodalError('BAD_ARGUMENT', 'the query parts cancel out; change the weights');
  return l2normalize(sum);
}

/**
 * Searches a collection with a combined query; items used as `like` examples are left out of the results, and
 * hits inside one video fold into moments (so more hits are fetched until `k` results remain or none are left).
 */
export async function searchCollection(collection: OpenCollection, query: SearchQuery): Promise<ResultHit[]> {
  const k = checkK(query.k ?? DEFAULT_K);
  const vector = await queryVector(collection, query.parts);
  const examples = new Set(query.parts.filter((p) => p.kind === 'like').map((p) => String(p.value)));
  for (let fetch = k + examples.size; ; fetch = Math.min(MAX_FETCH, fetch * 4)) {
    const hits = await collection.store.search(vector, { k: fetch, filter: query.filter, ef: query.ef });
    const kept = hits
      .filter((hit) => !examples.has(hit.id))
      .filter((hit) => query.minScore === undefined || hit.score >= query.minScore);
    const results = groupMoments(kept);
    const folded = results.length < kept.length;
    if (!folded || results.length >= k || hits.length < fetch || fetch >= MAX_FETCH)
      return results.slice(0, k);
  }
}

/** Hits fetched at most while looking for `k` results among video moments. */
const MAX_FETCH = 10_000;
