// Trains an adapter: embeds pairs once, then fits per-modality residual matrices on the frozen embeddings.
// The parts live beside it: adapt-params (state, Adam), adapt-loss (InfoNCE, retrieval), pairs (the file),
// random (PRNG), stable-order (the validation split's order).
import type { Adapter } from '../encoders/adapter.js';
import type { Encoder, Modality } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import {
  type EmbeddedPairs,
  lossOf,
  type RetrievalScores,
  retrieval,
  symmetricInfoNce,
} from './adapt-loss.js';
import { Adam, Params } from './adapt-params.js';
import { type DebiasPenalty, debiasPenalty } from './debias.js';
import { embedInputs, type Input } from './embed.js';
import type { Pair } from './pairs.js';
import { logitScaleOf } from './prompts.js';
import { mulberry32, shuffle } from './random.js';
import { hashOrder } from './stable-order.js';

export {
  adapterBackward,
  adapterForward,
  type EmbeddedPairs,
  type RetrievalScores,
  symmetricInfoNce,
} from './adapt-loss.js';
export { Params } from './adapt-params.js';
export { type Pair, readPairs } from './pairs.js';
export { mulberry32 } from './random.js';

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
  const ordered = hashOrder(
    keys.map((key, i) => ({ key, i })),
    (x) => x.key,
  );
  const size = Math.max(2, Math.round(keys.length * share));
  const byIndex = (list: { i: number }[]) => list.map((x) => x.i).sort((x, y) => x - y);
  return { validation: byIndex(ordered.slice(0, size)), train: byIndex(ordered.slice(size)) };
}
