import { lstat } from 'node:fs/promises';
import type { Encoder, Modality } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import { detectFile } from '../media/detect.js';
import { dot } from '../vectors.js';

/** One query or item: text, or a media file (path or bytes) of a known modality. */
export type Input =
  | { modality: 'text'; text: string }
  | { modality: 'image' | 'audio'; source: string | Uint8Array };

/**
 * Reads a command-line argument as an input: `text:...`, `image:PATH`, `audio:PATH` say it outright;
 * an existing file is detected by its content (a folder, FIFO, device or broken link is an error); anything
 * else is text.
 */
export async function parseInput(arg: string): Promise<Input> {
  const prefixed = /^(text|image|audio):(.*)$/s.exec(arg);
  if (prefixed) {
    const [, modality, value] = prefixed;
    if (modality === 'text') return { modality: 'text', text: value };
    return { modality: modality as 'image' | 'audio', source: value };
  }
  const info = await lstat(arg).catch(() => undefined);
  if (info) {
    // Something by that name exists: read it as a file (or say why it cannot be), never as the words of its name.
    const detected = await detectFile(arg);
    if (!detected || detected.modality === 'text' || detected.modality === 'video')
      throw xmodalError(
        'UNSUPPORTED_FORMAT',
        detected?.modality === 'video'
          ? `${arg}: a video is not one input: index it and search its moments (or query with --like a frame's id)`
          : `${arg}: not an image or audio file (prefix with text: to embed a string)`,
      );
    return { modality: detected.modality, source: arg };
  }
  return { modality: 'text', text: arg };
}

/** What the encoder takes for an input: its text, or its file path or bytes. */
export function inputValue(input: Input): string | Uint8Array {
  return input.modality === 'text' ? input.text : input.source;
}

/** Embeds inputs of mixed modalities, one model call per modality, in input order. */
export async function embedInputs(encoder: Encoder, inputs: readonly Input[]): Promise<Float32Array[]> {
  const out: Float32Array[] = new Array(inputs.length);
  const byModality = new Map<Modality, number[]>();
  inputs.forEach((input, i) => {
    if (input.modality === 'text' && !input.text.trim())
      throw xmodalError('BAD_INPUT', 'empty text: give some words to embed');
    if (!encoder.modalities.includes(input.modality))
      throw xmodalError('MODALITY_UNSUPPORTED', `${encoder.id} does not embed ${input.modality}`);
    byModality.set(input.modality, [...(byModality.get(input.modality) ?? []), i]);
  });
  for (const [modality, indexes] of byModality) {
    const vectors = await encoder.embed(
      modality,
      indexes.map((i) => inputValue(inputs[i])),
    );
    indexes.forEach((inputIndex, k) => {
      out[inputIndex] = vectors[k];
    });
  }
  return out;
}

/** Cosine similarity of two inputs of any modalities. */
export async function similarity(encoder: Encoder, a: Input, b: Input): Promise<number> {
  const [va, vb] = await embedInputs(encoder, [a, b]);
  return dot(va, vb);
}
