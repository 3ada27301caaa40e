import { xmodalError } from '../errors.js';
import type { Filter, ItemRecord, SearchHit } from '../store/store.js';
import { l2normalize } from '../vectors.js';
import { embedInputs, type Input } from './embed.js';
import { groupMoments, type Moment } from './moments.js';
import { RRF_K } from './retrieve.js';
import type { CollectionSpace } from './spaces.js';
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

/** A search result; on a collection of separate spaces, `space` names the part whose space `score` is in. */
export interface SpaceHit extends SearchHit {
  space?: string;
}

/** A result hit: a video's hits close in time fold into one moment, which says where to play from. */
export type ResultHit = SpaceHit & Moment;

/**
 * A search hit as JSON: the item, its score, across separate spaces the space the score is in, and for a video
 * moment where to play from and the span of its hits.
 */
export function hitJson(hit: ResultHit) {
  return {
    ...itemJson(hit),
    score: hit.score,
    ...(hit.space ? { space: hit.space } : {}),
    ...(hit.t !== undefined ? { t: hit.t, start: hit.start, end: hit.end } : {}),
  };
}

/** The query vector: the normalised weighted sum of the parts' embeddings. */
export async function queryVector(
  collection: Pick<OpenCollection, 'encoder' | 'store' | 'info'>,
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
 * Searches a collection with a combined query; items used as `like` examples are left out of the results. A
 * collection of separate spaces is searched in every space that can embed the whole query and holds the asked
 * modalities; the rankings are fused by reciprocal rank (an item found in several keeps its best rank). Hits
 * inside one video fold into moments (so more hits are fetched until `k` results remain or none are left).
 */
export async function searchCollection(collection: OpenCollection, query: SearchQuery): Promise<ResultHit[]> {
  const k = checkK(query.k ?? DEFAULT_K);
  const examples = new Set(query.parts.filter((p) => p.kind === 'like').map((p) => String(p.value)));
  const spaces = await searchableSpaces(collection, query);
  const vectors = new Map<CollectionSpace, Float32Array>();
  for (const space of spaces)
    vectors.set(space, await queryVector({ ...space, info: collection.info }, query.parts));
  for (let fetch = k + examples.size; ; fetch = Math.min(MAX_FETCH, fetch * 4)) {
    const fused = new Map<string, { hit: SpaceHit; rrf: number; order: number }>();
    let complete = true;
    for (const [order, space] of spaces.entries()) {
      const found = await space.store.search(vectors.get(space)!, {
        k: fetch,
        filter: query.filter,
        ef: query.ef,
      });
      if (found.length >= fetch) complete = false;
      found
        .filter((hit) => !examples.has(hit.id))
        .filter((hit) => query.minScore === undefined || hit.score >= query.minScore)
        .forEach((hit, rank) => {
          const rrf = 1 / (RRF_K + rank + 1);
          if ((fused.get(hit.id)?.rrf ?? 0) < rrf)
            fused.set(hit.id, { hit: space.name ? { ...hit, space: space.name } : hit, rrf, order });
        });
    }
    const kept = [...fused.values()]
      .sort((a, b) => b.rrf - a.rrf || a.order - b.order || b.hit.score - a.hit.score)
      .map((f) => f.hit);
    const results = groupMoments(kept);
    const folded = results.length < kept.length;
    if (!folded || results.length >= k || complete || fetch >= MAX_FETCH) return results.slice(0, k);
  }
}

/** The spaces that can answer the query, or a clear refusal when the query spans separate spaces. */
async function searchableSpaces(collection: OpenCollection, query: SearchQuery): Promise<CollectionSpace[]> {
  if (!collection.spaces) return [{ name: '', encoder: collection.encoder, store: collection.store }];
  const media = [
    ...new Set(query.parts.flatMap((p) => (p.kind === 'image' || p.kind === 'audio' ? [p.kind] : []))),
  ];
  const wanted = query.filter?.modality === undefined ? undefined : [query.filter.modality].flat();
  const likes = query.parts.filter((p) => p.kind === 'like').map((p) => String(p.value));
  const spaces: CollectionSpace[] = [];
  for (const space of collection.spaces) {
    const has = space.encoder.modalities;
    if (!media.every((m) => has.includes(m))) continue;
    if (wanted && !wanted.some((m) => has.includes(m))) continue;
    if ((await Promise.all(likes.map((id) => space.store.get(id)))).some((item) => !item)) continue;
    spaces.push(space);
  }
  if (spaces.length) return spaces;
  for (const id of likes)
    if (!(await collection.store.get(id)))
      throw xmodalError('NOT_FOUND', `no item "${id}" in collection "${collection.info.name}"`);
  const names = collection.spaces.map((s) => s.name).join(', ');
  const asked = [...media, ...likes.map((id) => `item "${id}"`)].join(' and ') || 'text';
  throw xmodalError(
    'SEPARATE_SPACES',
    `collection "${collection.info.name}" holds separate vector spaces (${names}): no one space holds ${asked}${wanted ? ` and ${wanted.join('/')} items` : ''}, so the query would compare unrelated vectors; join the spaces with \`xmodal bind\``,
  );
}

/** Hits fetched at most while looking for `k` results among video moments. */
const MAX_FETCH = 10_000;
