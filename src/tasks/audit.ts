import type { Encoder, Modality } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import type { Store } from '../store/store.js';
import { dot } from '../vectors.js';
import { embedInputs } from './embed.js';
import { type Association, associationEffect } from './fairness-association.js';
import { type Exposure, exposureOver } from './fairness-exposure.js';
import { type ZeroShotParity, zeroShotParity } from './fairness-parity.js';
import { labelledGroup } from './item-groups.js';
import type { ProbeSet } from './probe-set.js';
import { promptDirections, templatesFor } from './prompts.js';
import { mulberry32 } from './random.js';

export interface AttributeAudit {
  name: string;
  groups: string[];
  /** Who the neutral queries retrieve: from the probe pool, or from the collection's labelled items. */
  exposure: Exposure & { pool: 'probes' | 'collection' };
  zero_shot: ZeroShotParity;
  association: Association[];
}

export interface AuditResult {
  model: string;
  /** Depth of the rankings that exposure measures. */
  k: number;
  /** Probe items measured. */
  probes: number;
  attributes: AttributeAudit[];
}

export interface AuditOptions {
  /** Ranking depth for skew@k and NDKL. Default 15 (a built-in concept's pictures per skin tone × gender). */
  k?: number;
  /** Label permutations for each association p-value. Default 1000. */
  permutations?: number;
  seed?: number;
  /** A collection whose items labelled `group.<attribute>` (meta or tag) become the exposure pool. */
  store?: Store;
  /** Most labelled collection items read for exposure. Default 20,000. */
  maxItems?: number;
}

export const DEFAULT_AUDIT_K = 15;

/**
 * Audits an encoder for group differences on a labelled probe set: (a) retrieval exposure of each group for
 * neutral queries (skew@k, NDKL), (b) zero-shot accuracy per group, (c) association of each group's pictures
 * with attribute words (WEAT-style effect size, permutation p-value).
 */
export async function auditEncoder(
  encoder: Encoder,
  probeSet: ProbeSet,
  options: AuditOptions = {},
): Promise<AuditResult> {
  const k = options.k ?? DEFAULT_AUDIT_K;
  if (!Number.isInteger(k) || k < 1)
    throw xmodalError('BAD_ARGUMENT', `k must be a positive integer, got ${k}`);
  const { probes, concepts, words } = probeSet;
  if (probes.length === 0) throw xmodalError('BAD_INPUT', 'the probe set is empty');
  const vectors = await embedInputs(
    encoder,
    probes.map((p) => p.input),
  );
  const queries = await encoder.embedText(concepts.flatMap((c) => c.queries));
  const directions = await directionsByModality(
    encoder,
    probes.map((p) => p.input.modality),
    concepts.map((c) => [c.label]),
  );
  const wordDirections = await directionsByModality(
    encoder,
    probes.map((p) => p.input.modality),
    words.map((w) => [w]),
  );
  const conceptIndex = new Map(concepts.map((c, i) => [c.name, i]));
  const correct = vectors.map((v, i) => {
    const own = directions.get(probes[i].input.modality)!;
    let best = 0;
    for (let c = 1; c < own.length; c++) if (dot(v, own[c]) > dot(v, own[best])) best = c;
    return best === conceptIndex.get(probes[i].concept);
  });
  const wordSimilarity = words.map((_, w) =>
    vectors.map((v, i) => dot(v, wordDirections.get(probes[i].input.modality)![w])),
  );

  const random = mulberry32(options.seed ?? 1);
  const attributes: AttributeAudit[] = [];
  for (const attribute of probeSet.attributes) {
    const rows = probes.flatMap((p, i) => (p.group[attribute.name] ? [i] : []));
    const groupOf = (i: number) => probes[i].group[attribute.name];
    const collection = options.store
      ? await labelledPool(options.store, attribute.name, options.maxItems ?? 20_000)
      : undefined;
    const pool = collection ?? { vectors: rows.map((i) => vectors[i]), groups: rows.map(groupOf) };
    const rankings = queries.map((q) =>
      pool.vectors
        .map((v, i) => ({ group: pool.groups[i], score: dot(q, v) }))
        .sort((a, b) => b.score - a.score)
        .map((r) => r.group),
    );
    attributes.push({
      name: attribute.name,
      groups: attribute.groups,
      exposure: { ...exposureOver(rankings, pool.groups, k), pool: collection ? 'collection' : 'probes' },
      zero_shot: zeroShotParity(
        rows.map((i) => correct[i]),
        rows.map(groupOf),
      ),
      association: words.map((word, w) =>
        associationEffect(
          word,
          rows.map((i) => wordSimilarity[w][i]),
          rows.map(groupOf),
          rows.map((i) => probes[i].concept),
          { permutations: options.permutations, random },
        ),
      ),
    });
  }
  return { model: encoder.id, k, probes: probes.length, attributes };
}

/** One prompt-ensemble direction per prompt group, for each modality present (templates differ by modality). */
async function directionsByModality(
  encoder: Encoder,
  modalities: readonly Modality[],
  groups: readonly string[][],
): Promise<Map<Modality, Float32Array[]>> {
  const out = new Map<Modality, Float32Array[]>();
  for (const modality of new Set(modalities))
    out.set(modality, await promptDirections(encoder, groups, templatesFor(modality)));
  return out;
}

/** The collection's items labelled with a group of the attribute, when at least two groups are present. */
async function labelledPool(
  store: Store,
  attribute: string,
  maxItems: number,
): Promise<{ vectors: Float32Array[]; groups: string[] } | undefined> {
  const vectors: Float32Array[] = [];
  const groups: string[] = [];
  for await (const record of store.iterate()) {
    const group = labelledGroup(record, attribute);
    if (!group) continue;
    const item = await store.get(record.id);
    if (!item) continue;
    vectors.push(item.vector);
    groups.push(group);
    if (vectors.length >= maxItems) break;
  }
  return new Set(groups).size >= 2 ? { vectors, groups } : undefined;
}
