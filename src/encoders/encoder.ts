import type { AudioInput } from '../media/audio.js';
import type { ImageInput, ImageLimits } from '../media/image.js';

export type Modality = 'text' | 'image' | 'audio';

export const DTYPES = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4'] as const;
export type Dtype = (typeof DTYPES)[number];

/** A loaded model that maps inputs of its modalities into one L2-normalised vector space. */
export interface Encoder {
  /** Stable identity of the model and variant, e.g. `xmodal-mini` or `openai/clip-vit-base-patch32@q8`. */
  readonly id: string;
  readonly dim: number;
  readonly modalities: readonly Modality[];
  embedText(texts: readonly string[]): Promise<Float32Array[]>;
  embedImages(inputs: readonly ImageInput[]): Promise<Float32Array[]>;
  embedAudio(inputs: readonly AudioInput[]): Promise<Float32Array[]>;
  /** The sample rate the audio model wants: callers that decode sound themselves (video) decode at it. */
  audioSampleRate?(): Promise<number | undefined>;
  dispose(): Promise<void>;
}

export interface EncoderOptions {
  dtype?: Dtype;
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
  /** Called while files download from the hub. */
  onProgress?: (event: { file: string; loaded: number; total: number }) => void;
}
