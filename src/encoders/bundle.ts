import { xmodalError } from '../errors.js';
import {
  type Encoder,
  EncoderBase,
  type EncoderSpec,
  type Modality,
  type ModalityInputs,
} from './encoder.js';

/**
 * Several model folders trained into one space (e.g. a CLIP-format image–text part and a CLAP-format
 * audio–text part sharing a text tower), used as one encoder: each modality goes to the first part that has it.
 */
export class BundleEncoder extends EncoderBase {
  readonly id: string;
  readonly dim: number;
  readonly modalities: readonly Modality[];
  readonly spec: EncoderSpec;
  private readonly parts: readonly Encoder[];

  /** `logitScale`: the bundle's own (its manifest's), else its first part's. */
  constructor(id: string, parts: readonly Encoder[], logitScale?: number) {
    super();
    const dims = new Set(parts.map((part) => part.dim));
    if (dims.size !== 1)
      throw xmodalError('MODEL_INVALID', `${id}: bundle parts disagree on the embedding size`);
    this.id = id;
    this.dim = parts[0].dim;
    this.parts = parts;
    this.modalities = [...new Set(parts.flatMap((part) => part.modalities))];
    this.spec = {
      model: id,
      dtype: parts[0].spec.dtype,
      logitScale: logitScale ?? parts[0].spec.logitScale,
      dim: this.dim,
    };
  }

  private partFor(modality: Modality): Encoder {
    const part = this.parts.find((p) => p.modalities.includes(modality));
    if (!part) throw xmodalError('MODALITY_UNSUPPORTED', `${this.id} does not embed ${modality}`);
    return part;
  }

  async embed<M extends Modality>(
    modality: M,
    inputs: readonly ModalityInputs[M][],
  ): Promise<Float32Array[]> {
    return this.partFor(modality).embed(modality, inputs);
  }

  async audioSampleRate(): Promise<number | undefined> {
    return this.partFor('audio').audioSampleRate?.();
  }

  async dispose(): Promise<void> {
    await Promise.all(this.parts.map((part) => part.dispose()));
  }
}
