// The library's zero-shot and model-building calls: classify, moderate (+ calibrate), eval and adapt, with the
// options of their CLI commands and the results they print with --json.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { saveAdapter } from '../encoders/adapter.js';
import type { Encoder, Modality } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import type { Store } from '../store/store.js';
import {
  type AdaptReport,
  type Pair,
  pairRetrieval,
  type RetrievalScores,
  readPairs,
  trainAdapter,
} from '../tasks/adapt.js';
import { type AuditResult, auditEncoder } from '../tasks/audit.js';
import { auditSvg } from '../tasks/audit-plot.js';
import {
  type CalibrationReport,
  calibratePolicy,
  type LabelledExample,
  readManifest,
} from '../tasks/calibrate.js';
import { classify as classifyInput, readLabelsFile } from '../tasks/classify.js';
import { DEFAULT_DEBIAS_WEIGHT } from '../tasks/debias.js';
import { type DebiasReport, debiasProbes, heldOutGap } from '../tasks/debias-probes.js';
import { type EvalReport, evaluate as evaluateManifest } from '../tasks/eval.js';
import {
  checkPolicy,
  type ModerationResult,
  moderate as moderateInput,
  type Policy,
  readPolicy,
} from '../tasks/moderate.js';
import { DEFAULT_POLICY } from '../tasks/policies/default.js';
import { builtInProbeSet, readProbeFile } from '../tasks/probe-set.js';
import { writePlot } from '../tasks/quality-plot.js';
import { classifyVideo, moderateVideo, type VideoModeration } from '../tasks/video-labels.js';
import { type InputLike, loadModel, type ModelOptions, toInput, withModel } from './model.js';

/** `xmodal classify`'s options. */
export interface ClassifyRequest extends ModelOptions {
  /** The labels to choose between (`--labels`), and/or a file of them (`--labels-file`). */
  labels?: readonly string[];
  labelsFile?: string;
  /** Language of the built-in prompt templates: en, it, de, fr, es (`--lang`). */
  lang?: string;
  /** Own prompt templates with `{}` for the label (`--template`). */
  templates?: readonly string[];
  /** Only the best k labels (`-k`). */
  k?: number;
}

/** `xmodal classify --json`: probabilities over the given labels, best first. */
export interface ClassifyResult {
  labels: { label: string; score: number }[];
}

/** Zero-shot classification of an image, a sound or a text against labels you name (`xmodal classify`). */
export async function classify(input: InputLike, request: ClassifyRequest): Promise<ClassifyResult> {
  const labels = [
    ...(request.labels ?? []),
    ...(request.labelsFile ? await readLabelsFile(request.labelsFile) : []),
  ];
  if (labels.length === 0) throw xmodalError('BAD_ARGUMENT', 'give labels or a labelsFile');
  const resolved = await toInput(input);
  return withModel(request, async (encoder) => {
    const scores = await classifyInput(encoder, resolved, {
      labels,
      k: request.k,
      lang: request.lang,
      templates: request.templates,
    });
    return { labels: scores.map(({ label, score }) => ({ label, score })) };
  });
}

/** `xmodal classify --json` on a video or a long recording: label scores moment by moment. */
export interface MomentsClassifyResult {
  /** Seconds. */
  duration: number;
  moments: {
    t: number;
    end: number;
    modality: 'image' | 'audio';
    labels: { label: string; score: number }[];
  }[];
}

/**
 * Classifies a video or a long recording moment by moment (`xmodal classify clip.mp4`): every frame and sound
 * window is scored, and neighbours with the same best label become one moment. Needs ffmpeg.
 */
export async function classifyMoments(
  path: string,
  request: ClassifyRequest,
): Promise<MomentsClassifyResult> {
  const labels = [
    ...(request.labels ?? []),
    ...(request.labelsFile ? await readLabelsFile(request.labelsFile) : []),
  ];
  if (labels.length === 0) throw xmodalError('BAD_ARGUMENT', 'give labels or a labelsFile');
  return withModel(request, async (encoder) => {
    const { duration, moments } = await classifyVideo(encoder, path, {
      labels,
      k: request.k,
      lang: request.lang,
      templates: request.templates,
    });
    return {
      duration,
      moments: moments.map(({ t, end, modality, labels }) => ({
        t,
        end,
        modality,
        labels: labels.map(({ label, score }) => ({ label, score })),
      })),
    };
  });
}

/** A policy given inline, or the path of its JSON file (`--policy`); default the shipped policy. */
export type PolicyLike = Policy | string;

async function policyOf(policy: PolicyLike | undefined): Promise<Policy> {
  if (policy === undefined) return DEFAULT_POLICY;
  if (typeof policy === 'string') return readPolicy(policy);
  checkPolicy(policy);
  return policy;
}

/** `xmodal moderate`'s options. */
export interface ModerateRequest extends ModelOptions {
  policy?: PolicyLike;
}

/** Checks an image, a sound or a text against a moderation policy (`xmodal moderate`); zero-shot, see the README. */
export async function moderate(input: InputLike, request: ModerateRequest = {}): Promise<ModerationResult> {
  const policy = await policyOf(request.policy);
  const resolved = await toInput(input);
  return withModel(request, (encoder) => moderateInput(encoder, resolved, policy));
}

/**
 * Checks a video or a long recording against a policy moment by moment (`xmodal moderate clip.mp4`): safe when no
 * frame or sound window is flagged; the flagged moments with their times. Needs ffmpeg.
 */
export async function moderateMoments(path: string, request: ModerateRequest = {}): Promise<VideoModeration> {
  const policy = await policyOf(request.policy);
  return withModel(request, (encoder) => moderateVideo(encoder, path, policy));
}

/** `xmodal moderate calibrate`'s options. */
export interface CalibrateRequest extends ModelOptions {
  /** Labelled examples: a JSON Lines manifest path (`--manifest`) or the examples themselves. */
  manifest: string | readonly { input: InputLike; labels: readonly string[]; ref?: string }[];
  policy?: PolicyLike;
  /** Precision each unsafe category should reach, default 0.9 (`--target-precision`). */
  targetPrecision?: number;
  /** How sure the threshold must be of that precision, default 0.95 (`--confidence`). */
  confidence?: number;
  /** Share of examples held out to report on, default 0.3 (`--holdout`). */
  holdout?: number;
  /** Write the calibrated policy to this JSON file (`--out`). */
  out?: string;
}

/** Chooses each unsafe category's threshold for a target precision from labelled examples (`xmodal moderate calibrate`). */
export async function calibrate(request: CalibrateRequest): Promise<CalibrationReport> {
  const policy = await policyOf(request.policy);
  const examples: LabelledExample[] =
    typeof request.manifest === 'string'
      ? await readManifest(request.manifest)
      : await Promise.all(
          request.manifest.map(async (e, i) => ({
            ref: e.ref ?? (typeof e.input === 'string' ? e.input : `example ${i}`),
            input: await toInput(e.input),
            labels: [...e.labels],
          })),
        );
  return withModel(request, async (encoder) => {
    const report = await calibratePolicy(encoder, policy, examples, {
      targetPrecision: request.targetPrecision ?? 0.9,
      confidence: request.confidence ?? 0.95,
      holdout: request.holdout ?? 0.3,
    });
    if (request.out) await writeFile(request.out, `${JSON.stringify(report.policy, null, 2)}\n`);
    return report;
  });
}

/** `xmodal audit`'s options. */
export interface AuditRequest extends ModelOptions {
  /** An own probe set, JSON Lines (`--probe`); default the built-in OpenMoji people. */
  probe?: string;
  /** Ranking depth of skew@k and NDKL, default 15 (`-k`). */
  k?: number;
  /** Label permutations per association p-value, default 1000 (`--permutations`). */
  permutations?: number;
  /** Seed of the permutations, default 1 (`--seed`). */
  seed?: number;
  /** Draw per-group bars to an .svg or .png file (`--plot`). */
  plot?: string;
}

/** The audit over a model (`encoder`), with a collection's items as the exposure pool when `store` is given. */
export async function runAudit(encoder: Encoder, request: AuditRequest, store?: Store): Promise<AuditResult> {
  const probes = request.probe ? await readProbeFile(request.probe) : await builtInProbeSet();
  const result = await auditEncoder(encoder, probes, {
    k: request.k,
    permutations: request.permutations ?? 1000,
    seed: request.seed ?? 1,
    store,
  });
  if (request.plot) await writePlot(request.plot, auditSvg(result));
  return result;
}

/**
 * Bias audit of a model (`xmodal audit`): retrieval exposure, zero-shot accuracy and word associations per
 * skin tone and gender. `Collection.audit` audits a collection's model over its own labelled items.
 */
export function audit(request: AuditRequest = {}): Promise<AuditResult> {
  return withModel(request, (encoder) => runAudit(encoder, request));
}

/** `xmodal eval`'s options. */
export interface EvaluateRequest extends ModelOptions {
  /** JSON Lines: `{"id","modality","path"|"text","label","lang"?}` per line (`--manifest`). */
  manifest: string;
}

/** Retrieval recall, zero-shot accuracy and modality gap of a model on a labelled manifest (`xmodal eval`). */
export function evaluate(request: EvaluateRequest): Promise<EvalReport> {
  return withModel(request, (encoder) => evaluateManifest(encoder, request.manifest));
}

/** `xmodal adapt`'s options. */
export interface AdaptRequest extends ModelOptions {
  /** Training pairs: a JSON Lines file (`--pairs`) or the pairs themselves. */
  pairs: string | readonly { a: InputLike; b: InputLike }[];
  /** The folder to write the adapter to (`--out`). */
  out: string;
  /** Held-out pairs to report Recall before and after on (`--test`). */
  test?: string | readonly { a: InputLike; b: InputLike }[];
  /** Share of pairs for early stopping, default 0.2 (`--validation`). */
  validation?: number;
  /** Most passes over the pairs, default 60 (`--epochs`). */
  epochs?: number;
  /** Pairs per step, default 128 (`--batch-size`). */
  batchSize?: number;
  /** Adam learning rate, default 0.001 (`--lr`). */
  learningRate?: number;
  /** Adapt only these modalities (`--modalities`); default both sides. */
  modalities?: Modality[];
  onEpoch?: (progress: { epoch: number; trainLoss: number; validationLoss: number }) => void;
  /** Equalise each people-emoji concept's similarity across `skin_tone` or `gender` groups while training (`--debias`). */
  debias?: string;
  /** Weight of the debiasing penalty, default 100 (`--debias-weight`). */
  debiasWeight?: number;
}

/** `xmodal adapt --json`. */
export interface AdaptResult extends AdaptReport {
  /** The adapter folder: use it as `adapter` (or `model`) in any call. */
  adapter: string;
  /** The model it adapts. */
  model: string;
  /** Recall before and after on the held-out `test` pairs. */
  test?: { pairs: number; before: RetrievalScores; after: RetrievalScores };
  /** With `debias`: the group gap on held-out concepts before and after. */
  debias?: DebiasReport;
}

async function pairsOf(pairs: string | readonly { a: InputLike; b: InputLike }[]): Promise<Pair[]> {
  if (typeof pairs === 'string') return readPairs(pairs);
  return Promise.all(pairs.map(async (p) => ({ a: await toInput(p.a), b: await toInput(p.b) })));
}

/** Trains a small adapter on frozen embeddings from matching pairs (`xmodal adapt`) and writes it to `out`. */
export async function adapt(request: AdaptRequest): Promise<AdaptResult> {
  const pairs = await pairsOf(request.pairs);
  const test = request.test ? await pairsOf(request.test) : undefined;
  for (const m of request.modalities ?? [])
    if (!['text', 'image', 'audio'].includes(m))
      throw xmodalError('BAD_ARGUMENT', `modalities are text, image or audio, not "${m}"`);
  return withModel(request, async (encoder) => {
    const debias = request.debias
      ? await debiasProbes(encoder, request.debias, request.debiasWeight ?? DEFAULT_DEBIAS_WEIGHT)
      : undefined;
    const { adapter, report } = await trainAdapter(encoder, pairs, {
      debias: debias?.penalty,
      validation: request.validation ?? 0.2,
      epochs: request.epochs ?? 60,
      batchSize: request.batchSize ?? 128,
      learningRate: request.learningRate ?? 0.001,
      modalities: request.modalities,
      onEpoch: request.onEpoch,
    });
    const folder = resolve(request.out);
    saveAdapter(folder, adapter);
    const debiasReport = debias && heldOutGap(debias, adapter);
    let testReport: AdaptResult['test'];
    if (test) {
      const adapted = await loadModel({ ...request, model: folder, adapter: undefined });
      try {
        testReport = {
          pairs: test.length,
          before: await pairRetrieval(encoder, test),
          after: await pairRetrieval(adapted, test),
        };
      } finally {
        await adapted.dispose();
      }
    }
    return { adapter: folder, model: adapter.model, ...report, test: testReport, debias: debiasReport };
  });
}
