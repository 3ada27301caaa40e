// The adapter's training objective (symmetric InfoNCE and its gradient) and the retrieval it is judged by.
import { adaptRow } from '../encoders/adapter.js';
import type { Modality } from '../types.js';
import { dot } from '../vectors.js';
import type { Params } from './adapt-params.js';

/** Base-model embeddings of pairs, with keys saying which rows are the same thing. */
export interface EmbeddedPairs {
  a: Float32Array[];
  b: Float32Array[];
  modalityA: Modality[];
  modalityB: Modality[];
  keyA: string[];
  keyB: string[];
}

export interface RetrievalScores {
  'recall@1': number;
  'recall@10': number;
}

/** `x + W x` normalised, and its norm before normalising (kept for the backward pass). */
export function adapterForward(
  params: Params,
  modality: Modality,
  x: Float32Array,
): { u: Float32Array; norm: number } {
  const w = params.matrices.get(modality);
  const dim = x.length;
  const u = new Float32Array(dim);
  for (let r = 0; r < dim; r++) {
    let sum = x[r];
    if (w) for (let c = 0, o = r * dim; c < dim; c++) sum += w[o + c] * x[c];
    u[r] = sum;
  }
  let norm = 0;
  for (let r = 0; r < dim; r++) norm += u[r] * u[r];
  norm = Math.sqrt(norm) || 1;
  for (let r = 0; r < dim; r++) u[r] /= norm;
  return { u, norm };
}

/** Symmetric InfoNCE of one batch (row indexes into `data`); adds its gradient to `grads` when given. */
export function symmetricInfoNce(
  data: EmbeddedPairs,
  batch: readonly number[],
  params: Params,
  grads?: Params,
): number {
  const n = batch.length;
  const fa = batch.map((i) => adapterForward(params, data.modalityA[i], data.a[i]));
  const fb = batch.map((i) => adapterForward(params, data.modalityB[i], data.b[i]));
  const scale = Math.exp(params.logScale);
  const logits = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) logits[i * n + j] = scale * dot(fa[i].u, fb[j].u);
  const positive = (i: number, j: number) =>
    data.keyA[batch[i]] === data.keyA[batch[j]] || data.keyB[batch[i]] === data.keyB[batch[j]];

  const { loss, g } = contrastiveGradient(logits, n, positive);
  if (!grads) return loss;

  let gScale = 0;
  for (let k = 0; k < n * n; k++) gScale += g[k] * logits[k];
  grads.logScale += gScale;
  const dim = params.dim;
  for (let i = 0; i < n; i++) {
    const ga = new Float64Array(dim);
    const gb = new Float64Array(dim);
    for (let j = 0; j < n; j++) {
      const gij = g[i * n + j] * scale;
      const gji = g[j * n + i] * scale;
      for (let d = 0; d < dim; d++) {
        ga[d] += gij * fb[j].u[d];
        gb[d] += gji * fa[j].u[d];
      }
    }
    adapterBackward(params, grads, fa[i], ga, data.modalityA[batch[i]], data.a[batch[i]]);
    adapterBackward(params, grads, fb[i], gb, data.modalityB[batch[i]], data.b[batch[i]]);
  }
  return loss;
}

/**
 * Symmetric InfoNCE of an n × n logit matrix and its gradient: for each row (a → b) and each column (b → a),
 * softmax minus the positives' share of it, averaged over both directions.
 */
export function contrastiveGradient(
  logits: Float64Array,
  n: number,
  positive: (i: number, j: number) => boolean,
): { loss: number; g: Float64Array } {
  const g = new Float64Array(n * n);
  let loss = 0;
  for (const byRow of [true, false]) {
    for (let i = 0; i < n; i++) {
      const at = (j: number) => (byRow ? i * n + j : j * n + i);
      let max = -Infinity;
      for (let j = 0; j < n; j++) max = Math.max(max, logits[at(j)]);
      let total = 0;
      let positives = 0;
      const p = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        p[j] = Math.exp(logits[at(j)] - max);
        total += p[j];
      }
      for (let j = 0; j < n; j++) {
        p[j] /= total;
        if (byRow ? positive(i, j) : positive(j, i)) positives += p[j];
      }
      loss -= Math.log(Math.max(positives, 1e-30)) / (2 * n);
      for (let j = 0; j < n; j++) {
        const isPositive = byRow ? positive(i, j) : positive(j, i);
        g[at(j)] += (p[j] - (isPositive ? p[j] / positives : 0)) / (2 * n);
      }
    }
  }
  return { loss, g };
}

/** Adds to `grads` the gradient of W for `modality` given the gradient `gu` at the normalised output `f` of `x`. */
export function adapterBackward(
  params: Params,
  grads: Params,
  f: { u: Float32Array; norm: number },
  gu: Float64Array,
  modality: Modality,
  x: Float32Array,
): void {
  const gw = grads.matrices.get(modality);
  if (!gw) return;
  const dim = params.dim;
  // Through the normalisation: (g − u (u·g)) / ‖x + W x‖.
  let ug = 0;
  for (let r = 0; r < dim; r++) ug += f.u[r] * gu[r];
  for (let r = 0; r < dim; r++) {
    const d = (gu[r] - f.u[r] * ug) / f.norm;
    for (let c = 0, o = r * dim; c < dim; c++) gw[o + c] += d * x[c];
  }
}

/** Validation loss in batches of at most 512 (InfoNCE depends on the batch, so the split is fixed). */
export function lossOf(data: EmbeddedPairs, rows: readonly number[], params: Params): number {
  let total = 0;
  for (let start = 0; start < rows.length; start += 512) {
    const batch = rows.slice(start, start + 512);
    total += symmetricInfoNce(data, batch, params) * batch.length;
  }
  return total / rows.length;
}

/** a → b retrieval: each distinct query against every distinct b of the rows; a hit is any matching b. */
export function retrieval(data: EmbeddedPairs, rows: readonly number[], params: Params): RetrievalScores {
  const matches = new Set(rows.map((i) => `${data.keyA[i]}\n${data.keyB[i]}`));
  const queries = [...new Map(rows.map((i) => [data.keyA[i], i])).values()];
  const gallery = [...new Map(rows.map((i) => [data.keyB[i], i])).values()];
  const vectorsB = gallery.map((i) => adaptRowOf(params, data.modalityB[i], data.b[i]));
  let at1 = 0;
  let at10 = 0;
  for (const q of queries) {
    const v = adaptRowOf(params, data.modalityA[q], data.a[q]);
    const ranked = gallery
      .map((j, k) => ({ key: data.keyB[j], score: dot(v, vectorsB[k]) }))
      .sort((x, y) => y.score - x.score);
    const rank = ranked.findIndex((r) => matches.has(`${data.keyA[q]}\n${r.key}`));
    if (rank === 0) at1++;
    if (rank >= 0 && rank < 10) at10++;
  }
  return { 'recall@1': at1 / queries.length, 'recall@10': at10 / queries.length };
}

function adaptRowOf(params: Params, modality: Modality, x: Float32Array): Float32Array {
  const w = params.matrices.get(modality);
  return w ? adaptRow(w, x, params.dim) : x;
}
