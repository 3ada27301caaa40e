import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Encoder, Modality } from '../encoders/encoder.js';
import { locateModel } from '../encoders/load.js';
import { dot, meanDirection } from '../encoders/vectors.js';
import { xmodalError } from '../errors.js';

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

/** CLIP's trained logit scale, which released CLIP-style models reach (clamped there in training). */
export const DEFAULT_LOGIT_SCALE = 100;

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

/** An encoder may carry its own trained scale (an adapted encoder does). */
export interface WithLogitScale {
  readonly logitScale?: number;
}

/**
 * The scale the model was trained with: `logit_scale` (the scale itself, as xmodal-mini's export writes it,
 * not its log) in the bundle manifest or a model folder's config.json; otherwise {@link DEFAULT_LOGIT_SCALE}.
 */
export function logitScaleOf(encoder: Encoder & WithLogitScale): number {
  if (typeof encoder.logitScale === 'number') return encoder.logitScale;
  let folder: string;
  try {
    const location = locateModel(encoder.id);
    if (!location.local) return DEFAULT_LOGIT_SCALE;
    folder = location.source;
  } catch {
    return DEFAULT_LOGIT_SCALE;
  }
  const manifest = readJson(join(folder, 'xmodal.json'));
  const configs = [
    manifest,
    readJson(join(folder, 'config.json')),
    ...(Array.isArray(manifest?.parts)
      ? manifest.parts.map((part: string) => readJson(join(resolve(folder, part), 'config.json')))
      : []),
  ];
  for (const config of configs) {
    const scale = config?.logit_scale;
    if (typeof scale === 'number' && Number.isFinite(scale) && scale > 0) return scale;
  }
  return DEFAULT_LOGIT_SCALE;
}

// biome-ignore lint/suspicious/noExplicitAny: model config files are free-form JSON.
function readJson(file: string): any {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}
