import { dirname, resolve } from 'node:path';
import { probit } from 'simple-statistics';
import type { Encoder } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import { detectFile } from '../media/detect.js';
import type { Input } from './embed.js';
import { checkPolicy, moderateInputs, type Policy } from './moderate.js';
import { hashOrder } from './stable-order.js';
import { jsonLines, readUserFile } from './user-files.js';

/** One labelled example: the unsafe categories it belongs to (none: it is safe). */
export interface LabelledExample {
  /** The file path or text, as the manifest names it; also what the split is keyed on. */
  ref: string;
  input: Input;
  labels: string[];
}

export interface PrecisionRecall {
  /** Flagged examples that truly belong; null when nothing was flagged. */
  precision: number | null;
  /** Examples that belong and were flagged; null when none belong. */
  recall: number | null;
  positives: number;
  flagged: number;
}

export interface CategoryCalibration {
  category: string;
  threshold: number;
  /**
   * The precision the category keeps at this threshold with the asked confidence: the Wilson lower bound
   * of the calibration split's precision (null when no positive example was there to choose with).
   */
  precisionBound: number | null;
  /** Whether that bound reached the target precision. */
  reached: boolean;
  calibration: PrecisionRecall;
  heldOut: PrecisionRecall;
}

export interface CalibrationReport {
  /** The input policy with the chosen thresholds. */
  policy: Policy;
  targetPrecision: number;
  confidence: number;
  examples: { calibration: number; heldOut: number };
  categories: CategoryCalibration[];
}

export interface CalibrateOptions {
  targetPrecision: number;
  /**
   * How sure the chosen threshold must be of reaching the target: precision on a finite calibration split
   * is an estimate, so the threshold is chosen on its lower confidence bound. Default 0.95; 0.5 uses the
   * split's precision as it is.
   */
  confidence?: number;
  /** Share of the examples kept out of threshold choice and used to report on. Default 0.3. */
  holdout?: number;
}

/**
 * Chooses each unsafe category's threshold on a calibration split: the lowest one whose precision, by its
 * lower confidence bound, reaches the target (so recall is as high as it can be there), then reports
 * precision and recall on held-out data.
 */
export async function calibratePolicy(
  encoder: Encoder,
  policy: Policy,
  examples: readonly LabelledExample[],
  options: CalibrateOptions,
): Promise<CalibrationReport> {
  checkPolicy(policy);
  const target = options.targetPrecision;
  if (!(target > 0 && target <= 1))
    throw xmodalError('BAD_ARGUMENT', `target precision must be in (0, 1], got ${target}`);
  const confidence = options.confidence ?? 0.95;
  if (!(confidence >= 0.5 && confidence < 1))
    throw xmodalError('BAD_ARGUMENT', `confidence must be in [0.5, 1), got ${confidence}`);
  const unsafe = new Set(policy.unsafe.map((c) => c.name));
  for (const example of examples)
    for (const label of example.labels)
      if (!unsafe.has(label))
        throw xmodalError(
          'BAD_INPUT',
          `${example.ref}: label "${label}" is not an unsafe category of the policy`,
        );
  const { calibration, heldOut } = splitExamples(examples, options.holdout ?? 0.3);
  if (calibration.length === 0 || heldOut.length === 0)
    throw xmodalError('BAD_INPUT', `too few examples (${examples.length}) to keep some held out`);

  const score = async (split: LabelledExample[]) => {
    const results = await moderateInputs(
      encoder,
      split.map((e) => e.input),
      policy,
    );
    return results.map((r) => new Map(r.scores.map((s) => [s.category, s.score])));
  };
  const [calibrationScores, heldOutScores] = [await score(calibration), await score(heldOut)];

  const categories = policy.unsafe.map((category): CategoryCalibration => {
    const points = (split: LabelledExample[], scores: Map<string, number>[]) =>
      split.map((e, i) => ({
        score: scores[i].get(category.name)!,
        positive: e.labels.includes(category.name),
      }));
    const fit = points(calibration, calibrationScores);
    const chosen = chooseThreshold(fit, target, confidence) ?? {
      threshold: category.threshold!,
      precisionBound: null,
      reached: false,
    };
    return {
      category: category.name,
      ...chosen,
      calibration: precisionRecall(fit, chosen.threshold),
      heldOut: precisionRecall(points(heldOut, heldOutScores), chosen.threshold),
    };
  });
  const thresholds = new Map(categories.map((c) => [c.category, c.threshold]));
  return {
    policy: { ...policy, unsafe: policy.unsafe.map((c) => ({ ...c, threshold: thresholds.get(c.name)! })) },
    targetPrecision: target,
    confidence,
    examples: { calibration: calibration.length, heldOut: heldOut.length },
    categories,
  };
}

type Point = { score: number; positive: boolean };

/**
 * The lowest threshold whose precision, by its lower bound at `confidence`, reaches `target`, set halfway
 * to the next lower score; when none does, the one with the highest bound. Undefined when the split has no
 * positive example.
 */
export function chooseThreshold(
  points: readonly Point[],
  target: number,
  confidence = 0.95,
): { threshold: number; precisionBound: number; reached: boolean } | undefined {
  const positives = points.filter((p) => p.positive).length;
  if (positives === 0) return undefined;
  const sorted = [...points].sort((a, b) => b.score - a.score);
  let best: { index: number; bound: number; recall: number } | undefined;
  let lowestReaching: { index: number; bound: number } | undefined;
  let tp = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i].positive) tp++;
    // Cut only between distinct scores: everything at this score is in.
    if (i + 1 < sorted.length && sorted[i + 1].score === sorted[i].score) continue;
    const bound = precisionLowerBound(tp, i + 1, confidence);
    const recall = tp / positives;
    if (bound >= target) lowestReaching = { index: i, bound };
    if (!best || bound > best.bound || (bound === best.bound && recall > best.recall))
      best = { index: i, bound, recall };
  }
  const { index, bound } = lowestReaching ?? best!;
  const below = sorted[index + 1]?.score;
  const threshold = below === undefined ? sorted[index].score : (sorted[index].score + below) / 2;
  return { threshold, precisionBound: bound, reached: lowestReaching !== undefined };
}

/**
 * The Wilson score lower bound of a proportion `hits / n`, one-sided at `confidence` (0.5: the proportion
 * itself). Unlike the plain proportion it does not trust 3 hits out of 3 as much as 300 out of 300.
 */
export function precisionLowerBound(hits: number, n: number, confidence: number): number {
  if (n === 0) return 0;
  const p = hits / n;
  const z = probit(confidence); // 0 at confidence 0.5, where the bound is p itself
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const spread = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return (centre - spread) / (1 + z2 / n);
}

export function precisionRecall(points: readonly Point[], threshold: number): PrecisionRecall {
  const flagged = points.filter((p) => p.score >= threshold);
  const positives = points.filter((p) => p.positive).length;
  const tp = flagged.filter((p) => p.positive).length;
  return {
    precision: flagged.length ? tp / flagged.length : null,
    recall: positives ? tp / positives : null,
    positives,
    flagged: flagged.length,
  };
}

/**
 * A stable split: examples grouped by their label set, each group ordered by a hash of its ref, and every
 * n-th kept out, so each category has held-out examples and re-runs agree.
 */
export function splitExamples(
  examples: readonly LabelledExample[],
  holdout: number,
): { calibration: LabelledExample[]; heldOut: LabelledExample[] } {
  if (!(holdout > 0 && holdout < 1))
    throw xmodalError('BAD_ARGUMENT', `holdout must be in (0, 1), got ${holdout}`);
  const groups = new Map<string, LabelledExample[]>();
  for (const e of examples) {
    const key = [...e.labels].sort().join('\n');
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const calibration: LabelledExample[] = [];
  const heldOut: LabelledExample[] = [];
  for (const group of groups.values()) {
    // Running rounding spreads the held-out share evenly through each group.
    hashOrder(group, (e) => e.ref).forEach((e, i) => {
      (Math.round((i + 1) * holdout) > Math.round(i * holdout) ? heldOut : calibration).push(e);
    });
  }
  return { calibration, heldOut };
}

/**
 * A labelled manifest: JSON Lines of `{"file": "path", "labels": ["weapons"]}` (paths relative to the
 * manifest) or `{"text": "...", "labels": []}`; an empty or missing `labels` means safe.
 */
export async function readManifest(path: string): Promise<LabelledExample[]> {
  const text = await readUserFile(path, 'manifest');
  const examples: LabelledExample[] = [];
  for (const { where, row } of jsonLines(text, path)) {
    const labels = row.labels ?? [];
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string'))
      throw xmodalError('BAD_INPUT', `${where}: "labels" must be a list of category names`);
    if (typeof row.text === 'string') {
      examples.push({ ref: row.text, input: { modality: 'text', text: row.text }, labels });
    } else if (typeof row.file === 'string') {
      const file = resolve(dirname(path), row.file);
      const detected = await detectFile(file);
      if (!detected || detected.modality === 'text' || detected.modality === 'video')
        throw xmodalError('UNSUPPORTED_FORMAT', `${where}: ${row.file} is not an image or audio file`);
      examples.push({ ref: row.file, input: { modality: detected.modality, source: file }, labels });
    } else throw xmodalError('BAD_INPUT', `${where}: needs "file" or "text"`);
  }
  return examples;
}
