import type { Encoder, Modality } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import { dot, meanDirection } from '../vectors.js';

/**
 * Prompt templates per language and per modality of the thing being described; `{}` is the label.
 * The bare label comes first: xmodal-mini was trained on bare labels, CLIP-style models on captions.
 */
export const TEMPLATES: Record<string, Record<Modality, string[]>> = {
  en: {
    image: ['{}', 'a picture of {}', 'an image of {}', 'an emoji of {}', 'a drawing of {}'],
    audio: ['{}', 'the sound of {}', 'a recording of {}', 'a sound of {}'],
    text: ['{}'],
  },
  it: {
    image: ['{}', 'una foto di {}', "un'immagine di {}", 'una emoji di {}', 'un disegno di {}'],
    audio: ['{}', 'il suono di {}', 'una registrazione di {}'],
    text: ['{}'],
  },
  de: {
    image: ['{}', 'ein Bild von {}', 'ein Foto von {}', 'ein Emoji von {}', 'eine Zeichnung von {}'],
    audio: ['{}', 'das Geräusch von {}', 'eine Aufnahme von {}'],
    text: ['{}'],
  },
  fr: {
    image: ['{}', 'une photo de {}', 'une image de {}', 'un emoji de {}', 'un dessin de {}'],
    audio: ['{}', 'le son de {}', 'un enregistrement de {}'],
    text: ['{}'],
  },
  es: {
    image: ['{}', 'una foto de {}', 'una imagen de {}', 'un emoji de {}', 'un dibujo de {}'],
    audio: ['{}', 'el sonido de {}', 'una grabación de {}'],
    text: ['{}'],
  },
};

export const DEFAULT_LANG = 'en';

export { DEFAULT_LOGIT_SCALE } from '../encoders/load.js';

export interface PromptOptions {
  /** Language of the built-in templates. Default `en`. */
  lang?: string;
  /** Own templates (each with `{}`), replacing the built-in ones. */
  templates?: readonly string[];
}

/** The templates used to describe a label of `modality`, checked. */
export function templatesFor(modality: Modality, options: PromptOptions = {}): string[] {
  if (options.templates?.length) {
    const bad = options.templates.find((t) => !t.includes('{}'));
    if (bad !== undefined) throw xmodalError('BAD_ARGUMENT', `template "${bad}" has no {} for the label`);
    return [...options.templates];
  }
  const lang = options.lang ?? DEFAULT_LANG;
  const byLang = TEMPLATES[lang];
  if (!byLang)
    throw xmodalError(
      'BAD_ARGUMENT',
      `no templates for language "${lang}"; use one of ${Object.keys(TEMPLATES).join(', ')} or give templates`,
    );
  return byLang[modality];
}

/**
 * One direction per prompt group: the normalised mean of every prompt of the group in every template
 * (CLIP's prompt ensembling). All texts go through the model in one call.
 */
export async function promptDirections(
  encoder: Encoder,
  groups: readonly (readonly string[])[],
  templates: readonly string[],
): Promise<Float32Array[]> {
  const texts = groups.map((prompts) =>
    prompts.flatMap((prompt) => templates.map((t) => t.replaceAll('{}', prompt))),
  );
  const rows = await encoder.embedText(texts.flat());
  let next = 0;
  return texts.map((group) => {
    const vectors = rows.slice(next, next + group.length);
    next += group.length;
    return meanDirection(vectors);
  });
}

/** softmax(scale · cos) over the directions. */
export function softmaxScores(
  vector: Float32Array,
  directions: readonly Float32Array[],
  scale: number,
): { similarity: number; probability: number }[] {
  const similarities = directions.map((d) => dot(vector, d));
  const logits = similarities.map((s) => s * scale);
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return similarities.map((similarity, i) => ({ similarity, probability: exps[i] / total }));
}

/** The softmax scale of the encoder's spec: the model's trained one, an adapter's, or a collection's saved one. */
export function logitScaleOf(encoder: Encoder): number {
  return encoder.spec.logitScale;
}
