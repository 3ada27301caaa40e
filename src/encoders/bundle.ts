import { xmodalError } from '../errors.js';
import {
  type Encoder,
  EncoderBase,
  type EncoderSpace,
  type EncoderSpec,
  type Modality,
  type ModalityInputs,
  type SpaceKind,
} from './encoder.js';
import { dot } from './vectors.js';
import { combinedWeights } from './weights.js';

/** Texts every text tower of an undeclared bundle embeds at load, to tell one shared space from several. */
export const PROBE_TEXTS = [
  'a dog',
  'a cat sleeping on a sofa',
  'the sound of rain',
  'a red apple',
  'a church bell ringing',
  'a piano melody',
  'an airplane in the sky',
  'a person speaking',
  'a bowl of soup',
  'waves on a beach',
  'a smiling face',
  'a violin',
  'traffic noise in a city',
  'a green tree',
  'a birthday cake with candles',
  'a guitar chord',
];

/** Parts are one space only if their text towers agree this closely on every probe text. */
export const SHARED_SPACE_MIN_COSINE = 0.99;

/** Whether the parts embed text into one space: every text tower agrees with the first on every probe. */
export async function measureSpace(
  parts: readonly Encoder[],
): Promise<{ space: SpaceKind; minCosine: number }> {
  const texted = parts.filter((p) => p.modalities.includes('text'));
  if (texted.length !== parts.length || new Set(parts.map((p) => p.dim)).size !== 1)
    return { space: 'separate', minCosine: Number.NaN };
  const [first, ...others] = await Promise.all(texted.map((p) => p.embedText(PROBE_TEXTS)));
  let minCosine = 1;
  for (const rows of others)
    for (const [i, row] of rows.entries()) minCosine = Math.min(minCosine, dot(row, first[i]));
  return { space: minCosine >= SHARED_SPACE_MIN_COSINE ? 'shared' : 'separate', minCosine };
}

/**
 * Several model folders used as one encoder. Parts in one space (`shared`: trained together, as xmodal-mini's
 * CLIP and CLAP parts sharing a text tower; `bridged`: joined by `xmodal bind`) act as one model: each
 * modality goes to the first part that has it. Parts in `separate` spaces are offered as `spaces`, one per part,
 * and the bundle's own embed calls refuse: its vectors would not be comparable with each other.
 */
export class BundleEncoder extends EncoderBase {
  readonly id: string;
  readonly dim: number;
  readonly modalities: readonly Modality[];
  readonly spec: EncoderSpec;
  readonly spaces?: readonly EncoderSpace[];

  /** `logitScale`: the bundle's own (its manifest's), else its first part's. */
  constructor(
    id: string,
    private readonly parts: readonly EncoderSpace[],
    readonly space: SpaceKind,
    logitScale?: number,
  ) {
    super();
    if (space !== 'separate' && new Set(parts.map((part) => part.encoder.dim)).size !== 1)
      throw xmodalError('MODEL_INVALID', `${id}: bundle parts disagree on the embedding size`);
    this.id = id;
    this.dim = parts[0].encoder.dim;
    this.modalities = [...new Set(parts.flatMap((part) => part.encoder.modalities))];
    if (space === 'separate') this.spaces = parts;
    // Every part's weights count, so a new audio tower alone changes the bundle's.
    const weights = combinedWeights(
      parts.map((part) => ({ name: part.name, weights: part.encoder.spec.weights })),
    );
    this.spec = {
      model: id,
      dtype: parts[0].encoder.spec.dtype,
      logitScale: logitScale ?? parts[0].encoder.spec.logitScale,
      dim: this.dim,
      ...(weights === undefined ? {} : { weights }),
    };
  }

  private partFor(modality: Modality): Encoder {
    if (this.spaces)
      throw xmodalError(
        'SEPARATE_SPACES',
        `${this.id}: its parts (${this.spaces.map((s) => s.name).join(', ')}) are separate vector spaces, so its ${modality} vectors cannot be compared with the other parts'; search a collection (one index per space), use a part as the model, or join them with \`xmodal bind\``,
      );
    const part = this.parts.find((p) => p.encoder.modalities.includes(modality));
    if (!part) throw xmodalError('MODALITY_UNSUPPORTED', `${this.id} does not embed ${modality}`);
    return part.encoder;
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
    await Promise.all(this.parts.map((part) => part.encoder.dispose()));
  }
}
