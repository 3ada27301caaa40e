import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { xmodalError } from '../errors.js';
import { l2normalize } from '../vectors.js';
import type { Encoder, EncoderSpec, Modality, ModalityInputs } from './encoder.js';
import { combinedWeights } from './weights.js';
import { WrappedEncoder } from './wrapped-encoder.js';

export const ADAPTER_FILE = 'adapter.json';
/** The matrices of an adapter or a map, beside its `adapter.json`. */
export const ADAPTER_WEIGHTS_FILE = 'adapter.bin';
const FORMAT = 'xmodal-adapter/1';

/**
 * A residual linear map per modality on frozen embeddings: `normalize(x + W x)`. A modality without a
 * matrix passes through unchanged; an all-zero matrix is the identity.
 */
export interface Adapter {
  /** `Encoder.id` of the model the adapter was trained on: it is refused on any other. */
  model: string;
  dim: number;
  /** Row-major dim × dim matrices. */
  matrices: Partial<Record<Modality, Float32Array>>;
  /** The trained softmax scale (exp of the learnt temperature's log). */
  logitScale: number;
  /** Free-form training record (data, epochs, losses, recalls). */
  trained?: Record<string, unknown>;
  /** Digest of its weight file, set when loaded as a model: joins the base's weights in the encoder's spec. */
  weights?: string;
}

/** An adapter's or map's spec: its base's, named by its folder, with its own weights joined to the base's. */
export function adaptedSpec(
  id: string,
  base: Encoder,
  weights: string | undefined,
  own: Partial<EncoderSpec>,
): EncoderSpec {
  const { weights: _base, ...spec } = base.spec;
  const joined = combinedWeights([
    { name: 'base', weights: base.spec.weights },
    { name: 'adapter', weights },
  ]);
  return { ...spec, adapter: id, ...own, ...(joined === undefined ? {} : { weights: joined }) };
}

/** `normalize(x + W x)` for one row; `out` may be a fresh array. */
export function adaptRow(matrix: Float32Array, x: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(dim);
  for (let r = 0; r < dim; r++) {
    let sum = x[r];
    const offset = r * dim;
    for (let c = 0; c < dim; c++) sum += matrix[offset + c] * x[c];
    out[r] = sum;
  }
  return l2normalize(out);
}

export function adaptRows(
  adapter: Adapter,
  modality: Modality,
  rows: readonly Float32Array[],
): Float32Array[] {
  const matrix = adapter.matrices[modality];
  return matrix ? rows.map((x) => adaptRow(matrix, x, adapter.dim)) : [...rows];
}

/** The base encoder with the adapter applied to every row it returns; its id is the adapter's folder. */
export class AdaptedEncoder extends WrappedEncoder {
  /** `logitScale` overrides the adapter's trained one (a collection's saved spec gives it). */
  constructor(
    id: string,
    base: Encoder,
    readonly adapter: Adapter,
    logitScale?: number,
  ) {
    if (base.id !== adapter.model)
      throw xmodalError('ENCODER_MISMATCH', `${id} adapts ${adapter.model}, not ${base.id}`);
    if (base.dim !== adapter.dim)
      throw xmodalError('DIMENSION_MISMATCH', `${id} is ${adapter.dim}-d but ${base.id} is ${base.dim}-d`);
    super(base, {
      id,
      spec: adaptedSpec(id, base, adapter.weights, { logitScale: logitScale ?? adapter.logitScale }),
    });
  }

  async embed<M extends Modality>(
    modality: M,
    inputs: readonly ModalityInputs[M][],
  ): Promise<Float32Array[]> {
    return adaptRows(this.adapter, modality, await this.inner.embed(modality, inputs));
  }
}

interface AdapterManifest {
  format: string;
  model: string;
  dim: number;
  kind: 'residual-linear';
  modalities: Modality[];
  logit_scale: number;
  trained?: Record<string, unknown>;
}

/** Writes `adapter.json` (which model, what shape) and `adapter.bin` (the matrices, float32 LE) to a folder. */
export function saveAdapter(folder: string, adapter: Adapter): void {
  mkdirSync(folder, { recursive: true });
  const modalities = (Object.keys(adapter.matrices) as Modality[]).sort();
  const weights = new Float32Array(modalities.length * adapter.dim * adapter.dim);
  for (const [i, m] of modalities.entries()) weights.set(adapter.matrices[m]!, i * adapter.dim * adapter.dim);
  writeFileSync(join(folder, ADAPTER_WEIGHTS_FILE), new Uint8Array(weights.buffer));
  const manifest: AdapterManifest = {
    format: FORMAT,
    model: adapter.model,
    dim: adapter.dim,
    kind: 'residual-linear',
    modalities,
    logit_scale: adapter.logitScale,
    trained: adapter.trained,
  };
  writeFileSync(join(folder, ADAPTER_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

export function isAdapterFolder(folder: string): boolean {
  return existsSync(join(folder, ADAPTER_FILE));
}

export function readAdapter(folder: string): Adapter {
  let manifest: AdapterManifest;
  try {
    manifest = JSON.parse(readFileSync(join(folder, ADAPTER_FILE), 'utf8'));
  } catch (error) {
    throw xmodalError('MODEL_INVALID', `${folder}: ${ADAPTER_FILE} is missing or not valid JSON`, error);
  }
  if (manifest.format !== FORMAT || manifest.kind !== 'residual-linear' || !Number.isInteger(manifest.dim))
    throw xmodalError('MODEL_INVALID', `${folder}: not an ${FORMAT} residual-linear adapter`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(folder, ADAPTER_WEIGHTS_FILE));
  } catch (error) {
    throw xmodalError('MODEL_INVALID', `${folder}: no ${ADAPTER_WEIGHTS_FILE}`, error);
  }
  const size = manifest.dim * manifest.dim;
  if (bytes.byteLength !== manifest.modalities.length * size * 4)
    throw xmodalError(
      'MODEL_INVALID',
      `${folder}: ${ADAPTER_WEIGHTS_FILE} does not hold ${manifest.modalities.length} ${manifest.dim}×${manifest.dim} matrices`,
    );
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const matrices: Partial<Record<Modality, Float32Array>> = {};
  manifest.modalities.forEach((m, i) => {
    matrices[m] = all.slice(i * size, (i + 1) * size);
  });
  return {
    model: manifest.model,
    dim: manifest.dim,
    matrices,
    logitScale: manifest.logit_scale,
    trained: manifest.trained,
  };
}
