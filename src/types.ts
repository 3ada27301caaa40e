// Value types every layer shares. This file imports nothing, so media/, store/ and encoders/ can all use it.

export type Modality = 'text' | 'image' | 'audio';

export const MODALITIES: readonly Modality[] = ['text', 'image', 'audio'];

export const DTYPES = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4'] as const;
export type Dtype = (typeof DTYPES)[number];

/**
 * Everything needed to rebuild the encoder that wrote a collection (LanceDB keeps an embedding function's
 * config with its table the same way): saved when the collection is created, reloaded on every open.
 */
export interface EncoderSpec {
  /** The model, as `loadEncoder` takes it: a shipped name, an absolute folder or a hub id (the base model of an adapter). */
  model: string;
  /** Weight variant the vectors were made with. */
  dtype: Dtype;
  /** Absolute folder of an adapter applied on top of `model`, if any. */
  adapter?: string;
  /** The softmax scale zero-shot tasks use (CLIP's exp(t)). */
  logitScale: number;
  dim: number;
  /**
   * A digest of the weight files the vectors were made with (see `src/encoders/weights.ts`): the model's id stays
   * the same when its weights change in place. Absent when unknown (a hub model not pinned to a commit, a
   * collection indexed before weights were recorded): then nothing is checked.
   */
  weights?: string;
}

/** Whether two specs describe the same encoder (weights are compared apart: see `sameWeights`). */
export function sameEncoderSpec(a: EncoderSpec, b: EncoderSpec): boolean {
  return (
    a.model === b.model &&
    a.dtype === b.dtype &&
    (a.adapter ?? null) === (b.adapter ?? null) &&
    a.dim === b.dim &&
    Math.abs(a.logitScale - b.logitScale) <= 1e-6 * Math.max(1, Math.abs(a.logitScale))
  );
}

/** False only when both specs know their weights and they differ: an unknown side proves nothing either way. */
export function sameWeights(a: EncoderSpec, b: EncoderSpec): boolean {
  return a.weights === undefined || b.weights === undefined || a.weights === b.weights;
}

/** `model@dtype (+ adapter)`: how messages name a spec. */
export function describeEncoderSpec(spec: EncoderSpec): string {
  return `${spec.model}@${spec.dtype}${spec.adapter ? ` + adapter ${spec.adapter}` : ''}`;
}
