import { xmodalError } from '../errors.js';
import type { AudioInput } from '../media/audio.js';
import type { ImageInput } from '../media/image.js';
import type { Encoder, Modality } from './encoder.js';

/**
 * Several model folders trained into one space (e.g. a CLIP-format image–text part and a CLAP-format
 * audio–text part sharing a text tower), used as one encoder: each modality goes to the first part that has it.
 */
export class BundleEncoder implements Encoder {
  readonly id: string;
  readonly dim: number;
  readonly modalities: readonly Modality[];
  private readonly parts: readonly Encoder[];

  constructor(id: string, parts: readonly Encoder[]) {
    const dims = new Set(parts.map((part) => part.dim));
    if (dims.size !== 1)
      throw xmodalError('MODEL_INVALID', `${id}: bundle parts disagree on the embedding size`);
    this.id = id;
    this.dim = parts[0].dim;
    this.parts = parts;
    this.modalities = [...new Set(parts.flatMap((part) => part.modalities))];
  }

  private partFor(modality: Modality): Encoder {
    const part = this.parts.find((p) => p.modalities.includes(modality));
    if (!part) throw xmodalError('MODALITY_UNSUPPORTED', `${this.id} does not embed ${modality}`);
    return part;
  }

  embedText(texts: readonly string[]): Promise<Float32Array[]> {
    return this.partFor('text').embedText(texts);
  }

  embedImages(inputs: readonly ImageInput[]): Promise<Float32Array[]> {
    return this.partFor('image').embedImages(inputs);
  }

  embedAudio(inputs: readonly AudioInput[]): Promise<Float32Array[]> {
    return this.partFor('audio').embedAudio(inputs);
  }

  async audioSampleRate(): Promise<number | undefined> {
    return this.partFor('audio').audioSampleRate?.();
  }

  async dispose(): Promise<void> {
    await Promise.all(this.parts.map((part) => part.dispose()));
  }
}
