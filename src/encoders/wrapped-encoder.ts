import { type Encoder, EncoderBase, type EncoderSpec, type Modality } from './encoder.js';

/** What a wrapper says of itself instead of what its inner encoder says. */
export interface WrapperIdentity {
  id?: string;
  dim?: number;
  spec?: EncoderSpec;
}

/**
 * An encoder around another one (an adapter, a map, the server's batcher): it embeds the inner encoder's
 * modalities, hears at its sample rate and disposes of it with itself; its id, dim and spec are the inner one's
 * unless it gives its own. A subclass says how it embeds.
 */
export abstract class WrappedEncoder extends EncoderBase {
  readonly id: string;
  readonly dim: number;
  readonly modalities: readonly Modality[];
  readonly spec: EncoderSpec;

  constructor(
    /** The encoder this one wraps. */
    readonly inner: Encoder,
    own: WrapperIdentity = {},
  ) {
    super();
    this.id = own.id ?? inner.id;
    this.dim = own.dim ?? inner.dim;
    this.modalities = inner.modalities;
    this.spec = own.spec ?? inner.spec;
  }

  async audioSampleRate(): Promise<number | undefined> {
    return this.inner.audioSampleRate?.();
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}
