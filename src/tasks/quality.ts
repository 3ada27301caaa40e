import { xmodalError } from '../errors.js';
import type { ItemRecord } from '../store/store.js';
import { MODALITIES, type Modality } from '../types.js';
import { centroidDistance, dot } from '../vectors.js';
import type { OpenCollection } from './workspace.js';

export interface QualityOptions {
  /** k-means clusters; default √(n/2) between 2 and 10. */
  k?: number;
  /** At most this many items are measured (evenly spread by id); default 2000. */
  sample?: number;
  seed?: number;
}

export interface QualityMetrics {
  /** Items measured. */
  n: number;
  /** Mean cosine distance (1 − cos) over all pairs. */
  meanPairwiseDistance: number;
  clusters: { k: number; sizes: number[]; silhouette: number | null };
  /** Wang & Isola: E‖f(x) − f(y)‖² over positive pairs (lower: pairs sit closer). Null without pairs. */
  alignment: number | null;
  positivePairs: number;
  /** Wang & Isola: log E exp(−2‖f(x) − f(y)‖²) over all pairs (lower: spread more evenly). */
  uniformity: number;
  /** Distance between the centroids of each two modalities present (Liang et al.'s modality gap). */
  modalityGap: { modalities: [Modality, Modality]; distance: number }[];
}

export interface QualityReport extends QualityMetrics {
  collection: string;
  /** Items per modality in the whole collection. */
  counts: Record<Modality, number>;
}

/**
 * Measures a set of L2-normalised vectors. `pairs` are index pairs known to match (an image and its
 * caption); k-means comes from ml-kmeans and the silhouette (Euclidean) from @robzzson/silhouette, both loaded
 * on first use (ml-kmeans is hundreds of modules: every command would pay for them at start-up).
 */
export async function measureVectors(
  vectors: readonly Float32Array[],
  modalities: readonly Modality[],
  pairs: readonly [number, number][],
  options: QualityOptions = {},
): Promise<QualityMetrics> {
  const n = vectors.length;
  if (n < 3) throw xmodalError('BAD_INPUT', `need at least 3 items to measure, got ${n}`);
  let distanceSum = 0;
  let gaussianSum = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const cos = dot(vectors[i], vectors[j]);
      distanceSum += 1 - cos;
      // ‖x − y‖² = 2 − 2 cos for unit vectors.
      gaussianSum += Math.exp(-2 * (2 - 2 * cos));
    }
  const pairCount = (n * (n - 1)) / 2;
  const alignment = pairs.length
    ? pairs.reduce((s, [a, b]) => s + (2 - 2 * dot(vectors[a], vectors[b])), 0) / pairs.length
    : null;

  const k = options.k ?? Math.min(10, Math.max(2, Math.round(Math.sqrt(n / 2))));
  if (!Number.isInteger(k) || k < 2 || k >= n)
    throw xmodalError('BAD_ARGUMENT', `k must be an integer from 2 to ${n - 1} for ${n} items, got ${k}`);
  const data = vectors.map((v) => Array.from(v));
  const [{ kmeans }, { default: silhouetteScore }] = await Promise.all([
    import('ml-kmeans'),
    import('@robzzson/silhouette'),
  ]);
  const { clusters } = kmeans(data, k, { seed: options.seed ?? 42, initialization: 'kmeans++' });
  const sizes = Array.from({ length: k }, (_, c) => clusters.filter((x) => x === c).length);
  // The library divides by (cluster size − 1): a singleton or empty cluster leaves the score undefined.
  const silhouette = sizes.every((s) => s > 1) ? silhouetteScore(data, clusters) : Number.NaN;

  const members = new Map<Modality, Float32Array[]>();
  for (const modality of MODALITIES) {
    const group = vectors.filter((_, i) => modalities[i] === modality);
    if (group.length > 0) members.set(modality, group);
  }
  const present = [...members.keys()];
  const modalityGap = present.flatMap((a, i) =>
    present.slice(i + 1).map((b) => ({
      modalities: [a, b] as [Modality, Modality],
      distance: centroidDistance(members.get(a)!, members.get(b)!),
    })),
  );
  return {
    n,
    meanPairwiseDistance: distanceSum / pairCount,
    clusters: { k, sizes, silhouette: Number.isFinite(silhouette) ? silhouette : null },
    alignment,
    positivePairs: pairs.length,
    uniformity: Math.log(gaussianSum / pairCount),
    modalityGap,
  };
}

/** What a document is: items sharing a path without its extension (`dog.png` + `dog.txt`), or the id. */
export function documentKey(record: Pick<ItemRecord, 'id' | 'uri'>): string {
  const base = record.uri ?? record.id.replace(/#\d+$/, '');
  return base.replace(/\.[^./\\]*$/, '');
}

/** Cross-modal pairs within each document: the positives for alignment. */
export function documentPairs(
  records: readonly Pick<ItemRecord, 'id' | 'uri' | 'modality'>[],
): [number, number][] {
  const byDocument = new Map<string, number[]>();
  records.forEach((r, i) => {
    const key = documentKey(r);
    byDocument.set(key, [...(byDocument.get(key) ?? []), i]);
  });
  const pairs: [number, number][] = [];
  for (const members of byDocument.values())
    for (let a = 0; a < members.length; a++)
      for (let b = a + 1; b < members.length; b++)
        if (records[members[a]].modality !== records[members[b]].modality)
          pairs.push([members[a], members[b]]);
  return pairs;
}

/** An evenly spread sample of a collection's items with their vectors, in id order. */
export async function sampleCollection(
  collection: OpenCollection,
  sample: number,
): Promise<{ records: ItemRecord[]; vectors: Float32Array[] }> {
  const all: ItemRecord[] = [];
  for await (const record of collection.store.iterate()) all.push(record);
  const step = Math.max(1, all.length / sample);
  const records: ItemRecord[] = [];
  for (let i = 0; i < all.length && records.length < sample; i += step) records.push(all[Math.floor(i)]);
  const vectors: Float32Array[] = [];
  for (const record of records) {
    const item = await collection.store.get(record.id);
    if (!item) throw xmodalError('STORE_ERROR', `item ${record.id} vanished while being measured`);
    vectors.push(item.vector);
  }
  return { records, vectors };
}

/** Embedding-quality metrics of a collection (see {@link measureVectors}); positives are documents' items. */
export async function collectionQuality(
  collection: OpenCollection,
  options: QualityOptions = {},
): Promise<QualityReport & { records: ItemRecord[]; vectors: Float32Array[] }> {
  if (collection.spaces)
    throw xmodalError(
      'SEPARATE_SPACES',
      `collection "${collection.info.name}" holds separate vector spaces: its vectors cannot be measured together`,
    );
  const sample = options.sample ?? 2000;
  if (!Number.isInteger(sample) || sample < 3)
    throw xmodalError('BAD_ARGUMENT', `sample must be an integer of at least 3, got ${sample}`);
  const counts = { text: 0, image: 0, audio: 0 };
  for (const modality of MODALITIES) counts[modality] = await collection.store.count({ modality });
  const { records, vectors } = await sampleCollection(collection, sample);
  const metrics = await measureVectors(
    vectors,
    records.map((r) => r.modality),
    documentPairs(records),
    options,
  );
  return { collection: collection.info.name, counts, ...metrics, records, vectors };
}
