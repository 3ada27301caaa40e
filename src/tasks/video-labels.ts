// Classify and moderate a video moment by moment: every frame and sound window is scored, and neighbours
// that come out the same (same best label, same flagged categories) become one moment with its times.
import type { Encoder } from '../encoders/encoder.js';
import { type ClassifyOptions, classifyVectors, type LabelScore } from './classify.js';
import { moderateVectors, type Policy } from './moderate.js';
import { embedVideo, type VideoOptions, type VideoSegment } from './video.js';

/** A stretch of a video: seen (frames) or heard (sound windows), from `t` to `end` seconds. */
export interface VideoMoment {
  modality: 'image' | 'audio';
  t: number;
  end: number;
}

export interface LabelledMoment extends VideoMoment {
  /** Label scores averaged over the moment's frames or windows, best first. */
  labels: LabelScore[];
}

export interface FlaggedMoment extends VideoMoment {
  /** Unsafe categories at or over their threshold; each score is the highest in the moment. */
  flagged: { category: string; score: number; threshold: number }[];
}

export interface VideoModeration {
  safe: boolean;
  duration: number;
  /** Only the moments with something flagged, in time order. */
  flagged: FlaggedMoment[];
}

/** Runs of neighbouring segments of one modality with the same key, in time order. */
function runs<T>(segments: readonly VideoSegment[], results: readonly T[], key: (r: T) => string) {
  const out: { modality: 'image' | 'audio'; t: number; end: number; members: T[] }[] = [];
  const open = new Map<string, (typeof out)[number]>();
  segments.forEach((segment, i) => {
    const k = key(results[i]);
    const last = open.get(segment.modality);
    const end = segment.t + segment.duration;
    if (last && key(last.members[0]) === k) {
      last.end = end;
      last.members.push(results[i]);
    } else {
      const run = { modality: segment.modality, t: segment.t, end, members: [results[i]] };
      out.push(run);
      open.set(segment.modality, run);
    }
  });
  return out.sort((a, b) => a.t - b.t || (a.modality === 'image' ? -1 : 1));
}

/** Scores every segment by modality, keeping the segments' order. */
async function perSegment<T>(
  segments: readonly VideoSegment[],
  score: (modality: 'image' | 'audio', vectors: Float32Array[]) => Promise<T[]>,
): Promise<T[]> {
  const out: T[] = new Array(segments.length);
  for (const modality of ['image', 'audio'] as const) {
    const at = segments.flatMap((s, i) => (s.modality === modality ? [i] : []));
    if (at.length === 0) continue;
    const scored = await score(
      modality,
      at.map((i) => segments[i].vector),
    );
    at.forEach((i, n) => {
      out[i] = scored[n];
    });
  }
  return out;
}

/** Zero-shot labels for a video, moment by moment: what is seen and what is heard, each with its times. */
export async function classifyVideo(
  encoder: Encoder,
  path: string,
  options: ClassifyOptions & { video?: VideoOptions },
): Promise<{ duration: number; moments: LabelledMoment[] }> {
  const { duration, segments } = await embedVideo(encoder, path, options.video);
  const all = { ...options, k: undefined };
  const scores = await perSegment(segments, (modality, vectors) =>
    classifyVectors(encoder, modality, vectors, all),
  );
  const moments = runs(segments, scores, (labels) => labels[0].label).map(({ members, ...moment }) => {
    const mean = new Map<string, number>();
    for (const labels of members)
      for (const l of labels) mean.set(l.label, (mean.get(l.label) ?? 0) + l.score / members.length);
    const labels = [...mean]
      .map(([label, score]) => ({
        label,
        score,
        similarity:
          members.reduce((s, m) => s + m.find((l) => l.label === label)!.similarity, 0) / members.length,
      }))
      .sort((a, b) => b.score - a.score)
      .slice(0, options.k);
    return { ...moment, labels };
  });
  return { duration, moments };
}

/** A video against a moderation policy: safe when no frame or sound window is flagged; flagged moments with times. */
export async function moderateVideo(
  encoder: Encoder,
  path: string,
  policy: Policy,
  options: { video?: VideoOptions } = {},
): Promise<VideoModeration> {
  const { duration, segments } = await embedVideo(encoder, path, options.video);
  const results = await perSegment(segments, (modality, vectors) =>
    moderateVectors(
      encoder,
      vectors.map(() => modality),
      vectors,
      policy,
    ),
  );
  const flagged = runs(segments, results, (r) =>
    r.flagged
      .map((f) => f.category)
      .sort()
      .join(','),
  )
    .filter((run) => run.members[0].flagged.length > 0)
    .map(({ members, ...moment }) => ({
      ...moment,
      flagged: members[0].flagged
        .map((f) => ({
          ...f,
          score: Math.max(...members.map((m) => m.flagged.find((g) => g.category === f.category)!.score)),
        }))
        .sort((a, b) => b.score - a.score),
    }));
  return { safe: flagged.length === 0, duration, flagged };
}
