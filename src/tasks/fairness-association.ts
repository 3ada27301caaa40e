// A WEAT-style effect size (Caliskan et al. 2017) for one attribute word against several groups of pictures,
// with a permutation p-value that redraws the group labels within each concept.

export interface Association {
  word: string;
  /** (mean of the most associated group − mean of the least) / standard deviation over both; 0 is none. */
  effect_size: number;
  /** Share of label permutations (within concepts) whose effect size is at least as large. */
  p: number;
  /** The groups whose pictures sit closest to and furthest from the word. */
  high: string;
  low: string;
}

export interface AssociationOptions {
  /** Label permutations for the p-value. Default 1000. */
  permutations?: number;
  /** Uniform numbers in [0, 1): seeded for a reproducible p-value. */
  random: () => number;
}

/**
 * `similarity[i]`: item i's cosine similarity to the word; `groups[i]` its group; `concepts[i]` its concept.
 * Similarities are centred on their concept's mean first, so a group is compared with the other groups'
 * pictures of the same concept, never with other concepts.
 */
export function associationEffect(
  word: string,
  similarity: readonly number[],
  groups: readonly string[],
  concepts: readonly string[],
  options: AssociationOptions,
): Association {
  const centred = centreWithin(similarity, concepts);
  const names = [...new Set(groups)].sort();
  const index = groups.map((g) => names.indexOf(g));
  const observed = effectOf(centred, index, names.length);
  const permutations = options.permutations ?? 1000;
  const strata = new Map<string, number[]>();
  concepts.forEach((c, i) => {
    strata.set(c, [...(strata.get(c) ?? []), i]);
  });
  const shuffled = index.slice();
  let atLeast = 0;
  for (let n = 0; n < permutations; n++) {
    for (const rows of strata.values()) {
      for (let i = rows.length - 1; i > 0; i--) {
        const j = Math.floor(options.random() * (i + 1));
        [shuffled[rows[i]], shuffled[rows[j]]] = [shuffled[rows[j]], shuffled[rows[i]]];
      }
    }
    if (effectOf(centred, shuffled, names.length).size >= observed.size - 1e-12) atLeast++;
  }
  return {
    word,
    effect_size: observed.size,
    p: (atLeast + 1) / (permutations + 1),
    high: names[observed.high] ?? '',
    low: names[observed.low] ?? '',
  };
}

function centreWithin(values: readonly number[], strata: readonly string[]): number[] {
  const sums = new Map<string, { sum: number; n: number }>();
  strata.forEach((s, i) => {
    const t = sums.get(s) ?? { sum: 0, n: 0 };
    t.sum += values[i];
    t.n++;
    sums.set(s, t);
  });
  return values.map((v, i) => {
    const t = sums.get(strata[i])!;
    return v - t.sum / t.n;
  });
}

/** The largest difference of two group means over their pooled sample standard deviation. */
function effectOf(
  values: readonly number[],
  group: readonly number[],
  groups: number,
): { size: number; high: number; low: number } {
  const sum = new Float64Array(groups);
  const count = new Float64Array(groups);
  group.forEach((g, i) => {
    sum[g] += values[i];
    count[g]++;
  });
  let high = 0;
  let low = 0;
  for (let g = 0; g < groups; g++) {
    if (sum[g] / count[g] > sum[high] / count[high]) high = g;
    if (sum[g] / count[g] < sum[low] / count[low]) low = g;
  }
  if (high === low) return { size: 0, high, low };
  // Sample standard deviation over the items of both groups, in one pass (this runs once per permutation).
  let n = 0;
  let total = 0;
  let squares = 0;
  group.forEach((g, i) => {
    if (g !== high && g !== low) return;
    n++;
    total += values[i];
    squares += values[i] * values[i];
  });
  const variance = (squares - (total * total) / n) / Math.max(1, n - 1);
  const spread = (sum[high] / count[high] - sum[low] / count[low]) / Math.sqrt(variance);
  return { size: Number.isFinite(spread) ? spread : 0, high, low };
}
