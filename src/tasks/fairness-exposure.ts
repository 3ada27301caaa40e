// Retrieval exposure of groups (Geyik et al. 2019, "Fairness-aware ranking in search & recommendation systems";
// Berg et al. 2022 audit CLIP with the same skew@k and NDKL).

/** How each group's share of a ranking's top k compares with its share of the pool. */
export interface RankingExposure {
  /** skew@k per group: ln(share in the top k / share in the pool); 0 is proportional. */
  skew: Record<string, number>;
  /** Normalised discounted KL divergence of the top-i group distributions from the pool's, i = 1..k; 0 is fair. */
  ndkl: number;
}

export interface Exposure {
  /** The largest |mean skew@k| over the groups. */
  max_skew: number;
  /** NDKL, averaged over the rankings. */
  ndkl: number;
  /** Mean skew@k per group over the rankings. */
  per_group: Record<string, number>;
}

/** Each group's share of `groups` (one label per pool item). */
export function groupShares(groups: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const g of groups) counts[g] = (counts[g] ?? 0) + 1;
  for (const g of Object.keys(counts)) counts[g] /= groups.length;
  return counts;
}

/**
 * skew@k and NDKL of one ranking, given the group of each ranked item (best first) and the pool's shares.
 * A group with no item in the top k counts as half an item there: ln 0 would be -∞.
 */
export function rankingExposure(
  ranked: readonly string[],
  pool: Readonly<Record<string, number>>,
  k: number,
): RankingExposure {
  const top = ranked.slice(0, k);
  const n = top.length;
  const skew: Record<string, number> = {};
  for (const [group, share] of Object.entries(pool)) {
    const count = top.filter((g) => g === group).length;
    skew[group] = Math.log(Math.max(count, 0.5) / n / share);
  }
  let weighted = 0;
  let z = 0;
  const counts: Record<string, number> = {};
  for (let i = 1; i <= n; i++) {
    counts[top[i - 1]] = (counts[top[i - 1]] ?? 0) + 1;
    let kl = 0;
    for (const [group, count] of Object.entries(counts))
      kl += (count / i) * Math.log(count / i / pool[group]);
    weighted += kl / Math.log2(i + 1);
    z += 1 / Math.log2(i + 1);
  }
  return { skew, ndkl: z > 0 ? weighted / z : 0 };
}

/** Exposure over several rankings of the same pool (one per neutral query). */
export function exposureOver(
  rankings: readonly (readonly string[])[],
  poolGroups: readonly string[],
  k: number,
): Exposure {
  const pool = groupShares(poolGroups);
  const each = rankings.map((ranked) => rankingExposure(ranked, pool, k));
  const per_group: Record<string, number> = {};
  for (const group of Object.keys(pool).sort())
    per_group[group] = each.reduce((s, e) => s + e.skew[group], 0) / Math.max(1, each.length);
  return {
    max_skew: Math.max(0, ...Object.values(per_group).map(Math.abs)),
    ndkl: each.reduce((s, e) => s + e.ndkl, 0) / Math.max(1, each.length),
    per_group,
  };
}
