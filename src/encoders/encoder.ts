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

/** The encoder's vector spaces: its own parts when they are separate, else itself as the one space. */
export function spacesOf(encoder: Encoder): readonly EncoderSpace[] {
  return encoder.spaces ?? [{ name: '', encoder }];
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
