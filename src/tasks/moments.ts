// Search hits inside videos become moments: a video's hits close in time fold into its best one.
import type { Modality } from '../encoders/encoder.js';
import type { Filter, SearchHit } from '../store/store.js';

/**
 * Frames and sound windows cut from a video carry `meta.video = true`, `meta.t` and `meta.duration`; sound
 * windows of a long recording `meta.recording = true` instead. Both fold into moments.
 */
export const VIDEO_FILTER: Filter = { meta: { video: true } };

/** What a result filter may ask for: a modality, or `video` for moments inside videos. */
export type ResultKind = Modality | 'video';

/** Hits of one video within this many seconds of a better hit belong to its moment. */
export const MOMENT_SECONDS = 5;

/** Where a hit plays when it is a moment of a video. */
export interface Moment {
  /** Seconds into the video of the best hit of the moment. */
  t?: number;
  /** The span of the moment's hits, seconds. */
  start?: number;
  end?: number;
}

/** `filter` narrowed to a modality, or to video moments. */
export function withKind(filter: Filter, kind: ResultKind | undefined): Filter {
  if (kind === undefined) return filter;
  if (kind === 'video') return { ...filter, meta: { ...filter.meta, ...VIDEO_FILTER.meta } };
  return { ...filter, modality: kind };
}

/** The time of an item cut from a video or a long recording, or undefined. */
export function momentTime(hit: Pick<SearchHit, 'meta'>): number | undefined {
  const cut = hit.meta?.video === true || hit.meta?.recording === true;
  return cut && typeof hit.meta?.t === 'number' ? hit.meta.t : undefined;
}

/**
 * Folds hits (best first) into moments: a video hit within `radius` seconds of a better hit of the same video
 * joins that hit's moment instead of being listed. Other hits pass through. Order is kept.
 */
export function groupMoments<H extends SearchHit>(
  hits: readonly H[],
  radius = MOMENT_SECONDS,
): (H & Moment)[] {
  const out: (H & Moment)[] = [];
  const momentsOf = new Map<string, (H & Moment)[]>();
  for (const hit of hits) {
    const t = momentTime(hit);
    if (t === undefined || !hit.uri) {
      out.push(hit);
      continue;
    }
    const end = t + (typeof hit.meta?.duration === 'number' ? hit.meta.duration : 0);
    const moments = momentsOf.get(hit.uri) ?? [];
    const home = moments.find((m) => Math.abs(m.t! - t) <= radius);
    if (home) {
      home.start = Math.min(home.start!, t);
      home.end = Math.max(home.end!, end);
      continue;
    }
    const moment: H & Moment = { ...hit, t, start: t, end };
    moments.push(moment);
    momentsOf.set(hit.uri, moments);
    out.push(moment);
  }
  return out;
}

/** `0:42`, `1:02:03`: a time as people read it off a player. */
export function formatTime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
}

/** Where a hit is: its file, and for a video moment `file @ 0:42`. */
export function hitPlace(
  hit: Pick<SearchHit, 'uri' | 'id' | 'meta'> & Moment,
  name = hit.uri ?? hit.id,
): string {
  const t = hit.t ?? momentTime(hit);
  return t === undefined ? name : `${name} @ ${formatTime(t)}`;
}
