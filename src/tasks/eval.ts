import { dirname, resolve } from 'node:path';
import type { Encoder } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import { MODALITIES, type Modality } from '../types.js';
import { centroidDistance, dot, meanDirection } from '../vectors.js';
import { jsonLines, readUserFile } from './user-files.js';

/** One line of an evaluation manifest. Text items are queries; items sharing a `label` match each other. */
export interface ManifestItem {
  id: string;
  modality: Modality;
  /** Media file, relative to the manifest. */
  path?: string;
  text?: string;
  label: string;
  lang?: string;
}

export interface RetrievalResult {
  query: Modality;
  target: Modality;
  queries: number;
  /** Distinct target items searched over. */
  candidates: number;
  'recall@1': number;
  'recall@5': number;
  'recall@10': number;
  median_rank: number;
}

export interface ZeroShotResult {
  modality: Modality;
  items: number;
  labels: number;
  accuracy: number;
}

export interface EvalReport {
  model: string;
  manifest: string;
  /** Only for a bundle of separate spaces: each space's modalities. Pairs no space holds are not measured. */
  spaces?: Record<string, Modality[]>;
  retrieval: RetrievalResult[];
  zero_shot: ZeroShotResult[];
  modality_gap: Record<string, number>;
}

export interface EmbeddedItem {
  id: string;
  modality: Modality;
  label: string;
  vector: Float32Array;
}

/** Reads a JSONL manifest (the JSON Lines reader every manifest shares), checking every line; media paths become absolute. */
export async function readManifest(path: string): Promise<ManifestItem[]> {
  const text = await readUserFile(path, 'manifest');
  const items: ManifestItem[] = [];
  for (const { where, row } of jsonLines(text, path)) {
    const item = row as unknown as ManifestItem;
    if (typeof item.id !== 'string' || typeof item.label !== 'string')
      throw xmodalError('BAD_INPUT', `${where}: "id" and "label" must be strings`);
    if (!MODALITIES.includes(item.modality))
      throw xmodalError('BAD_INPUT', `${where}: "modality" must be text, image or audio`);
    if (item.modality === 'text' ? typeof item.text !== 'string' : typeof item.path !== 'string')
      throw xmodalError(
        'BAD_INPUT',
        `${where}: a ${item.modality} item needs "${item.modality === 'text' ? 'text' : 'path'}"`,
      );
    items.push(item.path ? { ...item, path: resolve(dirname(path), item.path) } : item);
  }
  if (items.length === 0) throw xmodalError('BAD_INPUT', `${path} has no items`);
  return items;
}

/** Embeds every manifest item with the encoder (modalities it lacks are left out). */
export async function embedManifest(
  encoder: Encoder,
  items: readonly ManifestItem[],
): Promise<EmbeddedItem[]> {
  const out: EmbeddedItem[] = [];
  for (const modality of MODALITIES) {
    if (!encoder.modalities.includes(modality)) continue;
    const group = items.filter((item) => item.modality === modality);
    if (group.length === 0) continue;
    const vectors = await encoder.embed(
      modality,
      group.map((item) => (modality === 'text' ? item.text! : item.path!)),
    );
    group.forEach((item, i) => {
      out.push({ id: item.id, modality, label: item.label, vector: vectors[i] });
    });
  }
  return out;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Rank (1-based) of the best-scoring candidate that shares the query's label. */
function firstMatchRank(query: EmbeddedItem, candidates: readonly EmbeddedItem[]): number | undefined {
  const scores = candidates.map((c) => dot(query.vector, c.vector));
  let best = Number.NEGATIVE_INFINITY;
  candidates.forEach((c, i) => {
    if (c.label === query.label && scores[i] > best) best = scores[i];
  });
  if (best === Number.NEGATIVE_INFINITY) return undefined;
  return 1 + scores.filter((s) => s > best).length;
}

function retrieval(
  items: readonly EmbeddedItem[],
  query: Modality,
  target: Modality,
): RetrievalResult | undefined {
  const queries = items.filter((i) => i.modality === query);
  const candidates = items.filter((i) => i.modality === target);
  const ranks = queries.flatMap((q) => firstMatchRank(q, candidates) ?? []);
  if (ranks.length === 0) return undefined;
  const recall = (k: number) => ranks.filter((r) => r <= k).length / ranks.length;
  return {
    query,
    target,
    queries: ranks.length,
    candidates: candidates.length,
    'recall@1': recall(1),
    'recall@5': recall(5),
    'recall@10': recall(10),
    median_rank: median(ranks),
  };
}

/** Each image/audio item classified among all labels' texts (a label's texts are averaged). */
function zeroShot(items: readonly EmbeddedItem[], modality: Modality): ZeroShotResult | undefined {
  const byLabel = new Map<string, Float32Array[]>();
  for (const t of items.filter((i) => i.modality === 'text'))
    byLabel.set(t.label, [...(byLabel.get(t.label) ?? []), t.vector]);
  const labels = [...byLabel.entries()].map(([label, vectors]) => ({
    label,
    vector: meanDirection(vectors),
  }));
  const targets = items.filter((i) => i.modality === modality && byLabel.has(i.label));
  if (targets.length === 0 || labels.length < 2) return undefined;
  let correct = 0;
  for (const item of targets) {
    const best = labels.reduce((a, b) => (dot(item.vector, b.vector) > dot(item.vector, a.vector) ? b : a));
    if (best.label === item.label) correct++;
  }
  return { modality, items: targets.length, labels: labels.length, accuracy: correct / targets.length };
}

/** The modality gap between two groups of embedded items. */
function centroidGap(a: readonly EmbeddedItem[], b: readonly EmbeddedItem[]): number {
  return centroidDistance(
    a.map((item) => item.vector),
    b.map((item) => item.vector),
  );
}

/** Retrieval in every cross-modal direction, zero-shot accuracy and the modality gap, from embedded items. */
export function evaluateEmbeddings(items: readonly EmbeddedItem[]): Omit<EvalReport, 'model' | 'manifest'> {
  const present = MODALITIES.filter((m) => items.some((i) => i.modality === m));
  const retrievalResults: RetrievalResult[] = [];
  for (const query of present)
    for (const target of present) {
      if (query === target) continue;
      const result = retrieval(items, query, target);
      if (result) retrievalResults.push(result);
    }
  const zero = (['image', 'audio'] as const).flatMap((m) => zeroShot(items, m) ?? []);
  const gap: Record<string, number> = {};
  const nonText = present.filter((m) => m !== 'text');
  for (const [i, a] of nonText.entries()) {
    if (present.includes('text'))
      gap[`${a}-text`] = centroidGap(
        items.filter((x) => x.modality === a),
        items.filter((x) => x.modality === 'text'),
      );
    for (const b of nonText.slice(i + 1))
      gap[`${a}-${b}`] = centroidGap(
        items.filter((x) => x.modality === a),
        items.filter((x) => x.modality === b),
      );
  }
  return { retrieval: retrievalResults, zero_shot: zero, modality_gap: gap };
}

/**
 * Evaluates a model on a manifest. A bundle of separate spaces is measured space by space: each direction
 * in the first space that holds both modalities, and none across spaces (image ↔ audio there has no meaning).
 */
export async function evaluate(encoder: Encoder, manifestPath: string): Promise<EvalReport> {
  const items = await readManifest(manifestPath);
  const head = { model: encoder.id, manifest: resolve(manifestPath) };
  if (!encoder.spaces) return { ...head, ...evaluateEmbeddings(await embedManifest(encoder, items)) };
  const merged: Omit<EvalReport, 'model' | 'manifest'> = { retrieval: [], zero_shot: [], modality_gap: {} };
  merged.spaces = {};
  for (const space of encoder.spaces) {
    merged.spaces[space.name] = [...space.encoder.modalities];
    const report = evaluateEmbeddings(await embedManifest(space.encoder, items));
    for (const r of report.retrieval)
      if (!merged.retrieval.some((m) => m.query === r.query && m.target === r.target))
        merged.retrieval.push(r);
    for (const z of report.zero_shot)
      if (!merged.zero_shot.some((m) => m.modality === z.modality)) merged.zero_shot.push(z);
    merged.modality_gap = { ...report.modality_gap, ...merged.modality_gap };
  }
  return { ...head, ...merged };
}
