import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Matrix, SingularValueDecomposition, solve } from 'ml-matrix';
import type { Encoder, EncoderOptions } from '../encoders/encoder.js';
import {
  BUNDLE_FILE,
  type BundleManifest,
  loadEncoder,
  locateModel,
  partNames,
  partSpec,
  readBundleManifest,
} from '../encoders/load.js';
import {
  hiddenOf,
  linearMap,
  type MapAdapter,
  mapRow,
  mapRowRaw,
  saveMapAdapter,
} from '../encoders/map-adapter.js';
import { dot } from '../encoders/vectors.js';
import { xmodalError } from '../errors.js';
import { splitPairs } from './adapt.js';
import { contrastiveGradient } from './adapt-loss.js';
import { Adam, Params } from './adapt-params.js';
import { mulberry32, shuffle } from './random.js';

/**
 * `procrustes` is the orthogonal Procrustes solution; the others are trained with symmetric InfoNCE from a
 * closed-form start: `orthogonal` from Procrustes and stays a rotation (every cosine within the part is kept, so
 * a modality text never reaches, such as audio, moves rigidly); `linear` (any linear map) and `mlp` (plus a
 * tanh layer) from the least-squares map.
 */
export const BIND_MAPS = ['orthogonal', 'linear', 'mlp', 'procrustes'] as const;
export type BindMap = (typeof BIND_MAPS)[number];

export interface BindOptions {
  /** Default `orthogonal`. */
  map?: BindMap;
  /** Units of the `mlp` map's tanh layer. Default 256. */
  hidden?: number;
  /** Share of the texts never trained on, for the held-out recall. Default 0.1. */
  heldout?: number;
  /** Share of the training texts for early stopping. Default 0.1. */
  validation?: number;
  /** Most passes over the training texts. Default 10. */
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** L2 pull of the linear map towards its start and of the tanh layer's output towards zero. Default 0.1. */
  weightDecay?: number;
  /** Stop after this many epochs without a better validation loss. Default 3. */
  patience?: number;
  seed?: number;
  onEpoch?: (progress: {
    epoch: number;
    trainLoss: number;
    validationLoss: number;
    validationRecall: number;
  }) => void;
}

export interface TextRecall {
  'recall@1': number;
  'recall@10': number;
}

export interface BindReport {
  from: string;
  to: string;
  map: BindMap;
  texts: { train: number; validation: number; heldout: number };
  /** Text → text among the held-out texts: the mapped FROM text must find its own TO text. */
  heldout: {
    /** Without a map (only when both spaces have one size): how far apart the spaces are. */
    unmapped?: TextRecall;
    procrustes: TextRecall;
    map: TextRecall;
  };
  epochs: number;
  bestEpoch: number;
  seconds: number;
}

const MAX_LOGIT_SCALE = 100;
const MAX_TEXTS = 200_000;

/**
 * The orthogonal map W (rows: TO, columns: FROM) minimising Σ‖W x − y‖² over the pairs: W = U Vᵀ from the SVD
 * of Σ y xᵀ. A rotation between spaces of one size; a semi-orthogonal map between sizes.
 */
export function procrustes(x: readonly Float32Array[], y: readonly Float32Array[]): Float32Array {
  const cross: number[][] = Array.from({ length: y[0].length }, () => new Array(x[0].length).fill(0));
  for (let i = 0; i < x.length; i++)
    for (let r = 0; r < y[i].length; r++) {
      const row = cross[r];
      for (let c = 0; c < x[i].length; c++) row[c] += y[i][r] * x[i][c];
    }
  const svd = new SingularValueDecomposition(new Matrix(cross), { autoTranspose: true });
  const w = svd.leftSingularVectors.mmul(svd.rightSingularVectors.transpose());
  return Float32Array.from(w.to1DArray());
}

/**
 * The linear map W (rows: TO, columns: FROM) minimising Σ‖W x − y‖² + ridge · n · ‖W‖²: Wᵀ solves
 * (Σ x xᵀ + ridge · n · I) Wᵀ = Σ x yᵀ. Unlike Procrustes it can undo a stretch.
 */
export function leastSquares(
  x: readonly Float32Array[],
  y: readonly Float32Array[],
  ridge = 1e-3,
): Float32Array {
  const inDim = x[0].length;
  const outDim = y[0].length;
  const gram: number[][] = Array.from({ length: inDim }, (_, r) =>
    Array.from({ length: inDim }, (_, c) => (r === c ? ridge * x.length : 0)),
  );
  const cross: number[][] = Array.from({ length: inDim }, () => new Array(outDim).fill(0));
  for (let i = 0; i < x.length; i++)
    for (let r = 0; r < inDim; r++) {
      const xr = x[i][r];
      for (let c = 0; c < inDim; c++) gram[r][c] += xr * x[i][c];
      for (let c = 0; c < outDim; c++) cross[r][c] += xr * y[i][c];
    }
  return Float32Array.from(solve(new Matrix(gram), new Matrix(cross)).transpose().to1DArray());
}

/** Text → text recall: each mapped query against every target; a hit is the query's own target. */
export function textRecall(queries: readonly Float32Array[], targets: readonly Float32Array[]): TextRecall {
  let at1 = 0;
  let at10 = 0;
  queries.forEach((q, i) => {
    const own = dot(q, targets[i]);
    let rank = 0;
    for (const t of targets) if (dot(q, t) > own) rank++;
    if (rank === 0) at1++;
    if (rank < 10) at10++;
  });
  return { 'recall@1': at1 / queries.length, 'recall@10': at10 / queries.length };
}

/**
 * Moves a near-orthogonal rows × cols matrix (in place) onto the nearest (semi-)orthogonal one, by Newton–Schulz
 * steps X ← 1.5 X − 0.5 X XᵀX: cheap matrix products instead of an SVD after every optimiser step.
 */
export function orthogonalise(w: Float32Array, rows: number, cols: number, steps = 2): void {
  const gram = new Float64Array(cols * cols);
  for (let step = 0; step < steps; step++) {
    gram.fill(0);
    for (let r = 0; r < rows; r++)
      for (let a = 0, o = r * cols; a < cols; a++) {
        const wa = w[o + a];
        for (let b = 0; b < cols; b++) gram[a * cols + b] += wa * w[o + b];
      }
    const row = new Float64Array(cols);
    for (let r = 0, o = 0; r < rows; r++, o += cols) {
      row.fill(0);
      for (let a = 0; a < cols; a++) {
        const wa = w[o + a];
        for (let b = 0; b < cols; b++) row[b] += wa * gram[a * cols + b];
      }
      for (let c = 0; c < cols; c++) w[o + c] = 1.5 * w[o + c] - 0.5 * row[c];
    }
  }
}

interface Layers {
  linear: Float32Array;
  bias: Float32Array;
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
}

/** The map whose weights are the params' arrays (shared, not copied). */
function viewOf(params: Params, shape: { inDim: number; outDim: number; hidden: number }): MapAdapter {
  const a = Object.fromEntries(params.matrices) as unknown as Layers;
  return { model: '', ...shape, ...a };
}

/** Symmetric InfoNCE of one batch (each FROM text's positive is its own TO text); adds its gradient to `grads`. */
function batchLoss(
  x: readonly Float32Array[],
  y: readonly Float32Array[],
  batch: readonly number[],
  params: Params,
  shape: { inDim: number; outDim: number; hidden: number },
  grads?: Params,
): number {
  const n = batch.length;
  const map = viewOf(params, shape);
  const rows = batch.map((i) => {
    const h = hiddenOf(map, x[i]);
    const z = mapRowRaw(map, x[i], h);
    const norm = Math.sqrt(dot(z, z)) || 1;
    for (let d = 0; d < z.length; d++) z[d] /= norm;
    return { h, u: z, norm };
  });
  const scale = Math.exp(params.logScale);
  const logits = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) logits[i * n + j] = scale * dot(rows[i].u, y[batch[j]]);
  const { loss, g } = contrastiveGradient(logits, n, (i, j) => i === j);
  if (!grads) return loss;
  for (let k = 0; k < n * n; k++) grads.logScale += g[k] * logits[k];
  const gl = grads.matrices.get('linear')!;
  const gb = grads.matrices.get('bias')!;
  const gw1 = grads.matrices.get('w1')!;
  const gb1 = grads.matrices.get('b1')!;
  const gw2 = grads.matrices.get('w2')!;
  const { inDim, outDim, hidden } = shape;
  for (let i = 0; i < n; i++) {
    const { h, u, norm } = rows[i];
    const xi = x[batch[i]];
    // dLoss/du: every logit of row i and column i involves u_i (the TO side is fixed).
    const gu = new Float64Array(outDim);
    for (let j = 0; j < n; j++) {
      const gij = g[i * n + j] * scale;
      const yj = y[batch[j]];
      for (let d = 0; d < outDim; d++) gu[d] += gij * yj[d];
    }
    let ug = 0;
    for (let d = 0; d < outDim; d++) ug += u[d] * gu[d];
    const dz = new Float64Array(outDim);
    for (let d = 0; d < outDim; d++) dz[d] = (gu[d] - u[d] * ug) / norm;
    const dh = new Float64Array(hidden);
    for (let r = 0; r < outDim; r++) {
      const dr = dz[r];
      gb[r] += dr;
      for (let c = 0, o = r * inDim; c < inDim; c++) gl[o + c] += dr * xi[c];
      for (let c = 0, o = r * hidden; c < hidden; c++) {
        gw2[o + c] += dr * h[c];
        dh[c] += dr * map.w2[o + c];
      }
    }
    for (let r = 0; r < hidden; r++) {
      const da = dh[r] * (1 - h[r] * h[r]);
      gb1[r] += da;
      for (let c = 0, o = r * inDim; c < inDim; c++) gw1[o + c] += da * xi[c];
    }
  }
  return loss;
}

function lossOf(
  x: readonly Float32Array[],
  y: readonly Float32Array[],
  rows: readonly number[],
  params: Params,
  shape: { inDim: number; outDim: number; hidden: number },
): number {
  let total = 0;
  for (let start = 0; start < rows.length; start += 512) {
    const batch = rows.slice(start, start + 512);
    total += batchLoss(x, y, batch, params, shape) * batch.length;
  }
  return total / rows.length;
}

/**
 * Learns a map from one text space (x) to another (y) from the same texts embedded by both: the orthogonal
 * Procrustes solution, then (for `linear` and `mlp`) symmetric InfoNCE from there with Adam and early stopping
 * on a stable validation split. Held-out texts (a stable share, never trained on) measure text → text recall.
 */
export function fitBridge(
  texts: readonly string[],
  x: readonly Float32Array[],
  y: readonly Float32Array[],
  options: BindOptions = {},
): { map: Omit<MapAdapter, 'model'>; report: Omit<BindReport, 'from' | 'to'> } {
  const started = performance.now();
  const kind = options.map ?? 'orthogonal';
  if (!BIND_MAPS.includes(kind))
    throw xmodalError('BAD_ARGUMENT', `map must be one of ${BIND_MAPS.join(', ')}`);
  const split = splitPairs(texts, options.heldout ?? 0.1);
  const heldout = split.validation;
  const inner = splitPairs(
    split.train.map((i) => texts[i]),
    options.validation ?? 0.1,
  );
  const train = inner.train.map((k) => split.train[k]);
  const validation = inner.validation.map((k) => split.train[k]);
  if (train.length < 20)
    throw xmodalError(
      'BAD_INPUT',
      `need at least 20 training texts after the held-out share, got ${train.length}`,
    );
  const inDim = x[0].length;
  const outDim = y[0].length;
  const hidden = kind === 'mlp' ? (options.hidden ?? 256) : 0;
  const shape = { inDim, outDim, hidden };

  const rotation = procrustes(
    train.map((i) => x[i]),
    train.map((i) => y[i]),
  );
  const initial =
    kind === 'linear' || kind === 'mlp'
      ? leastSquares(
          train.map((i) => x[i]),
          train.map((i) => y[i]),
        )
      : rotation;
  const random = mulberry32(options.seed ?? 1);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const params = Params.of(
    {
      linear: initial.slice(),
      bias: new Float32Array(outDim),
      w1: Float32Array.from({ length: hidden * inDim }, () => gaussian() / Math.sqrt(inDim)),
      b1: new Float32Array(hidden),
      w2: new Float32Array(outDim * hidden),
    },
    Math.log(Math.min(1 / 0.07, MAX_LOGIT_SCALE)),
  );
  // The kept epoch is the one whose map retrieves the validation texts best (ties: the earlier, less moved one).
  // Not the lowest loss: InfoNCE keeps falling by spreading the texts apart, turning the map where text never
  // goes; on xmodal-mini's rotated CLAP that cost 2 of 40 audio → image queries while text recall stood still.
  const recallOf = (p: Params) => {
    const view = viewOf(p, shape);
    return textRecall(
      validation.map((i) => mapRow(view, x[i])),
      validation.map((i) => y[i]),
    )['recall@1'];
  };
  let best = { recall: recallOf(params), epoch: 0, snapshot: params.copy() };
  let epoch = 0;
  if (kind !== 'procrustes') {
    const batchSize = options.batchSize ?? 256;
    const maxEpochs = options.epochs ?? 10;
    const patience = options.patience ?? 3;
    // Small steps: the start is already close (on xmodal-mini's rotated CLAP, 1e-3 lost 2 of 40 audio queries).
    const adam = new Adam(params, options.learningRate ?? 2e-5);
    const decay = kind === 'orthogonal' ? 0 : (options.weightDecay ?? 0.1);
    const linear = params.matrices.get('linear')!;
    for (epoch = 1; epoch <= maxEpochs; epoch++) {
      const order = shuffle([...train], random);
      let trainLoss = 0;
      let batches = 0;
      for (let start = 0; start < order.length; start += batchSize) {
        const batch = order.slice(start, start + batchSize);
        if (batch.length < 2) continue;
        const grads = params.zeros();
        trainLoss += batchLoss(x, y, batch, params, shape, grads);
        batches++;
        // Text alone pulls the map where text lives; the pull to the start keeps other modalities' vectors sane.
        const gl = grads.matrices.get('linear')!;
        for (let k = 0; k < linear.length; k++) gl[k] += 2 * decay * (linear[k] - initial[k]);
        const w2 = params.matrices.get('w2')!;
        const gw2 = grads.matrices.get('w2')!;
        for (let k = 0; k < w2.length; k++) gw2[k] += 2 * decay * w2[k];
        adam.update(params, grads);
        if (kind === 'orthogonal') orthogonalise(linear, outDim, inDim, 1);
        params.logScale = Math.min(params.logScale, Math.log(MAX_LOGIT_SCALE));
      }
      if (kind === 'orthogonal') orthogonalise(params.matrices.get('linear')!, outDim, inDim, 2);
      const validationRecall = recallOf(params);
      options.onEpoch?.({
        epoch,
        trainLoss: trainLoss / Math.max(1, batches),
        validationLoss: lossOf(x, y, validation, params, shape),
        validationRecall,
      });
      if (validationRecall > best.recall) best = { recall: validationRecall, epoch, snapshot: params.copy() };
      else if (epoch - best.epoch >= patience) break;
    }
    epoch = Math.min(epoch, maxEpochs);
  }
  const map = viewOf(best.snapshot, shape);
  const queries = heldout.map((i) => x[i]);
  const targets = heldout.map((i) => y[i]);
  const baseline = linearMap('', inDim, outDim, rotation);
  const report: Omit<BindReport, 'from' | 'to'> = {
    map: kind,
    texts: { train: train.length, validation: validation.length, heldout: heldout.length },
    heldout: {
      ...(inDim === outDim ? { unmapped: textRecall(queries, targets) } : {}),
      procrustes: textRecall(
        queries.map((q) => mapRow(baseline, q)),
        targets,
      ),
      map: textRecall(
        queries.map((q) => mapRow(map, q)),
        targets,
      ),
    },
    epochs: epoch,
    bestEpoch: best.epoch,
    seconds: (performance.now() - started) / 1000,
  };
  const { model: _, ...weights } = map;
  return { map: weights, report };
}

/** The distinct non-empty texts of the given lists, in first-seen order. */
export function corpusOf(lists: readonly (readonly string[])[]): string[] {
  const texts = [...new Set(lists.flat().map((t) => t.trim()))].filter(Boolean);
  if (texts.length > MAX_TEXTS)
    throw xmodalError('BAD_INPUT', `${texts.length} texts is more than bind takes (${MAX_TEXTS})`);
  return texts;
}

/**
 * `xmodal bind`: learns a map from part FROM's text space to part TO's over a text corpus and writes a new
 * bundle to `out`: TO as it is, FROM behind the map (an adapter folder), declared `"space": "bridged"` with
 * the report. The source bundle is any bundle folder; its other parts are left out.
 */
export async function bindBundle(
  model: string,
  parts: { from: string; to: string },
  texts: readonly string[],
  out: string,
  options: BindOptions & { encoder?: EncoderOptions } = {},
): Promise<BindReport & { bundle: string }> {
  const location = locateModel(model);
  const file = join(location.source, BUNDLE_FILE);
  if (!location.local || !existsSync(file))
    throw xmodalError(
      'BAD_ARGUMENT',
      `${model} is not a bundle folder (no ${BUNDLE_FILE}): bind joins its parts`,
    );
  const manifest = readBundleManifest(file);
  const names = partNames(manifest);
  const folderOf = (name: string, flag: string) => {
    const i = names.indexOf(name);
    if (i < 0)
      throw xmodalError('BAD_ARGUMENT', `${flag} ${name}: the bundle's parts are ${names.join(', ')}`);
    return partSpec(location.source, manifest.parts[i]);
  };
  if (parts.from === parts.to)
    throw xmodalError('BAD_ARGUMENT', '--from and --to must be two different parts');
  const fromFolder = folderOf(parts.from, '--from');
  const toFolder = folderOf(parts.to, '--to');
  const encoders: Encoder[] = [];
  try {
    for (const folder of [fromFolder, toFolder]) encoders.push(await loadEncoder(folder, options.encoder));
    const [from, to] = encoders;
    for (const [encoder, name] of [
      [from, parts.from],
      [to, parts.to],
    ] as const)
      if (!encoder.modalities.includes('text'))
        throw xmodalError('MODALITY_UNSUPPORTED', `part ${name} has no text tower: bind learns through text`);
    const x = await from.embedText(texts);
    const y = await to.embedText(texts);
    const { map, report } = fitBridge(texts, x, y, options);
    const full: BindReport = { from: parts.from, to: parts.to, ...report };
    const folder = resolve(out);
    mkdirSync(folder, { recursive: true });
    const bridgeName = `${parts.from}-to-${parts.to}`;
    saveMapAdapter(join(folder, bridgeName), { ...map, model: from.id, trained: { ...full } });
    const bundle: BundleManifest = {
      name: `${manifest.name ?? 'bundle'}-bridged`,
      space: 'bridged',
      parts: [toFolder, bridgeName],
      bridge: { ...full },
    };
    writeFileSync(join(folder, BUNDLE_FILE), `${JSON.stringify(bundle, null, 2)}\n`);
    return { ...full, bundle: folder };
  } finally {
    await Promise.all(encoders.map((e) => e.dispose()));
  }
}
