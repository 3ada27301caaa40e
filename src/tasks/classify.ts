import type { Encoder, Modality } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import { embedInputs, type Input } from './embed.js';
import {
  logitScaleOf,
  type PromptOptions,
  promptDirections,
  softmaxScores,
  templatesFor,
} from './prompts.js';
import { readUserFile } from './user-files.js';

export interface ClassifyOptions extends PromptOptions {
  labels: readonly string[];
  /** How many labels to return, best first. Default: all. */
  k?: number;
  /** Overrides the model's logit scale (the softmax temperature's inverse). */
  logitScale?: number;
}

export interface LabelScore {
  label: string;
  /** Softmax probability over all labels. */
  score: number;
  /** Cosine similarity of the input and the label's prompt ensemble. */
  similarity: number;
}

/** Zero-shot classification of several inputs of one modality against the same labels; best label first. */
export async function classifyInputs(
  encoder: Encoder,
  inputs: readonly Input[],
  options: ClassifyOptions,
): Promise<LabelScore[][]> {
  checkLabels(options.labels);
  const modalities = new Set(inputs.map((i) => i.modality));
  if (modalities.size > 1) throw xmodalError('BAD_ARGUMENT', 'classify one modality at a time');
  const [modality] = modalities;
  if (!modality) return [];
  return classifyVectors(encoder, modality, await embedInputs(encoder, inputs), options);
}

/** Zero-shot classification of embeddings of one modality (a video's frames, say) against the same labels. */
export async function classifyVectors(
  encoder: Encoder,
  modality: Modality,
  vectors: readonly Float32Array[],
  options: ClassifyOptions,
): Promise<LabelScore[][]> {
  const labels = checkLabels(options.labels);
  const k = options.k ?? labels.length;
  if (!Number.isInteger(k) || k < 1)
    throw xmodalError('BAD_ARGUMENT', `k must be a positive integer, got ${k}`);
  const directions = await promptDirections(
    encoder,
    labels.map((label) => [label]),
    templatesFor(modality, options),
  );
  const scale = options.logitScale ?? logitScaleOf(encoder);
  return vectors.map((vector) =>
    softmaxScores(vector, directions, scale)
      .map((s, i) => ({ label: labels[i], score: s.probability, similarity: s.similarity }))
      .sort((a, b) => b.score - a.score)
      .slice(0, k),
  );
}

/**
 * How many texts classifying `modality` embeds: every label in every template. Checked, without embedding
 * anything, so a caller can refuse a request too large before the model sees it.
 */
export function labelPromptCount(
  modality: Modality,
  options: ClassifyOptions,
): { labels: number; templates: number; texts: number } {
  const labels = checkLabels(options.labels).length;
  const templates = templatesFor(modality, options).length;
  return { labels, templates, texts: labels * templates };
}

export async function classify(
  encoder: Encoder,
  input: Input,
  options: ClassifyOptions,
): Promise<LabelScore[]> {
  return (await classifyInputs(encoder, [input], options))[0];
}

function checkLabels(raw: readonly string[]): string[] {
  const labels = raw.map((l) => l.trim()).filter(Boolean);
  if (labels.length < 2) throw xmodalError('BAD_ARGUMENT', 'give at least two labels to choose between');
  const seen = new Set<string>();
  for (const label of labels) {
    if (seen.has(label)) throw xmodalError('BAD_ARGUMENT', `label "${label}" is given twice`);
    seen.add(label);
  }
  return labels;
}

/** A labels file: a JSON array of strings, or one label per line (`#` starts a comment line). */
export async function readLabelsFile(path: string): Promise<string[]> {
  const text = await readUserFile(path, 'labels file');
  if (text.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw xmodalError('BAD_INPUT', `${path}: not valid JSON`, error);
    }
    if (!Array.isArray(parsed) || !parsed.every((l) => typeof l === 'string'))
      throw xmodalError('BAD_INPUT', `${path}: a JSON labels file is an array of strings`);
    return parsed;
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}
