// A penalty for adapter training that equalises each concept's similarity across an attribute's groups: the
// variance, over groups, of the mean similarity of a concept's probe pictures to the concept's text.

import type { Modality } from '../encoders/encoder.js';
import { dot } from '../vectors.js';
import { adapterBackward, adapterForward } from './adapt-loss.js';
import type { Params } from './adapt-params.js';

/** Base-model embeddings of labelled probes and of their concepts' texts. */
export interface DebiasProbes {
  vectors: Float32Array[];
  modality: Modality[];
  /** Index into `conceptTexts` per probe. */
  concept: number[];
  /** Group index per probe. */
  group: number[];
  conceptTexts: Float32Array[];
}

/** Penalty weight: group differences in cosine are small (0.01–0.1), squared smaller still, beside a loss near 1. */
export const DEFAULT_DEBIAS_WEIGHT = 100;

export interface DebiasPenalty {
  probes: DebiasProbes;
  /** The probes the penalty is computed on (the rest are held out to measure it). */
  rows: number[];
  /** Multiplies the penalty against the contrastive loss. */
  weight: number;
}

/** How much each concept's similarity differs between groups, with an adapter's parameters. */
export interface GroupGap {
  /** Mean over concepts of the largest difference between two groups' mean similarities. */
  similarity: number;
  /** Mean similarity to the own concept per group, over all concepts. */
  per_group: number[];
}

/** The penalty of `rows`; adds its gradient to `grads` when given. */
export function debiasPenalty(params: Params, penalty: DebiasPenalty, grads?: Params): number {
  const { probes, rows, weight } = penalty;
  const text = probes.conceptTexts.map((t) => adapterForward(params, 'text', t));
  const image = rows.map((i) => adapterForward(params, probes.modality[i], probes.vectors[i]));
  const similarity = rows.map((i, r) => dot(image[r].u, text[probes.concept[i]].u));
  const cells = cellMeans(rows, probes, similarity);
  const cellCount = [...cells.values()].reduce((n, byGroup) => n + byGroup.size, 0);
  let loss = 0;
  const dCell = new Map<string, number>();
  for (const [concept, byGroup] of cells) {
    const mean = [...byGroup.values()].reduce((s, c) => s + c.mean, 0) / byGroup.size;
    for (const [group, cell] of byGroup) {
      loss += (weight * (cell.mean - mean) ** 2) / cellCount;
      dCell.set(`${concept}/${group}`, (2 * weight * (cell.mean - mean)) / cellCount / cell.n);
    }
  }
  if (!grads) return loss;
  const dim = params.dim;
  const textGrads = probes.conceptTexts.map(() => new Float64Array(dim));
  rows.forEach((i, r) => {
    const d = dCell.get(`${probes.concept[i]}/${probes.group[i]}`)!;
    const t = text[probes.concept[i]].u;
    const gu = new Float64Array(dim);
    for (let x = 0; x < dim; x++) {
      gu[x] = d * t[x];
      textGrads[probes.concept[i]][x] += d * image[r].u[x];
    }
    adapterBackward(params, grads, image[r], gu, probes.modality[i], probes.vectors[i]);
  });
  textGrads.forEach((gu, c) => {
    adapterBackward(params, grads, text[c], gu, 'text', probes.conceptTexts[c]);
  });
  return loss;
}

/** The group gap of `rows` under `params` (an empty Params is the base model). */
export function groupGap(params: Params, probes: DebiasProbes, rows: readonly number[]): GroupGap {
  const text = probes.conceptTexts.map((t) => adapterForward(params, 'text', t).u);
  const similarity = rows.map((i) =>
    dot(adapterForward(params, probes.modality[i], probes.vectors[i]).u, text[probes.concept[i]]),
  );
  const cells = cellMeans(rows, probes, similarity);
  let spread = 0;
  const groups = Math.max(0, ...probes.group) + 1;
  const sums = new Float64Array(groups);
  const counts = new Float64Array(groups);
  for (const byGroup of cells.values()) {
    const means = [...byGroup.values()].map((c) => c.mean);
    spread += Math.max(...means) - Math.min(...means);
    for (const [group, cell] of byGroup) {
      sums[group] += cell.mean;
      counts[group]++;
    }
  }
  return {
    similarity: cells.size ? spread / cells.size : 0,
    per_group: [...sums].map((s, g) => (counts[g] ? s / counts[g] : 0)),
  };
}

function cellMeans(
  rows: readonly number[],
  probes: DebiasProbes,
  similarity: readonly number[],
): Map<number, Map<number, { mean: number; n: number }>> {
  const cells = new Map<number, Map<number, { mean: number; n: number }>>();
  rows.forEach((i, r) => {
    const byGroup = cells.get(probes.concept[i]) ?? new Map();
    const cell = byGroup.get(probes.group[i]) ?? { mean: 0, n: 0 };
    cell.mean += similarity[r];
    cell.n++;
    byGroup.set(probes.group[i], cell);
    cells.set(probes.concept[i], byGroup);
  });
  for (const byGroup of cells.values()) for (const cell of byGroup.values()) cell.mean /= cell.n;
  return cells;
}
