import { xmodalError } from '../errors.js';
import type { SearchHit } from '../store/store.js';
import { fairRerank } from './fair-rerank.js';
import { groupPredictor, labelledGroup } from './item-groups.js';
import { DEFAULT_K, type SearchQuery, searchCollection } from './search.js';
import type { OpenCollection } from './workspace.js';

export interface FairOptions {
  /** The attribute whose groups share the top k: labelled `group.<attribute>` on items, or `skin_tone` / `gender`. */
  attribute: string;
  /** Largest score an item may lose its place to (cosine). Default 0.05. */
  margin?: number;
  /** Candidates re-ranked. Default 5·k, at least 50, at most 1000. */
  candidates?: number;
}

export interface FairReport {
  attribute: string;
  margin: number;
  candidates: number;
  /** Candidates whose group was predicted zero-shot because they carry no label. */
  predicted: number;
  /** Each group's share among the candidates: its target in the top k. */
  share: Record<string, number>;
  /** Items per group in the top k, by score alone and re-ranked. */
  before: Record<string, number>;
  after: Record<string, number>;
  /** Sum of the top k's scores by score alone and re-ranked: what fairness cost in relevance. */
  relevance: { before: number; after: number };
}

export const DEFAULT_FAIR_MARGIN = 0.05;
const UNLABELLED = '(unlabelled)';

/** Searches, then re-ranks the top candidates so each group's exposure in the top k follows its share among them. */
export async function fairSearch(
  collection: OpenCollection,
  query: SearchQuery,
  options: FairOptions,
): Promise<{ hits: SearchHit[]; fair: FairReport }> {
  const k = query.k ?? DEFAULT_K;
  const margin = options.margin ?? DEFAULT_FAIR_MARGIN;
  if (!(margin >= 0))
    throw xmodalError('BAD_ARGUMENT', `the fairness margin must be ≥ 0, got ${options.margin}`);
  if (!options.attribute?.trim()) throw xmodalError('BAD_ARGUMENT', 'name the attribute to be fair over');
  if (collection.spaces)
    throw xmodalError(
      'SEPARATE_SPACES',
      `collection "${collection.info.name}" holds separate vector spaces: their scores cannot be traded against each other`,
    );
  const wanted = options.candidates ?? Math.min(1000, Math.max(50, 5 * k));
  const hits = await searchCollection(collection, { ...query, k: Math.max(k, wanted) });
  const labels = hits.map((hit) => labelledGroup(hit, options.attribute));
  const predictor = labels.every(Boolean)
    ? undefined
    : await groupPredictor(collection.encoder, options.attribute);
  if (!predictor && labels.every((l) => l === undefined) && hits.length > 0)
    throw xmodalError(
      'BAD_ARGUMENT',
      `no result carries group.${options.attribute} (meta or tag), and only skin_tone and gender can be predicted`,
    );
  let predicted = 0;
  const groups = await Promise.all(
    hits.map(async (hit, i) => {
      if (labels[i]) return labels[i];
      const item = predictor && (await collection.store.get(hit.id));
      if (!item) return UNLABELLED;
      predicted++;
      return predictor.predict(item.vector);
    }),
  );
  const { order, share } = fairRerank(
    hits.map((hit, i) => ({ score: hit.score, group: groups[i] })),
    k,
    margin,
  );
  const count = (indexes: readonly number[]) => {
    const out: Record<string, number> = Object.fromEntries(
      Object.keys(share)
        .sort()
        .map((g) => [g, 0]),
    );
    for (const i of indexes) out[groups[i]]++;
    return out;
  };
  const top = hits.slice(0, k).map((_, i) => i);
  const sum = (indexes: readonly number[]) => indexes.reduce((s, i) => s + hits[i].score, 0);
  return {
    hits: order.map((i) => hits[i]),
    fair: {
      attribute: options.attribute,
      margin,
      candidates: hits.length,
      predicted,
      share,
      before: count(top),
      after: count(order),
      relevance: { before: sum(top), after: sum(order) },
    },
  };
}
