// A video as timed segments: sampled frames embedded as images, sound-track windows embedded as audio.
// Index, classify and moderate all read a video through `embedVideo`.
import { statSync } from 'node:fs';
import type { Encoder } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import { DEFAULT_MAX_AUDIO_SECONDS, declaredAudioSeconds } from '../media/audio.js';
import { detectFile } from '../media/detect.js';
import { DEFAULT_MAX_INPUT_BYTES, readMediaBytes } from '../media/input.js';
import {
  checkVideoLimits,
  decodeBound,
  decodeVideo,
  FFMPEG_HINT,
  findVideoTools,
  probeVideo,
  type VideoOptions,
  type VideoProbe,
  type VideoTools,
} from '../media/video.js';
import type { Item, MetaValue } from '../store/store.js';
import type { CollectionSpace } from './spaces.js';

export type { VideoOptions } from '../media/video.js';

export const VIDEO_DEFAULTS: Required<VideoOptions> = {
  frameEvery: 2,
  sceneThreshold: 0.3,
  maxFrames: 300,
  audioWindow: 2,
  maxAudioWindows: 600,
};

/** One embedded piece of a video: a frame (image) or a window of its sound (audio). */
export interface VideoSegment {
  modality: 'image' | 'audio';
  /** Start, seconds from the beginning of the video. */
  t: number;
  /** Seconds it stands for: a frame until the next sampled frame, a sound window its length. */
  duration: number;
  vector: Float32Array;
}

export interface EmbeddedVideo {
  duration: number;
  /** Frames and sound windows, ordered by time (frames first at equal times). */
  segments: VideoSegment[];
}

const BATCH = 16;
/** Frames as small as a model's input: 256 px on the short side covers 224-px towers. */
const FRAME_SIZE = 256;
/** Sound is decoded at the audio model's rate (ffmpeg resamples well and fast), else at 48 kHz, the highest towers use. */
const AUDIO_RATE = 48_000;
/** About -60 dBFS. */
const SILENCE_RMS = 0.001;

/** The options with defaults filled in; BAD_ARGUMENT names the first bad one. */
export function checkVideoOptions(options: VideoOptions): Required<VideoOptions> {
  const o = {
    ...VIDEO_DEFAULTS,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  };
  const positive = (name: string, value: number) => {
    if (!Number.isFinite(value) || value <= 0)
      throw xmodalError('BAD_ARGUMENT', `${name} must be a positive number, got ${value}`);
  };
  positive('frame-every', o.frameEvery);
  positive('audio-window', o.audioWindow);
  positive('max-frames', o.maxFrames);
  positive('max-audio-windows', o.maxAudioWindows);
  if (!(o.sceneThreshold >= 0 && o.sceneThreshold <= 1))
    throw xmodalError('BAD_ARGUMENT', `scene-threshold must be 0..1, got ${o.sceneThreshold}`);
  return o;
}

/** ffmpeg and ffprobe, or UNSUPPORTED_FORMAT naming the file and how to install them. */
export function videoToolsFor(path: string): VideoTools {
  const tools = findVideoTools();
  if (!tools) throw xmodalError('UNSUPPORTED_FORMAT', `${path}: video skipped: ${FFMPEG_HINT}`);
  return tools;
}

/** Embeds `items` in batches as they stream in (decoding reads ahead meanwhile, see `decodeVideo`). */
async function embedStream<T extends { t: number }>(
  items: AsyncIterable<T>,
  embed: (batch: T[]) => Promise<Float32Array[]>,
  onSegment: (item: T, vector: Float32Array) => unknown,
  stopped: { now: boolean },
): Promise<void> {
  let batch: T[] = [];
  let embedded = 0;
  const flush = async () => {
    const vectors = await embed(batch);
    for (const [i, item] of batch.entries()) onSegment(item, vectors[i]);
    embedded += batch.length;
    batch = [];
  };
  for await (const item of items) {
    // The other stream failed: leaving the loop stops ffmpeg.
    if (stopped.now) return;
    batch.push(item);
    // The first item goes alone: the model loads while ffmpeg decodes on, instead of after a whole batch.
    if (batch.length >= (embedded === 0 ? 1 : BATCH)) await flush();
  }
  if (batch.length) await flush();
}

/** A video's tools and header, checked against the limits before anything is decoded. */
async function openVideo(path: string): Promise<{ tools: VideoTools; probe: VideoProbe }> {
  const tools = videoToolsFor(path);
  const probe = await probeVideo(path, tools);
  checkVideoLimits(probe);
  return { tools, probe };
}

/** Whether an encoder sees this video's pictures or hears its sound. */
function embedsSomeOf(encoder: Encoder, probe: VideoProbe): boolean {
  return (
    (probe.hasVideo && encoder.modalities.includes('image')) ||
    (probe.hasAudio && encoder.modalities.includes('audio'))
  );
}

function nothingToEmbed(what: string, probe: VideoProbe) {
  return xmodalError(
    'MODALITY_UNSUPPORTED',
    probe.hasVideo || probe.hasAudio
      ? `${what} embeds neither this video's pictures nor its sound`
      : 'the file has no picture or sound stream',
  );
}

/**
 * Decodes a video with ffmpeg and embeds what is seen (sampled frames) and heard (sound windows), both
 * streamed: frames and samples are dropped once embedded, only the vectors stay.
 */
export async function embedVideo(
  encoder: Encoder,
  path: string,
  options: VideoOptions = {},
  opened?: { tools: VideoTools; probe: VideoProbe },
): Promise<EmbeddedVideo> {
  const o = checkVideoOptions(options);
  const { tools, probe } = opened ?? (await openVideo(path));
  const seesFrames = probe.hasVideo && encoder.modalities.includes('image');
  const hearsSound = probe.hasAudio && encoder.modalities.includes('audio');
  if (!seesFrames && !hearsSound) throw nothingToEmbed(encoder.id, probe);
  const bound = decodeBound(probe);
  // Long videos are sampled more sparsely, so a video never has more than about maxFrames frames.
  const every = Math.max(o.frameEvery, (probe.duration ?? 0) / (o.maxFrames / 2));
  const window = Math.max(o.audioWindow, (probe.duration ?? 0) / o.maxAudioWindows);
  const sampleRate = hearsSound ? ((await encoder.audioSampleRate?.()) ?? AUDIO_RATE) : AUDIO_RATE;

  const frames: VideoSegment[] = [];
  const sounds: VideoSegment[] = [];
  let lastKept = Number.NEGATIVE_INFINITY;
  const keepFrame = (t: number) => {
    // Scene changes fill what the regular samples leave of the cap; regular samples are always kept.
    const keep = frames.length < o.maxFrames || t - lastKept >= every;
    if (keep) lastKept = t;
    return keep;
  };
  const stopped = { now: false };
  const stopOnError = (error: unknown) => {
    stopped.now = true;
    throw error;
  };
  const decoded = decodeVideo(
    path,
    {
      frames: seesFrames
        ? { every, sceneThreshold: o.sceneThreshold, minGap: Math.min(0.5, every), size: FRAME_SIZE }
        : undefined,
      sound: hearsSound ? { window, sampleRate, silence: SILENCE_RMS } : undefined,
    },
    tools,
  );
  await Promise.all([
    decoded.frames &&
      embedStream(
        filter(decoded.frames, (f) => {
          bound(f.t);
          return keepFrame(f.t);
        }),
        (batch) => encoder.embedImages(batch.map((f) => f.png)),
        (f, vector) => frames.push({ modality: 'image', t: f.t, duration: 0, vector }),
        stopped,
      ).catch(stopOnError),
    decoded.sound &&
      embedStream(
        filter(decoded.sound, (w) => {
          bound(w.t + w.duration);
          return true;
        }),
        (batch) => encoder.embedAudio(batch.map((w) => ({ samples: w.samples, sampleRate: w.sampleRate }))),
        (w, vector) => sounds.push({ modality: 'audio', t: w.t, duration: w.duration, vector }),
        stopped,
      ).catch(stopOnError),
  ]);
  const lastFrame = frames.at(-1)?.t ?? 0;
  const lastSound = sounds.at(-1);
  const duration =
    probe.duration ?? Math.max(lastFrame + every, lastSound ? lastSound.t + lastSound.duration : 0);
  frames.forEach((frame, i) => {
    frame.duration = Math.max(0, (frames[i + 1]?.t ?? duration) - frame.t);
  });
  if (frames.length === 0 && sounds.length === 0)
    throw xmodalError('BAD_INPUT', 'no frame or sound could be decoded from the video');
  const segments = [...frames, ...sounds].sort(
    (a, b) => a.t - b.t || (a.modality === b.modality ? 0 : a.modality === 'image' ? -1 : 1),
  );
  return { duration, segments };
}

async function* filter<T>(items: AsyncIterable<T>, keep: (item: T) => boolean): AsyncGenerator<T> {
  for await (const item of items) if (keep(item)) yield item;
}

/** The id of a video's frame or sound window: the video's path, what it is, and when. */
export function segmentId(path: string, segment: Pick<VideoSegment, 'modality' | 't'>): string {
  return `${path}#${segment.modality === 'image' ? 'frame' : 'sound'}=${segment.t.toFixed(3)}`;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

function momentMeta(video: boolean, segment: VideoSegment, whole: number): Record<string, MetaValue> {
  const when = { t: round3(segment.t), duration: round3(segment.duration) };
  return video
    ? { video: true, ...when, videoDuration: round3(whole) }
    : { recording: true, ...when, recordingDuration: round3(whole) };
}

/**
 * A video file as store items for each space that sees or hears it: each frame an image item and each sound
 * window an audio item, all with the video's path as `uri`, its type as `mime`, and `meta.video`, `meta.t`,
 * `meta.duration`. The video is probed once and checked against the limits before any space decodes it.
 * A long audio recording goes the same way: sound windows with `meta.recording` instead of `meta.video`.
 */
export async function videoItemsInSpaces(
  spaces: readonly CollectionSpace[],
  file: { path: string; hash: string; mime: string },
  options: { tags?: string[]; video?: VideoOptions } = {},
): Promise<Map<CollectionSpace, Item[]>> {
  const opened = await openVideo(file.path);
  const takers = spaces.filter((space) => embedsSomeOf(space.encoder, opened.probe));
  if (takers.length === 0) throw nothingToEmbed(spaces.map((s) => s.encoder.id).join(', '), opened.probe);
  const bySpace = new Map<CollectionSpace, Item[]>();
  for (const space of takers) {
    const { duration, segments } = await embedVideo(space.encoder, file.path, options.video, opened);
    bySpace.set(
      space,
      segments.map((segment) => ({
        id: segmentId(file.path, segment),
        vector: segment.vector,
        modality: segment.modality,
        uri: file.path,
        contentHash: file.hash,
        mime: file.mime,
        tags: options.tags,
        // A long recording's sound windows are moments too, told from a video's by `recording`.
        meta: momentMeta(opened.probe.hasVideo, segment, duration),
      })),
    );
  }
  return bySpace;
}

const MIN_RECORDING_BYTES = 256 * 1024;

/** Larger than a file read whole may be: an audio file this size is a recording, whatever its headers say. */
export function tooLargeForAClip(size: number): boolean {
  return size > DEFAULT_MAX_INPUT_BYTES;
}

/**
 * Whether an audio file (read whole: `bytes`; its caller has recognised it as audio) is a recording too long to
 * be one clip by its headers: it is indexed, classified and moderated moment by moment, as a video's sound is.
 */
export async function isLongRecording(bytes: Uint8Array): Promise<boolean> {
  // Under 3.5 kbit/s for 600 s: no codec people record with, so most clips skip reading their headers twice.
  if (bytes.length < MIN_RECORDING_BYTES) return false;
  return ((await declaredAudioSeconds(bytes)) ?? 0) > DEFAULT_MAX_AUDIO_SECONDS;
}

/** Whether a command-line argument names a file taken moment by moment (by content): a video or a long recording. */
export async function hasMoments(path: string): Promise<boolean> {
  const info = statSync(path, { throwIfNoEntry: false });
  if (!info?.isFile() || info.size === 0) return false;
  const modality = (await detectFile(path))?.modality;
  if (modality === 'video') return true;
  if (modality !== 'audio') return false;
  if (tooLargeForAClip(info.size)) return true;
  return (
    info.size >= MIN_RECORDING_BYTES &&
    isLongRecording(await readMediaBytes(path, 'file', DEFAULT_MAX_INPUT_BYTES))
  );
}
