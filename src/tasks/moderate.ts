import type { Encoder, Modality } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import { embedInputs, type Input } from './embed.js';
import { logitScaleOf, promptDirections, softmaxScores, templatesFor } from './prompts.js';
import { readUserFile } from './user-files.js';

export interface PolicyCategory {
  name: string;
  /** Plain descriptions of what belongs in the category; each is its own prompt (with templates). */
  prompts: string[];
  /** An unsafe category is flagged when its score reaches this (0..1). Safe categories have none. */
  threshold?: number;
}

/** Unsafe categories to flag, and safe ones they compete with: a score is a share among all of them. */
export interface Policy {
  name?: string;
  /** Language of the built-in prompt templates. */
  lang?: string;
  /** Own templates per modality of the checked input, replacing the built-in ones. */
  templates?: Partial<Record<Modality, string[]>>;
  unsafe: PolicyCategory[];
  safe: PolicyCategory[];
}

export interface CategoryScore {
  category: string;
  kind: 'unsafe' | 'safe';
  score: number;
}

export interface ModerationResult {
  safe: boolean;
  /** Unsafe categories at or over their threshold, highest score first. */
  flagged: { category: string; score: number; threshold: number }[];
  /** Every category, highest score first. */
  scores: CategoryScore[];
}

/**
 * Scores inputs against a policy: every prompt of every category is one softmax class (at the model's
 * logit scale); a category's score is the probability mass of its prompts.
 */
export async function moderateInputs(
  encoder: Encoder,
  inputs: readonly Input[],
  policy: Policy,
): Promise<ModerationResult[]> {
  checkPolicy(policy);
  return moderateVectors(
    encoder,
    inputs.map((i) => i.modality),
    await embedInputs(encoder, inputs),
    policy,
  );
}

/** Scores embeddings (each of the modality at its index: a video's frames and sound windows) against a policy. */
export async function moderateVectors(
  encoder: Encoder,
  modalities: readonly Modality[],
  vectors: readonly Float32Array[],
  policy: Policy,
): Promise<ModerationResult[]> {
  checkPolicy(policy);
  const categories = [
    ...policy.unsafe.map((c) => ({ ...c, kind: 'unsafe' as const })),
    ...policy.safe.map((c) => ({ ...c, kind: 'safe' as const })),
  ];
  const owner = categories.flatMap((c, i) => c.prompts.map(() => i));
  const scale = logitScaleOf(encoder);
  const directionsByModality = new Map<Modality, Float32Array[]>();
  for (const modality of new Set(modalities)) {
    const templates = templatesFor(modality, { lang: policy.lang, templates: policy.templates?.[modality] });
    const prompts = categories.flatMap((c) => c.prompts.map((p) => [p]));
    directionsByModality.set(modality, await promptDirections(encoder, prompts, templates));
  }
  return vectors.map((vector, n) => {
    const mass = new Array(categories.length).fill(0);
    softmaxScores(vector, directionsByModality.get(modalities[n])!, scale).forEach((s, p) => {
      mass[owner[p]] += s.probability;
    });
    const scores = categories
      .map((c, i) => ({ category: c.name, kind: c.kind, score: mass[i] }))
      .sort((a, b) => b.score - a.score);
    const flagged = categories
      .map((c, i) => ({ category: c.name, score: mass[i], threshold: c.threshold ?? 1 }))
      .filter((f, i) => categories[i].kind === 'unsafe' && f.score >= f.threshold)
      .sort((a, b) => b.score - a.score);
    return { safe: flagged.length === 0, flagged, scores };
  });
}

export async function moderate(encoder: Encoder, input: Input, policy: Policy): Promise<ModerationResult> {
  return (await moderateInputs(encoder, [input], policy))[0];
}

/** Throws BAD_INPUT naming the first thing wrong with a policy. */
export function checkPolicy(policy: Policy): void {
  const bad = (why: string) =>
    xmodalError('BAD_INPUT', `policy${policy?.name ? ` "${policy.name}"` : ''}: ${why}`);
  if (!policy || !Array.isArray(policy.unsafe) || !Array.isArray(policy.safe))
    throw bad('needs "unsafe" and "safe" lists of categories');
  if (policy.unsafe.length === 0) throw bad('lists no unsafe category');
  const names = new Set<string>();
  for (const [kind, list] of [
    ['unsafe', policy.unsafe],
    ['safe', policy.safe],
  ] as const) {
    for (const c of list) {
      if (!c || typeof c.name !== 'string' || !c.name) throw bad(`an ${kind} category has no name`);
      if (names.has(c.name)) throw bad(`category "${c.name}" appears twice`);
      names.add(c.name);
      if (
        !Array.isArray(c.prompts) ||
        c.prompts.length === 0 ||
        !c.prompts.every((p) => typeof p === 'string')
      )
        throw bad(`category "${c.name}" needs a list of prompts`);
      if (c.prompts.some((p) => !p.trim())) throw bad(`category "${c.name}" has an empty prompt`);
      if (kind === 'unsafe' && !(typeof c.threshold === 'number' && c.threshold >= 0 && c.threshold <= 1))
        throw bad(`unsafe category "${c.name}" needs a threshold between 0 and 1`);
    }
  }
  if (policy.lang !== undefined && typeof policy.lang !== 'string') throw bad('"lang" must be a string');
  if (policy.templates !== undefined) {
    if (typeof policy.templates !== 'object' || policy.templates === null || Array.isArray(policy.templates))
      throw bad('"templates" must map a modality to a list of templates');
    for (const [modality, list] of Object.entries(policy.templates))
      if (!Array.isArray(list) || !list.every((t) => typeof t === 'string' && t.trim()))
        throw bad(`"templates.${modality}" must be a list of non-empty templates`);
  }
}

/** Every text a policy has embedded: its prompts and its own templates (for length and count limits). */
export function policyTexts(policy: Policy): string[] {
  return [
    ...[...policy.unsafe, ...policy.safe].flatMap((c) => c.prompts),
    ...Object.values(policy.templates ?? {}).flat(),
  ];
}

export async function readPolicy(path: string): Promise<Policy> {
  const text = await readUserFile(path, 'policy');
  let policy: Policy;
  try {
    policy = JSON.parse(text);
  } catch (error) {
    throw xmodalError('BAD_INPUT', `${path}: not valid JSON`, error);
  }
  checkPolicy(policy);
  return policy;
}
