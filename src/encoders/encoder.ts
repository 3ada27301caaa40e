import type { AudioInput } from '../media/audio.js';
import type { ImageInput, ImageLimits } from '../media/image.js';
import type { Dtype, EncoderSpec, Modality } from '../types.js';

export { DTYPES, type Dtype, type EncoderSpec, type Modality } from '../types.js';

/** What each modality's inputs are. */
export interface ModalityInputs {
  text: string;
  image: ImageInput;
  audio: AudioInput;
}

/** A loaded model that maps inputs of its modalities into one L2-normalised vector space. */
export interface Encoder {
  /** The model, as `loadEncoder` takes it again: a shipped name, a folder or a hub id (the weight variant is in `spec`). */
  readonly id: string;
  readonly dim: number;
  readonly modalities: readonly Modality[];
  /** Model, dtype, adapter, logit scale and dim: what a collection saves to reload exactly this encoder. */
  readonly spec: EncoderSpec;
  /** The one entry point: rows for inputs of one modality, in order. */
  embed<M extends Modality>(modality: M, inputs: readonly ModalityInputs[M][]): Promise<Float32Array[]>;
  embedText(texts: readonly string[]): Promise<Float32Array[]>;
  embedImages(inputs: readonly ImageInput[]): Promise<Float32Array[]>;
  embedAudio(inputs: readonly AudioInput[]): Promise<Float32Array[]>;
  /** The sample rate the audio model wants: callers that decode sound themselves (video) decode at it. */
  audioSampleRate?(): Promise<number | undefined>;
  /**
   * Present only on a bundle whose parts are separate vector spaces: one single-space encoder per part. Such an
   * encoder's own embed calls refuse (its vectors would not be comparable); embed through a space instead.
   */
  readonly spaces?: readonly EncoderSpace[];
  dispose(): Promise<void>;
}

/** One vector space of a multi-space bundle: a part's name and the encoder that embeds into that space. */
export interface EncoderSpace {
  name: string;
  encoder: Encoder;
}

/** How a bundle's parts relate: one trained space, unrelated spaces, or spaces joined by a learnt map. */
export const SPACE_KINDS = ['shared', 'separate', 'bridged'] as const;
export type SpaceKind = (typeof SPACE_KINDS)[number];

/** The typed methods as sugar over `embed`: an encoder implements `embed` once and extends this. */
export abstract class EncoderBase implements Encoder {
  abstract readonly id: string;
  abstract readonly dim: number;
  abstract readonly modalities: readonly Modality[];
  abstract readonly spec: EncoderSpec;
  abstract embed<M extends Modality>(
    modality: M,
    inputs: readonly ModalityInputs[M][],
  ): Promise<Float32Array[]>;
  abstract dispose(): Promise<void>;

  embedText(texts: readonly string[]): Promise<Float32Array[]> {
    return this.embed('text', texts);
  }

  embedImages(inputs: readonly ImageInput[]): Promise<Float32Array[]> {
    return this.embed('image', inputs);
  }

  embedAudio(inputs: readonly AudioInput[]): Promise<Float32Array[]> {
    return this.embed('audio', inputs);
  }
}

export interface EncoderOptions {
  dtype?: Dtype;
  /** The softmax scale to use instead of the one the model files say (a collection's saved spec gives it). */
  logitScale?: number;
  /** Refuse any network access: hub ids must already be in the cache. Also `XMODAL_OFFLINE=1`. */
  offline?: boolean;
  /** Where hub downloads are cached. Also `XMODAL_CACHE`. */
  cacheDir?: string;
  /** Rows per model call; larger inputs are split. */
  batchSize?: number;
  /** Images over these pixel or byte counts are refused before decoding (decompression bombs). */
  imageLimits?: ImageLimits;
  /** Worker threads preparing audio clips (decode, resample, features); default one per core, at most 4. */
  audioWorkers?: number;
  /**
   * Whether onnxruntime's worker threads spin while waiting for the next model call (its default, true): quicker
   * back-to-back calls, but the spinning takes CPU from everything else. A micro-batching server turns it off.
   */
  spinThreads?: boolean;
  /** onnxruntime's threads per model call (intra-op); default: its own choice, one per core. */
  threads?: number;
  /** Called while files download from the hub. */
  onProgress?: (event: { file: string; loaded: number; total: number }) => void;
}
