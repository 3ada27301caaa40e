import type { Adapter } from '../encoders/adapter.js';
import type { Encoder, Modality } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import { splitPairs } from './adapt.js';
import { Params } from './adapt-params.js';
import { type DebiasPenalty, type DebiasProbes, groupGap } from './debias.js';
import { embedInputs } from './embed.js';
import { builtInProbeSet, type ProbeSet } from './probe-set.js';
import { promptDirections, templatesFor } from './prompts.js';

/** Share of the probe concepts kept out of the penalty, to measure whether the debiasing generalises. */
const HELD_OUT_SHARE = 0.25;

export interface DebiasSetup {
  attribute: string;
  groups: string[];
  penalty: DebiasPenalty;
  heldOut: number[];
  heldOutConcepts: string[];
}

export interface DebiasReport {
  attribute: string;
  heldOutConcepts: string[];
  /** Mean over held-out concepts of the largest difference between groups' similarity to the concept's text. */
  gap: { before: number; after: number };
  /** Mean similarity of each group's held-out pictures to their concept's text. */
  per_group: { before: Record<string, number>; after: Record<string, number> };
}

/** The probe set embedded with the base model, split by concept into penalised and held-out probes. */
export async function debiasProbes(
  encoder: Encoder,
  attribute: string,
  weight: number,
  probeSet?: ProbeSet,
): Promise<DebiasSetup> {
  const set = probeSet ?? (await builtInProbeSet());
  const spec = set.attributes.find((a) => a.name === attribute);
  if (!spec)
    throw xmodalError(
      'BAD_ARGUMENT',
      `--debias takes ${set.attributes.map((a) => a.name).join(' or ')}, not "${attribute}"`,
    );
  const rows = set.probes.filter((p) => p.group[attribute]);
  const conceptIndex = new Map(set.concepts.map((c, i) => [c.name, i]));
  const probes: DebiasProbes = {
    vectors: await embedInputs(
      encoder,
      rows.map((p) => p.input),
    ),
    modality: rows.map((p) => p.input.modality as Modality),
    concept: rows.map((p) => conceptIndex.get(p.concept)!),
    group: rows.map((p) => spec.groups.indexOf(p.group[attribute])),
    conceptTexts: await promptDirections(
      encoder,
      set.concepts.map((c) => [c.label]),
      templatesFor('image'),
    ),
  };
  const { validation } = splitPairs(
    set.concepts.map((c) => c.name),
    HELD_OUT_SHARE,
  );
  const held = new Set(validation);
  const indexes = probes.concept.map((_, i) => i);
  return {
    attribute,
    groups: spec.groups,
    penalty: { probes, rows: indexes.filter((i) => !held.has(probes.concept[i])), weight },
    heldOut: indexes.filter((i) => held.has(probes.concept[i])),
    heldOutConcepts: validation.map((c) => set.concepts[c].name),
  };
}

/** The adapter's parameters as training holds them. */
export function adapterParams(adapter: Adapter): Params {
  const params = new Params(adapter.dim, [], Math.log(adapter.logitScale));
  for (const [modality, matrix] of Object.entries(adapter.matrices))
    if (matrix) params.matrices.set(modality as Modality, matrix);
  return params;
}

/** The group gap on the held-out probes with the base model and with the adapter. */
export function heldOutGap(setup: DebiasSetup, adapter: Adapter): DebiasReport {
  const before = groupGap(new Params(adapter.dim, [], 0), setup.penalty.probes, setup.heldOut);
  const after = groupGap(adapterParams(adapter), setup.penalty.probes, setup.heldOut);
  const named = (values: number[]) => Object.fromEntries(setup.groups.map((g, i) => [g, values[i] ?? 0]));
  return {
    attribute: setup.attribute,
    heldOutConcepts: setup.heldOutConcepts,
    gap: { before: before.similarity, after: after.similarity },
    per_group: { before: named(before.per_group), after: named(after.per_group) },
  };
}
