import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { xmodalError } from '../errors.js';
import { ADAPTER_FILE, ADAPTER_WEIGHTS_FILE, adaptedSpec } from './adapter.js';
import type { Encoder, Modality, ModalityInputs } from './encoder.js';
import { l2normalize } from './vectors.js';
import { WrappedEncoder } from './wrapped-encoder.js';

const FORMAT = 'xmodal-adapter/1';

/**
 * A map of every vector a model returns into another space: `normalize(L x + b + W2 tanh(W1 x + b1))`, the
 * tanh layer only when `hidden > 0`. `xmodal bind` writes one to join a bundle part to another part's space.
 */
export interface MapAdapter {
  /** `Encoder.id` of the model it maps: it is refused on any other. */
  model: string;
  inDim: number;
  outDim: number;
  /** Row-major outDim × inDim. */
  linear: Float32Array;
  bias: Float32Array;
  /** Units of the tanh layer; 0 for a linear map. */
  hidden: number;
  /** hidden × inDim, hidden, outDim × hidden (empty when hidden is 0). */
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  /** Free-form record of how the map was made (corpus, held-out recall, baseline). */
  trained?: Record<string, unknown>;
  /** Digest of its weight file, set when loaded as a model: joins the base's weights in the encoder's spec. */
  weights?: string;
}

/** A linear map (no tanh layer) with zero bias. */
export function linearMap(model: string, inDim: number, outDim: number, linear: Float32Array): MapAdapter {
  return {
    model,
    inDim,
    outDim,
    linear,
    bias: new Float32Array(outDim),
    hidden: 0,
    w1: new Float32Array(0),
    b1: new Float32Array(0),
    w2: new Float32Array(0),
  };
}

/** The tanh layer's activations for one row (kept for training's backward pass). */
export function hiddenOf(map: MapAdapter, x: Float32Array): Float32Array {
  const h = new Float32Array(map.hidden);
  for (let r = 0; r < map.hidden; r++) {
    let sum = map.b1[r];
    for (let c = 0, o = r * map.inDim; c < map.inDim; c++) sum += map.w1[o + c] * x[c];
    h[r] = Math.tanh(sum);
  }
  return h;
}

/** `L x + b + W2 h` before normalising. */
export function mapRowRaw(map: MapAdapter, x: Float32Array, h = hiddenOf(map, x)): Float32Array {
  const out = new Float32Array(map.outDim);
  for (let r = 0; r < map.outDim; r++) {
    let sum = map.bias[r];
    for (let c = 0, o = r * map.inDim; c < map.inDim; c++) sum += map.linear[o + c] * x[c];
    for (let c = 0, o = r * map.hidden; c < map.hidden; c++) sum += map.w2[o + c] * h[c];
    out[r] = sum;
  }
  return out;
}

export function mapRow(map: MapAdapter, x: Float32Array): Float32Array {
  return l2normalize(mapRowRaw(map, x));
}

/** The base encoder with every row it returns mapped: a model in the map's output space. */
export class MappedEncoder extends WrappedEncoder {
  constructor(
    id: string,
    base: Encoder,
    readonly map: MapAdapter,
  ) {
    if (base.id !== map.model)
      throw xmodalError('ENCODER_MISMATCH', `${id} maps ${map.model}, not ${base.id}`);
    if (base.dim !== map.inDim)
      throw xmodalError(
        'DIMENSION_MISMATCH',
        `${id} maps ${map.inDim}-d vectors but ${base.id} is ${base.dim}-d`,
      );
    // Loading the map's folder rebuilds it, as an adapter folder does.
    super(base, { id, dim: map.outDim, spec: adaptedSpec(id, base, map.weights, { dim: map.outDim }) });
  }

  async embed<M extends Modality>(
    modality: M,
    inputs: readonly ModalityInputs[M][],
  ): Promise<Float32Array[]> {
    return (await this.inner.embed(modality, inputs)).map((x) => mapRow(this.map, x));
  }
}

interface MapManifest {
  format: string;
  kind: 'map';
  model: string;
  in_dim: number;
  out_dim: number;
  hidden: number;
  trained?: Record<string, unknown>;
}

const sizes = (m: { inDim: number; outDim: number; hidden: number }) => [
  m.outDim * m.inDim,
  m.outDim,
  m.hidden * m.inDim,
  m.hidden,
  m.outDim * m.hidden,
];

/** Writes `adapter.json` (kind "map") and `adapter.bin` (L, b, W1, b1, W2 as float32 LE) to a folder. */
export function saveMapAdapter(folder: string, map: MapAdapter): void {
  mkdirSync(folder, { recursive: true });
  const parts = [map.linear, map.bias, map.w1, map.b1, map.w2];
  const weights = new Float32Array(sizes(map).reduce((a, b) => a + b, 0));
  let offset = 0;
  for (const part of parts) {
    weights.set(part, offset);
    offset += part.length;
  }
  writeFileSync(join(folder, ADAPTER_WEIGHTS_FILE), new Uint8Array(weights.buffer));
  const manifest: MapManifest = {
    format: FORMAT,
    kind: 'map',
    model: map.model,
    in_dim: map.inDim,
    out_dim: map.outDim,
    hidden: map.hidden,
    trained: map.trained,
  };
  writeFileSync(join(folder, ADAPTER_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** The folder's map adapter, or undefined when its adapter is of another kind. */
export function readMapAdapter(folder: string): MapAdapter | undefined {
  let manifest: MapManifest;
  try {
    manifest = JSON.parse(readFileSync(join(folder, ADAPTER_FILE), 'utf8'));
  } catch (error) {
    throw xmodalError('MODEL_INVALID', `${folder}: ${ADAPTER_FILE} is missing or not valid JSON`, error);
  }
  if (manifest.kind !== 'map') return undefined;
  const shape = { inDim: manifest.in_dim, outDim: manifest.out_dim, hidden: manifest.hidden };
  if (manifest.format !== FORMAT || ![shape.inDim, shape.outDim, shape.hidden].every(Number.isInteger))
    throw xmodalError('MODEL_INVALID', `${folder}: not an ${FORMAT} map adapter`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(folder, ADAPTER_WEIGHTS_FILE));
  } catch (error) {
    throw xmodalError('MODEL_INVALID', `${folder}: no ${ADAPTER_WEIGHTS_FILE}`, error);
  }
  const lengths = sizes(shape);
  if (bytes.byteLength !== lengths.reduce((a, b) => a + b, 0) * 4)
    throw xmodalError('MODEL_INVALID', `${folder}: ${ADAPTER_WEIGHTS_FILE} does not match the map's shape`);
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const starts = lengths.map((_, i) => lengths.slice(0, i).reduce((a, b) => a + b, 0));
  const [linear, bias, w1, b1, w2] = lengths.map((n, i) => all.slice(starts[i], starts[i] + n));
  return { model: manifest.model, ...shape, linear, bias, w1, b1, w2, trained: manifest.trained };
}
