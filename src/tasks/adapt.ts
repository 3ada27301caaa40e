import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { type Adapter, adaptRow } from '../encoders/adapter.js';
import type { Encoder, Modality } from '../encoders/encoder.js';
import { dot } from '../encoders/vectors.js';
import { xmodalError } from '../errors.js';
import { type DebiasPenalty, debiasPenalty } from './debias.js';
import { embedInputs, type Input } from './embed.js';
import { logitScaleOf } from './prompts.js';
import { jsonLines, readUserFile } from './user-files.js';

/** One matching pair: a query side (usually text) and what it should find. */
export interface Pair {
  a: Input;
  b: Input;
}

/** Base-model embeddings of pairs, with keys saying which rows are the same thing. */
export interface EmbeddedPairs {
  a: Float32Array[];
  b: Float32Array[];
  modalityA: Modality[];
  modalityB: Modality[];
  keyA: string[];
  keyB: string[];
}

export interface AdaptOptions {
  /** Share of pairs held out for early stopping and the report. Default 0.2. */
  validation?: number;
  /** Most passes over the training pairs. Default 60. */
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** L2 pull of every matrix towards zero (the identity map). Default 1e-3. */
  weightDecay?: number;
  /** Stop after this many epochs without a better validation loss. Default 6. */
  patience?: number;
  seed?: number;
  /** Which modalities get a matrix. Default: every modality in the pairs. */
  modalities?: Modality[];
  /** Starting softmax scale; default the model's. */
  logitScale?: number;
  /** Adds a penalty that equalises each probe concept's similarity across an attribute's groups. */
  debias?: DebiasPenalty;
  onEpoch?: (progress: { epoch: number; trainLoss: number; validationLoss: number }) => void;
}

export interface RetrievalScores {
  'recall@1': number;
  'recall@10': number;
}

export interface AdaptReport {
  pairs: { train: number; validation: number };
  epochs: number;
  bestEpoch: number;
  /** Symmetric InfoNCE on the validation pairs, at the starting scale and at the learnt one. */
  validationLoss: { before: number; after: number };
  /** a → b retrieval among the validation pairs' distinct b items. */
  validation: { before: RetrievalScores; after: RetrievalScores };
  logitScale: { before: number; after: number };
  /** The debiasing penalty on its own probes, before training and with the kept weights. */
  debiasPenalty?: { before: number; after: number };
  seconds: number;
}

const MAX_LOGIT_SCALE = 100;

/** Trains a per-modality residual linear adapter on frozen embeddings (see {@link trainOnEmbeddings}). */
/** How the pairs' a sides find their b sides with this encoder (e.g. a base model, then its adapter). */
export async function pairRetrieval(encoder: Encoder, pairs: readonly Pair[]): Promise<RetrievalScores> {
  const data = await embedPairs(encoder, pairs);
  return retrieval(
    data,
    data.a.map((_, i) => i),
    new Params(encoder.dim, [], 0),
  );
}

async function embedPairs(encoder: Encoder, pairs: readonly Pair[]): Promise<EmbeddedPairs> {
  const key = (input: Input) =>
    input.modality === 'text' ? `text:${input.text}` : `${input.modality}:${String(input.source)}`;
  return {
    a: await embedInputs(
      encoder,
      pairs.map((p) => p.a),
    ),
    b: await embedInputs(
      encoder,
      pairs.map((p) => p.b),
    ),
    modalityA: pairs.map((p) => p.a.modality),
    modalityB: pairs.map((p) => p.b.modality),
    keyA: pairs.map((p) => key(p.a)),
    keyB: pairs.map((p) => key(p.b)),
  };
}

export async function trainAdapter(
  encoder: Encoder,
  pairs: readonly Pair[],
  options: AdaptOptions = {},
): Promise<{ adapter: Adapter; report: AdaptReport }> {
  if (pairs.length < 10)
    throw xmodalError('BAD_INPUT', `need at least 10 pairs to train on, got ${pairs.length}`);
  return trainOnEmbeddings(encoder.id, await embedPairs(encoder, pairs), {
    logitScale: logitScaleOf(encoder),
    ...options,
  });
}

/**
 * Symmetric InfoNCE with a learnable temperature (every in-batch pair sharing a key on either side counts
 * as positive), Adam, and early stopping on a stable validation split; the best epoch's weights are kept.
 */
export function trainOnEmbeddings(
  model: string,
  data: EmbeddedPairs,
  options: AdaptOptions = {},
): { adapter: Adapter; report: AdaptReport } {
  const started = performance.now();
  const dim = data.a[0]?.length ?? 0;
  const modalities = options.modalities ?? [...new Set([...data.modalityA, ...data.modalityB])];
  const { train, validation } = splitPairs(
    data.keyA.map((k, i) => `${k}\n${data.keyB[i]}`),
    options.validation ?? 0.2,
  );
  if (train.length < 2 || validation.length < 2)
    throw xmodalError('BAD_INPUT', `too few pairs (${data.a.length}) for a training and a validation split`);
  const batchSize = options.batchSize ?? 128;
  const maxEpochs = options.epochs ?? 60;
  const patience = options.patience ?? 6;
  const weightDecay = options.weightDecay ?? 1e-3;
  const lr = options.learningRate ?? 1e-3;
  const random = mulberry32(options.seed ?? 1);

  const params = new Params(
    dim,
    modalities,
    Math.log(Math.min(options.logitScale ?? 1 / 0.07, MAX_LOGIT_SCALE)),
  );
  const adam = new Adam(params, lr);
  const startScale = Math.exp(params.logScale);
  const before = { loss: lossOf(data, validation, params), retrieval: retrieval(data, validation, params) };
  // With debiasing, the kept epoch is the one with the lowest validation loss plus penalty.
  const penaltyOf = (p: Params) => (options.debias ? debiasPenalty(p, options.debias) : 0);
  const penaltyBefore = penaltyOf(params);
  let best = { loss: before.loss, objective: before.loss + penaltyBefore, epoch: 0, snapshot: params.copy() };
  let epoch = 0;
  for (epoch = 1; epoch <= maxEpochs; epoch++) {
    const order = shuffle([...train], random);
    let trainLoss = 0;
    let batches = 0;
    for (let start = 0; start < order.length; start += batchSize) {
      const batch = order.slice(start, start + batchSize);
      if (batch.length < 2) continue;
      const grads = params.zeros();
      trainLoss += symmetricInfoNce(data, batch, params, grads);
      if (options.debias) debiasPenalty(params, options.debias, grads);
      batches++;
      for (const [m, w] of params.matrices) {
        const g = grads.matrices.get(m)!;
        for (let i = 0; i < w.length; i++) g[i] += 2 * weightDecay * w[i];
      }
      adam.update(params, grads);
      params.logScale = Math.min(params.logScale, Math.log(MAX_LOGIT_SCALE));
    }
    const validationLoss = lossOf(data, validation, params);
    options.onEpoch?.({ epoch, trainLoss: trainLoss / Math.max(1, batches), validationLoss });
    const objective = validationLoss + penaltyOf(params);
    if (objective < best.objective - 1e-6)
      best = { loss: validationLoss, objective, epoch, snapshot: params.copy() };
    else if (epoch - best.epoch >= patience) break;
  }
  const final = best.snapshot;
  const adapter: Adapter = {
    model,
    dim,
    matrices: Object.fromEntries(final.matrices),
    logitScale: Math.exp(final.logScale),
  };
  const report: AdaptReport = {
    pairs: { train: train.length, validation: validation.length },
    epochs: Math.min(epoch, maxEpochs),
    bestEpoch: best.epoch,
    validationLoss: { before: before.loss, after: best.loss },
    validation: { before: before.retrieval, after: retrieval(data, validation, final) },
    logitScale: { before: startScale, after: adapter.logitScale },
    ...(options.debias ? { debiasPenalty: { before: penaltyBefore, after: penaltyOf(final) } } : {}),
    seconds: (performance.now() - started) / 1000,
  };
  adapter.trained = { ...report };
  return { adapter, report };
}

/** Trainable state: one dim × dim matrix per adapted modality and the log of the softmax scale. */
export class Params {
  matrices: Map<Modality, Float32Array>;
  constructor(
    readonly dim: number,
    modalities: readonly Modality[],
    public logScale: number,
  ) {
    this.matrices = new Map(modalities.map((m) => [m, new Float32Array(dim * dim)]));
  }
  zeros(): Params {
    return new Params(this.dim, [...this.matrices.keys()], 0);
  }
  copy(): Params {
    const c = this.zeros();
    for (const [m, w] of this.matrices) c.matrices.set(m, w.slice());
    c.logScale = this.logScale;
    return c;
  }
}

class Adam {
  private readonly m: Params;
  private readonly v: Params;
  private t = 0;
  constructor(
    params: Params,
    private readonly lr: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
  ) {
    this.m = params.zeros();
    this.v = params.zeros();
  }
  update(params: Params, grads: Params): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    const move = (
      w: Float32Array | number[],
      g: ArrayLike<number>,
      m: Float32Array | number[],
      v: Float32Array | number[],
    ) => {
      for (let i = 0; i < w.length; i++) {
        m[i] = this.beta1 * m[i] + (1 - this.beta1) * g[i];
        v[i] = this.beta2 * v[i] + (1 - this.beta2) * g[i] * g[i];
        w[i] -= (this.lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + 1e-8);
      }
    };
    for (const [mod, w] of params.matrices)
      move(w, grads.matrices.get(mod)!, this.m.matrices.get(mod)!, this.v.matrices.get(mod)!);
    const s = [params.logScale];
    const ms = [this.m.logScale];
    const vs = [this.v.logScale];
    move(s, [grads.logScale], ms, vs);
    [params.logScale, this.m.logScale, this.v.logScale] = [s[0], ms[0], vs[0]];
  }
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

  // dLoss/dlogits: for each row (a → b) and each column (b → a), softmax minus the positives' share of it.
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
function lossOf(data: EmbeddedPairs, rows: readonly number[], params: Params): number {
  let total = 0;
  for (let start = 0; start < rows.length; start += 512) {
    const batch = rows.slice(start, start + 512);
    total += symmetricInfoNce(data, batch, params) * batch.length;
  }
  return total / rows.length;
}

/** a → b retrieval: each distinct query against every distinct b of the rows; a hit is any matching b. */
function retrieval(data: EmbeddedPairs, rows: readonly number[], params: Params): RetrievalScores {
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

/**
 * The pairs with the lowest hashes of their keys go to validation (at least 2): stable across runs and
 * input order, and the asked share of the pairs.
 */
export function splitPairs(
  keys: readonly string[],
  share: number,
): { train: number[]; validation: number[] } {
  if (!(share > 0 && share < 1))
    throw xmodalError('BAD_ARGUMENT', `validation share must be in (0, 1), got ${share}`);
  const hashed = keys.map((key, i) => ({ i, h: createHash('sha1').update(key).digest('hex') }));
  hashed.sort((x, y) => (x.h < y.h ? -1 : x.h > y.h ? 1 : x.i - y.i));
  const size = Math.max(2, Math.round(keys.length * share));
  const byIndex = (list: { i: number }[]) => list.map((x) => x.i).sort((x, y) => x - y);
  return { validation: byIndex(hashed.slice(0, size)), train: byIndex(hashed.slice(size)) };
}

export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

const SIDES = ['text', 'image', 'audio'] as const;

/**
 * Pairs as JSON Lines: each line holds two of `text`, `image`, `audio` (media paths relative to the file),
 * e.g. `{"text": "a red apple", "image": "apple.png"}`; text is the query side when present.
 */
export async function readPairs(path: string): Promise<Pair[]> {
  const text = await readUserFile(path, 'pairs file');
  const pairs: Pair[] = [];
  for (const { where, row } of jsonLines(text, path)) {
    const sides = SIDES.filter((s) => typeof row[s] === 'string' && row[s]);
    if (sides.length !== 2)
      throw xmodalError('BAD_INPUT', `${where}: needs exactly two of "text", "image", "audio"`);
    const [a, b] = sides.map(
      (s): Input =>
        s === 'text'
          ? { modality: 'text', text: row[s] as string }
          : { modality: s, source: resolve(dirname(path), row[s] as string) },
    );
    pairs.push({ a, b });
  }
  return pairs;
}
