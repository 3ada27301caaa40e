// The library's model-level calls: which model, which inputs, and the embed / similarity / models commands.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readAdapter } from '../encoders/adapter.js';
import type { Dtype, Encoder, Modality } from '../encoders/encoder.js';
import {
  DEFAULT_MODEL,
  defaultCacheDir,
  loadEncoder,
  locateModel,
  modelId,
  SHIPPED_MODELS_DIR,
} from '../encoders/load.js';
import { knownFamilies } from '../encoders/registry.js';
import { dot } from '../encoders/vectors.js';
import { xmodalError } from '../errors.js';
import { embedInputs, type Input, parseInput } from '../tasks/embed.js';

/** Which model a call uses: the CLI's `--model`, `--dtype`, `--offline`, `--cache-dir` and `--adapter`. */
export interface ModelOptions {
  /**
   * A shipped model name (default `xmodal-mini`, or `XMODAL_MODEL`), a local folder, a hub id, or an encoder
   * you loaded with `loadModel` (reused across calls and left open).
   */
  model?: string | Encoder;
  dtype?: Dtype;
  /** Never download: hub ids must already be cached (also `XMODAL_OFFLINE=1`). */
  offline?: boolean;
  /** Where hub downloads are cached (also `XMODAL_CACHE`). */
  cacheDir?: string;
  /** An adapter folder written by `adapt`, applied on top of its model. */
  adapter?: string;
}

/**
 * One input: a string is read the way the CLI reads an argument (`text:`, `image:`, `audio:` prefixes say it
 * outright; an existing file is an image or audio by its content; anything else is text). Objects say it:
 * `{text}`, or `{image}` / `{audio}` with a path or the file's bytes.
 */
export type InputLike =
  | string
  | { text: string }
  | { image: string | Uint8Array }
  | { audio: string | Uint8Array };

/** Resolves an {@link InputLike} to the tasks' input form. */
export async function toInput(input: InputLike): Promise<Input> {
  if (typeof input === 'string') return parseInput(input);
  if ('text' in input && typeof input.text === 'string') return { modality: 'text', text: input.text };
  if ('image' in input && input.image !== undefined) return { modality: 'image', source: input.image };
  if ('audio' in input && input.audio !== undefined) return { modality: 'audio', source: input.audio };
  throw xmodalError('BAD_ARGUMENT', 'an input is a string, {text}, {image} or {audio}');
}

/** The model spec the options name: `adapter` selects the adapter folder, checked against `model` when both are given. */
export function modelSpec(options: ModelOptions): string | undefined {
  const model = typeof options.model === 'string' ? options.model : undefined;
  if (!options.adapter) return model;
  const folder = resolve(options.adapter);
  const base = readAdapter(folder).model;
  if (model && modelId(locateModel(model)) !== base)
    throw xmodalError('ENCODER_MISMATCH', `adapter ${options.adapter} was trained on ${base}, not ${model}`);
  return folder;
}

/** Loads a model once to pass as `model` to many calls; `dispose()` it when done. */
export function loadModel(options: ModelOptions = {}): Promise<Encoder> {
  if (typeof options.model === 'object') return Promise.resolve(options.model);
  return loadEncoder(modelSpec(options), {
    dtype: options.dtype,
    offline: options.offline,
    cacheDir: options.cacheDir,
  });
}

/** Runs `work` with the model the options name, disposing it afterwards unless the caller passed it in. */
export async function withModel<T>(
  options: ModelOptions,
  work: (encoder: Encoder) => Promise<T>,
): Promise<T> {
  const encoder = await loadModel(options);
  try {
    return await work(encoder);
  } finally {
    if (encoder !== options.model) await encoder.dispose();
  }
}

/** `xmodal embed --json`: one row per input. */
export interface EmbedResult {
  model: string;
  dim: number;
  embeddings: { input: string; modality: Modality; embedding: number[] }[];
}

function labelOf(input: InputLike, resolved: Input): string {
  if (typeof input === 'string') return input;
  if (resolved.modality === 'text') return resolved.text;
  return typeof resolved.source === 'string' ? resolved.source : `<${resolved.source.byteLength} bytes>`;
}

/** Embeds texts, images and audio clips of any mix (`xmodal embed`); every vector is L2-normalised. */
export async function embed(inputs: readonly InputLike[], options: ModelOptions = {}): Promise<EmbedResult> {
  if (inputs.length === 0)
    throw xmodalError('BAD_ARGUMENT', 'nothing to embed: give a text, an image or an audio clip');
  const resolved = await Promise.all(inputs.map(toInput));
  return withModel(options, async (encoder) => {
    const vectors = await embedInputs(encoder, resolved);
    return {
      model: encoder.id,
      dim: encoder.dim,
      embeddings: resolved.map((input, i) => ({
        input: labelOf(inputs[i], input),
        modality: input.modality,
        embedding: Array.from(vectors[i]),
      })),
    };
  });
}

/** `xmodal similarity --json`. */
export interface SimilarityResult {
  model: string;
  a: Modality;
  b: Modality;
  /** Cosine similarity. */
  similarity: number;
}

/** Cosine similarity of two inputs of any modalities (`xmodal similarity`). */
export async function similarity(
  a: InputLike,
  b: InputLike,
  options: ModelOptions = {},
): Promise<SimilarityResult> {
  const [inputA, inputB] = await Promise.all([toInput(a), toInput(b)]);
  return withModel(options, async (encoder) => {
    const [va, vb] = await embedInputs(encoder, [inputA, inputB]);
    return { model: encoder.id, a: inputA.modality, b: inputB.modality, similarity: dot(va, vb) };
  });
}

/** `xmodal models --json`. */
export interface ModelsResult {
  families: ReturnType<typeof knownFamilies>;
  shipped: string[];
  cached: string[];
  cacheDir: string;
  default: string;
}

function folders(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
    : [];
}

/** The supported families and the models usable without a download (`xmodal models`). */
export function listModels(options: { cacheDir?: string } = {}): ModelsResult {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  // Hub downloads are cached as <cache>/<owner>/<name>/.
  const cached = folders(cacheDir).flatMap((owner) =>
    folders(join(cacheDir, owner)).map((name) => `${owner}/${name}`),
  );
  return {
    families: knownFamilies(),
    shipped: folders(SHIPPED_MODELS_DIR),
    cached,
    cacheDir,
    default: DEFAULT_MODEL,
  };
}
