import { groupShares } from './fairness-exposure.js';

// Greedy proportional re-ranking in the spirit of FA*IR (Zehlike et al. 2017): at every rank, the group furthest
// below its proportional share takes the place if its best remaining item is within `margin` of the best one.

export interface FairCandidate {
  score: number;
  group: string;
}

export interface FairRanking {
  /** Indexes into the candidates: the fair top k, in order. */
  order: number[];
  /** Each group's share among the candidates: its target share of every prefix of the top k. */
  share: Record<string, number>;
}

/**
 * Re-ranks candidates so that each group's count in every prefix of the top k follows its share among the
 * candidates (largest deficit first, ties to the better item). It never places an item above one scoring more than
 * `margin` higher, so no item scoring more than `margin` above the lowest kept item is dropped from the top k.
 */
export function fairRerank(candidates: readonly FairCandidate[], k: number, margin: number): FairRanking {
  const share = groupShares(candidates.map((c) => c.group));
  const remaining = candidates
    .map((_, i) => i)
    .sort((a, b) => candidates[b].score - candidates[a].score || a - b);
  const counts: Record<string, number> = {};
  const order: number[] = [];
  while (order.length < Math.min(k, candidates.length)) {
    const position = order.length + 1;
    const best = candidates[remaining[0]].score;
    // Each group's best remaining item (remaining is best first), most under-represented group first.
    const firsts = new Map<string, number>();
    remaining.forEach((i, at) => {
      if (!firsts.has(candidates[i].group)) firsts.set(candidates[i].group, at);
    });
    const deficit = (g: string) => share[g] * position - (counts[g] ?? 0);
    const [, at] = [...firsts]
      .filter(([, at]) => candidates[remaining[at]].score >= best - margin)
      .sort(([g, a], [h, b]) => deficit(h) - deficit(g) || a - b)[0];
    const [chosen] = remaining.splice(at, 1);
    order.push(chosen);
    counts[candidates[chosen].group] = (counts[candidates[chosen].group] ?? 0) + 1;
  }
  return { order, share };
}
