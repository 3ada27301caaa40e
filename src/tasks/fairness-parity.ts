/** Zero-shot accuracy per group and the largest difference between two groups. */
export interface ZeroShotParity {
  per_group: Record<string, number>;
  max_gap: number;
}

/** `correct[i]`: whether item i's concept was the model's top label; `groups[i]`: its group. */
export function zeroShotParity(correct: readonly boolean[], groups: readonly string[]): ZeroShotParity {
  const totals = new Map<string, { right: number; all: number }>();
  groups.forEach((group, i) => {
    const t = totals.get(group) ?? { right: 0, all: 0 };
    t.all++;
    if (correct[i]) t.right++;
    totals.set(group, t);
  });
  const per_group: Record<string, number> = {};
  for (const group of [...totals.keys()].sort()) {
    const t = totals.get(group)!;
    per_group[group] = t.right / t.all;
  }
  const accuracies = Object.values(per_group);
  return {
    per_group,
    max_gap: accuracies.length ? Math.max(...accuracies) - Math.min(...accuracies) : 0,
  };
}
