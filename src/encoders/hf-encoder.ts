import { AutoFeatureExtractor, AutoImageProcessor, AutoTokenizer, Tensor } from '@huggingface/transformers';
import { errorMessage, XmodalError, xmodalError } from '../errors.js';
import type { AudioInput } from '../media/audio.js';
import {
  type ImageInput,
  type ImageLimits,
  type ImagePreprocessing,
  imagePreprocessingFromConfig,
  inputSize,
  preprocessImage,
} from '../media/image.js';
import { chunk, meanDirection, normalizedRows } from '../vectors.js';
import { AudioFeaturePool } from './audio-features.js';
import { type Dtype, EncoderBase, type EncoderSpec, type Modality, type ModalityInputs } from './encoder.js';
import type { Family, ModelConfig, Tower } from './registry.js';

// biome-ignore lint/suspicious/noExplicitAny: transformers.js models, tokenizers and extractors are untyped JS.
type Loose = any;

export interface HfEncoderSettings {
  id: string;
  /** Absolute folder path or hub id, as transformers.js takes it. */
  source: string;
  family: Family;
  config: ModelConfig;
  dim: number;
  dtype: Dtype;
  logitScale: number;
  /** What the weight files it loads digest to (see `weights.ts`); undefined when not known. */
  weights?: string;
  /** Digests the weight files again (a local model): each tower checks it before it loads, see `tower`. */
  currentWeights?: () => Promise<string>;
  batchSize: number;
  imageLimits?: ImageLimits;
  /** Worker threads preparing audio clips; default: one per core, at most 4. */
  audioWorkers?: number;
  /** transformers.js loading options shared by every file (cache, progress, local-only). */
  loadOptions: Record<string, unknown>;
}

/** One Hugging Face model folder of any registered family; towers load on first use. */
export class HfEncoder extends EncoderBase {
  readonly id: string;
  readonly dim: number;
  readonly modalities: readonly Modality[];
  readonly spec: EncoderSpec;
  private readonly settings: HfEncoderSettings;
  private readonly loaded = new Map<string, Promise<Loose>>();
  private pool: AudioFeaturePool | undefined;

  constructor(settings: HfEncoderSettings) {
    super();
    this.settings = settings;
    this.id = settings.id;
    this.dim = settings.dim;
    this.modalities = Object.keys(settings.family.towers) as Modality[];
    this.spec = {
      model: settings.id,
      dtype: settings.dtype,
      logitScale: settings.logitScale,
      dim: settings.dim,
      ...(settings.weights === undefined ? {} : { weights: settings.weights }),
    };
  }

  /** Each modality's rows come from its own path: tokenizer, image preprocessing, or audio windows. */
  embed<M extends Modality>(modality: M, inputs: readonly ModalityInputs[M][]): Promise<Float32Array[]> {
    const rows: { [K in Modality]: (inputs: readonly ModalityInputs[K][]) => Promise<Float32Array[]> } = {
      text: (texts) => this.textRows(texts),
      image: (images) => this.imageRows(images),
      audio: (clips) => this.audioRows(clips),
    };
    return rows[modality](inputs);
  }

  /** Loads a part of the model once; a failed load is not cached, so a later call can retry. */
  private once<T>(key: string, what: string, load: () => Promise<T>): Promise<T> {
    let pending = this.loaded.get(key);
    if (!pending) {
      pending = load().catch((error) => {
        this.loaded.delete(key);
        if (error instanceof XmodalError && error.code === 'ENCODER_MISMATCH') throw error;
        throw xmodalError('MODEL_INVALID', `${this.id}: cannot load ${what} (${firstLine(error)})`, error);
      });
      this.loaded.set(key, pending);
    }
    return pending;
  }

  /** Loads every part now (downloading a hub model whole), instead of each on first use. */
  async loadAll(): Promise<void> {
    const towers = Object.keys(this.settings.family.towers) as Modality[];
    await Promise.all([
      ...towers.map((modality) => this.tower(modality)),
      towers.includes('text') ? this.tokenizer() : undefined,
      towers.includes('image') ? this.imagePreprocessing() : undefined,
      towers.includes('audio') ? this.audioFeatures() : undefined,
    ]);
  }

  private tower(modality: Modality): Promise<Loose> {
    const tower: Tower | undefined = this.settings.family.towers[modality];
    if (!tower) throw xmodalError('MODALITY_UNSUPPORTED', `${this.id} does not embed ${modality}`);
    const { source, dtype, loadOptions } = this.settings;
    return this.once(`model:${modality}`, `the ${modality} model`, async () => {
      await this.checkWeightsUnchanged(modality);
      return tower.modelClass.from_pretrained(source, { ...loadOptions, dtype, device: 'cpu' });
    });
  }

  /**
   * Towers load on first use, perhaps long after the model was (a server running through an upgrade): a tower
   * whose files changed since would embed with other weights than the collection's stamp says. Unchanged files
   * cost a stat each (their digests are kept per file).
   */
  private async checkWeightsUnchanged(modality: Modality): Promise<void> {
    const { weights, currentWeights } = this.settings;
    if (weights === undefined || !currentWeights) return;
    const now = await currentWeights();
    if (now !== weights)
      throw xmodalError(
        'ENCODER_MISMATCH',
        `${this.id}: its files changed after it was loaded (weights ${weights}, now ${now}); its ${modality} model would embed with other weights than its collection's: load the model again (restart)`,
      );
  }

  private tokenizer(): Promise<Loose> {
    const { source, loadOptions } = this.settings;
    return this.once('tokenizer', 'the tokenizer', () => AutoTokenizer.from_pretrained(source, loadOptions));
  }

  private imagePreprocessing(): Promise<ImagePreprocessing> {
    const { source, loadOptions } = this.settings;
    return this.once('image-preprocessing', 'preprocessor_config.json', async () =>
      imagePreprocessingFromConfig((await AutoImageProcessor.from_pretrained(source, loadOptions)).config),
    );
  }

  private audioFeatures(): Promise<Loose> {
    const { source, loadOptions } = this.settings;
    return this.once('audio-features', 'the audio feature extractor', () =>
      AutoFeatureExtractor.from_pretrained(source, loadOptions),
    );
  }

  private async run(
    modality: Modality,
    inputs: Record<string, Tensor>,
    rows: number,
  ): Promise<Float32Array[]> {
    const model = await this.tower(modality);
    const output = await model(inputs);
    const key = this.settings.family.towers[modality]!.outputs.find((name) => output[name] !== undefined);
    if (!key)
      throw xmodalError('MODEL_INVALID', `${this.id}: the ${modality} model returned no embedding output`);
    const tensor: Tensor = output[key];
    return normalizedRows(tensor.data as Float32Array, rows, tensor.dims.at(-1) as number);
  }

  private async textRows(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const tokenizer = await this.tokenizer();
    const maxLength = textMaxLength(this.settings.config, tokenizer);
    const out: Float32Array[] = [];
    for (const batch of chunk(texts, this.settings.batchSize)) {
      const encoded = tokenizer(
        batch.map((text) => cutForTokens(text, maxLength)),
        {
          padding: this.settings.family.padTextToMaxLength ? 'max_length' : true,
          truncation: true,
          max_length: maxLength,
        },
      );
      if (this.settings.family.poolsAtEndOfText) keepEndOfText(encoded, tokenizer.eos_token_id);
      out.push(...(await this.run('text', encoded, batch.length)));
    }
    return out;
  }

  private async imageRows(inputs: readonly ImageInput[]): Promise<Float32Array[]> {
    if (inputs.length === 0) return [];
    await this.tower('image');
    const preprocessing = await this.imagePreprocessing();
    const { height, width } = inputSize(preprocessing);
    const batches = chunk(inputs, this.settings.batchSize);
    const decodeBatch = (batch: readonly ImageInput[]) =>
      Promise.all(batch.map((input) => preprocessImage(input, preprocessing, this.settings.imageLimits)));
    const out: Float32Array[] = [];
    // Decode the next batch (libvips threads) while the model runs the current one.
    let next = decodeBatch(batches[0]);
    for (let b = 0; b < batches.length; b++) {
      const pixels = await next;
      if (b + 1 < batches.length) {
        next = decodeBatch(batches[b + 1]);
        next.catch(() => {});
      }
      const stacked = new Float32Array(pixels.length * 3 * height * width);
      for (const [i, p] of pixels.entries()) stacked.set(p, i * p.length);
      const tensor = new Tensor('float32', stacked, [pixels.length, 3, height, width]);
      out.push(...(await this.run('image', { pixel_values: tensor }, pixels.length)));
    }
    return out;
  }

  private audioPool(): AudioFeaturePool {
    if (!this.pool) {
      // Functions cannot cross into a worker; the progress callback only matters for the first download anyway.
      const { progress_callback: _, ...loadOptions } = this.settings.loadOptions;
      this.pool = new AudioFeaturePool(this.settings.source, loadOptions, this.settings.audioWorkers);
    }
    return this.pool;
  }

  async audioSampleRate(): Promise<number> {
    return (await this.audioFeatures()).config.sampling_rate;
  }

  private async audioRows(inputs: readonly AudioInput[]): Promise<Float32Array[]> {
    if (inputs.length === 0) return [];
    await this.tower('audio');
    await this.audioFeatures(); // fail here, once, if the model has no usable feature extractor
    const pool = this.audioPool();
    const batches = chunk(inputs, this.settings.batchSize);
    const prepare = (batch: readonly AudioInput[]) => {
      const pending = Promise.all(batch.map((input) => pool.features(input)));
      pending.catch(() => {});
      return pending;
    };
    const out: Float32Array[] = [];
    // Workers prepare the next batch of clips while the model runs this one.
    let next = prepare(batches[0]);
    for (let b = 0; b < batches.length; b++) {
      const windowsPerClip = await next;
      if (b + 1 < batches.length) next = prepare(batches[b + 1]);
      // Every window of every clip goes through the model; each clip's embedding is its windows' weighted mean.
      const windows = windowsPerClip.flat();
      const rows: Float32Array[] = [];
      for (const group of chunk(windows, this.settings.batchSize)) {
        const data = new Float32Array(group.reduce((n, w) => n + w.data.length, 0));
        let offset = 0;
        for (const w of group) {
          data.set(w.data, offset);
          offset += w.data.length;
        }
        const tensor = new Tensor('float32', data, [group.length, ...group[0].dims.slice(1)]);
        rows.push(...(await this.run('audio', { input_features: tensor }, group.length)));
      }
      let first = 0;
      for (const clip of windowsPerClip) {
        const weights = clip.map((w) => w.weight);
        out.push(meanDirection(rows.slice(first, first + clip.length), weights));
        first += clip.length;
      }
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.pool?.close();
    this.pool = undefined;
    const models = [...this.loaded.entries()].filter(([key]) => key.startsWith('model:'));
    this.loaded.clear();
    for (const [, pending] of models) {
      const model = await pending.catch(() => undefined);
      await model?.dispose?.();
    }
  }
}

/** More characters than any tokenizer here needs for one token (their longest pieces are 9 to 17 characters). */
const CHARS_PER_TOKEN = 32;

/**
 * Only the first `maxLength` tokens of a text count, so only a prefix that surely holds them is tokenized:
 * tokenizing costs about 1 µs a character on the event loop, 9 s for a 10 MB text.
 */
export function cutForTokens(text: string, maxLength: number): string {
  return text.length > maxLength * CHARS_PER_TOKEN ? text.slice(0, maxLength * CHARS_PER_TOKEN) : text;
}

function textMaxLength(config: ModelConfig, tokenizer: Loose): number {
  const fromConfig = config.text_config?.max_position_embeddings as number | undefined;
  const fromTokenizer = Number.isFinite(tokenizer.model_max_length) ? tokenizer.model_max_length : undefined;
  // RoBERTa-style models reserve 2 positions for the padding offset.
  const usable = fromConfig && config.text_config?.model_type === 'roberta' ? fromConfig - 2 : fromConfig;
  return Math.min(fromTokenizer ?? Infinity, usable ?? Infinity, 512);
}

/**
 * transformers.js truncates by slicing, which drops the end-of-text token that CLIP pools at; put it back
 * in the last attended position of every truncated row.
 */
export function keepEndOfText(
  encoded: { input_ids: Tensor; attention_mask: Tensor },
  eosId: number | undefined,
): void {
  if (eosId === undefined || eosId === null) return;
  const [rows, length] = encoded.input_ids.dims as number[];
  const ids = encoded.input_ids.data as BigInt64Array;
  const mask = encoded.attention_mask.data as BigInt64Array;
  const eos = BigInt(eosId);
  for (let r = 0; r < rows; r++) {
    let last = -1;
    for (let i = 0; i < length; i++) if (mask[r * length + i] !== 0n) last = i;
    if (last >= 0 && ids[r * length + last] !== eos) ids[r * length + last] = eos;
  }
}

function firstLine(error: unknown): string {
  return errorMessage(error).split('\n')[0];
}
