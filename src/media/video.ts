// Video decoding through the ffmpeg and ffprobe programs found on PATH: nothing is downloaded or bundled.
// Frames and sound stream out of ffmpeg's pipes, so a long video is never held in memory.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { xmodalError } from '../errors.js';
import { rmsLevel } from './audio.js';

export interface VideoTools {
  ffmpeg: string;
  ffprobe: string;
}

export const FFMPEG_HINT =
  'install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg) so that ffmpeg and ffprobe are on PATH';

function onPath(program: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** ffmpeg and ffprobe from PATH, or undefined when either is missing. */
export function findVideoTools(path = process.env.PATH ?? ''): VideoTools | undefined {
  const ffmpeg = onPath('ffmpeg', path);
  const ffprobe = onPath('ffprobe', path);
  return ffmpeg && ffprobe ? { ffmpeg, ffprobe } : undefined;
}

/** The tools, or UNSUPPORTED_FORMAT with the install hint. */
export function requireVideoTools(): VideoTools {
  const tools = findVideoTools();
  if (!tools) throw xmodalError('UNSUPPORTED_FORMAT', `video needs ffmpeg: ${FFMPEG_HINT}`);
  return tools;
}

export interface VideoProbe {
  /** Seconds; undefined when the container does not say. */
  duration?: number;
  hasVideo: boolean;
  hasAudio: boolean;
  /** The largest picture any video stream declares, pixels. */
  width: number;
  height: number;
}

/** A video longer than this (declared, or found while decoding) is refused: 4 hours. */
export const MAX_VIDEO_SECONDS = 4 * 3600;
/** A picture wider or taller than this is refused before ffmpeg allocates a frame for it (8K is 8192 x 4320). */
export const MAX_VIDEO_SIDE = 8192;

interface Finished {
  code: number | null;
  stderr: string;
}

/** Runs a program to its end, keeping its output (ffprobe's JSON is small). */
function runToEnd(program: string, args: string[]): Promise<Finished & { stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < 1 << 20) stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 65536) stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The last meaningful line ffmpeg or ffprobe wrote, for a one-line reason. */
function lastError(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.includes('Parsed_showinfo'));
  return (lines.at(-1) ?? 'unknown error').replace(/^\[[^\]]*\]\s*/, '').slice(0, 200);
}

/** What the container declares: streams, duration and picture size (ffprobe reads headers, decodes nothing whole). */
export async function probeVideo(path: string, tools: VideoTools): Promise<VideoProbe> {
  const { code, stdout, stderr } = await runToEnd(tools.ffprobe, [
    '-v',
    'error',
    '-show_entries',
    'format=duration:stream=codec_type,width,height:stream_disposition=attached_pic',
    '-of',
    'json',
    path,
  ]);
  if (code !== 0) throw xmodalError('BAD_INPUT', `cannot read video (${lastError(stderr)})`);
  let parsed: {
    format?: { duration?: string };
    streams?: {
      codec_type?: string;
      width?: number;
      height?: number;
      disposition?: { attached_pic?: number };
    }[];
  };
  try {
    parsed = JSON.parse(stdout);
  } catch (error) {
    throw xmodalError('BAD_INPUT', 'cannot read video (ffprobe gave no description)', error);
  }
  const streams = parsed.streams ?? [];
  // Cover art in an audio file is a one-picture "video" stream: not pictures to sample.
  const pictures = streams.filter((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  const duration = Number(parsed.format?.duration);
  return {
    duration: Number.isFinite(duration) && duration > 0 ? duration : undefined,
    hasVideo: pictures.length > 0,
    hasAudio: streams.some((s) => s.codec_type === 'audio'),
    width: Math.max(0, ...pictures.map((s) => s.width ?? 0)),
    height: Math.max(0, ...pictures.map((s) => s.height ?? 0)),
  };
}

/** Refuses, by its header alone, a video longer than `maxSeconds` or with a picture over MAX_VIDEO_SIDE. */
export function checkVideoLimits(probe: VideoProbe, maxSeconds = MAX_VIDEO_SECONDS): void {
  if (probe.duration !== undefined && probe.duration > maxSeconds)
    throw xmodalError(
      'INPUT_TOO_LARGE',
      `video is ${probe.duration.toFixed(0)} s long, over the ${maxSeconds} s limit`,
    );
  if (probe.width > MAX_VIDEO_SIDE || probe.height > MAX_VIDEO_SIDE)
    throw xmodalError(
      'INPUT_TOO_LARGE',
      `video pictures are ${probe.width} x ${probe.height}, over the ${MAX_VIDEO_SIDE}-pixel limit`,
    );
}

/**
 * Where decoding must stop: past the limit (INPUT_TOO_LARGE), or well past what the header declared (BAD_INPUT),
 * so a small file that decodes to hours is stopped as soon as it outgrows its claim.
 */
export function decodeBound(probe: Pick<VideoProbe, 'duration'>, maxSeconds = MAX_VIDEO_SECONDS) {
  const declared = probe.duration;
  return (t: number): void => {
    if (declared !== undefined && t > declared * 1.1 + 1)
      throw xmodalError(
        'BAD_INPUT',
        `video decodes to more than its header declares (${declared.toFixed(1)} s)`,
      );
    if (t > maxSeconds) throw xmodalError('INPUT_TOO_LARGE', `video is over the ${maxSeconds} s limit`);
  };
}

/** Starts ffmpeg with stdout and fd 3 as pipes; `finish` resolves once it exits, with what it said on stderr. */
function startFfmpeg(
  tools: VideoTools,
  args: string[],
  onStderrLine?: (line: string) => void,
): { child: ChildProcess; finish: Promise<Finished> } {
  const child = spawn(tools.ffmpeg, ['-hide_banner', '-nostdin', '-nostats', ...args], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  let partial = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      onStderrLine?.(line);
      // Keep only the tail: it holds the reason when ffmpeg fails.
      if (!line.includes('Parsed_showinfo')) stderr = `${stderr.slice(-8192)}${line}\n`;
    }
  });
  const finish = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (partial) onStderrLine?.(partial);
      resolve({ code, stderr: stderr + partial });
    });
  });
  return { child, finish };
}

/** Stops ffmpeg when the consumer stops early (an error, or enough frames). */
function stop(child: { exitCode: number | null; signalCode: string | null; kill: () => boolean }): void {
  if (child.exitCode === null && child.signalCode === null) child.kill();
}

/** How a video is sampled into frames and sound windows (`xmodal index --frame-every` and friends). */
export interface VideoOptions {
  /** Seconds between sampled frames (scene changes add more). Default 2. */
  frameEvery?: number;
  /** ffmpeg scene score (0..1) over which a frame is also sampled; 0 turns it off. Default 0.3. */
  sceneThreshold?: number;
  /** Frames per video at most: a longer video is sampled more sparsely. Default 300. */
  maxFrames?: number;
  /** Seconds of sound per audio segment. Default 2. */
  audioWindow?: number;
  /** Audio segments per video at most: a longer sound track gets longer windows. Default 600. */
  maxAudioWindows?: number;
}

export interface FrameSampling {
  /** One frame at least every this many seconds. */
  every: number;
  /** Also a frame where the picture changes more than this (ffmpeg's scene score, 0..1); 0 turns it off. */
  sceneThreshold: number;
  /** Scene frames closer than this to the previous frame are skipped. */
  minGap: number;
  /** Frames are scaled so their shorter side is at most this. */
  size: number;
}

export interface VideoFrame {
  /** Seconds from the start of the video. */
  t: number;
  /** The frame as a PNG. */
  png: Uint8Array;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Where the first complete PNG in `buffer` ends, or -1: walks its chunks to IEND. */
function pngEnd(buffer: Buffer): number {
  if (buffer.length < 8) return -1;
  if (!buffer.subarray(0, 8).equals(PNG_SIGNATURE))
    throw xmodalError('INTERNAL', 'ffmpeg sent something other than PNG frames');
  let at = 8;
  while (at + 8 <= buffer.length) {
    const length = buffer.readUInt32BE(at);
    const type = buffer.toString('latin1', at + 4, at + 8);
    const end = at + 12 + length;
    if (type === 'IEND') return end <= buffer.length ? end : -1;
    at = end;
  }
  return -1;
}

const SHOWINFO_TIME = /Parsed_showinfo.*\bpts_time:\s*(-?[\d.]+(?:e-?\d+)?)/;

export interface AudioWindow {
  /** Seconds from the start of the sound track. */
  t: number;
  duration: number;
  samples: Float32Array;
  sampleRate: number;
}

export interface AudioWindowing {
  /** Window length in seconds. */
  window: number;
  sampleRate: number;
  /** Windows quieter than this RMS (full scale 1) are left out: silence matches everything equally badly. */
  silence: number;
}

/**
 * How far each stream is read ahead of its consumer. One ffmpeg writes both, so a consumer waiting for the model
 * would stall the other's decoding once its pipe is full; a few MB of read-ahead (minutes of sound, a hundred
 * frames) keep ffmpeg decoding while the model loads and runs.
 */
const FRAME_READ_AHEAD = 8 << 20;
const SOUND_READ_AHEAD = 16 << 20;

function readAhead(stream: Readable, bytes: number): AsyncIterable<Buffer> {
  return stream.pipe(new PassThrough({ highWaterMark: bytes }));
}

/** What to decode: sampled frames, the sound track in windows, or both. */
export interface VideoDecoding {
  frames?: FrameSampling;
  sound?: AudioWindowing;
}

export interface DecodedVideo {
  frames?: AsyncGenerator<VideoFrame>;
  sound?: AsyncGenerator<AudioWindow>;
}

/** The frame filter: the first frame, one in each `every`-second slot, and one at each scene change. */
function frameFilter(sampling: FrameSampling): string {
  const gap = 't-prev_selected_t';
  const apart = `gte(${gap},${sampling.minGap})`;
  const slot = `gt(floor(t/${sampling.every}),floor(prev_selected_t/${sampling.every}))*${apart}`;
  const scene = sampling.sceneThreshold > 0 ? `+gt(scene,${sampling.sceneThreshold})*${apart}` : '';
  const size = Math.round(sampling.size);
  return [
    'setpts=PTS-STARTPTS',
    `select='isnan(prev_selected_t)+${slot}${scene}'`,
    `scale=w='if(gte(iw,ih),-2,min(${size},iw))':h='if(gte(iw,ih),min(${size},ih),-2)'`,
    'showinfo',
  ].join(',');
}

/**
 * Decodes a video once, in one ffmpeg: sampled frames as small PNGs on its stdout and the sound track as mono
 * float samples on fd 3, each read by its own consumer (ffmpeg waits while they are used). A consumer that stops
 * early stops ffmpeg; a failed decode throws BAD_INPUT from the streams.
 */
export function decodeVideo(path: string, decoding: VideoDecoding, tools: VideoTools): DecodedVideo {
  const { frames, sound } = decoding;
  const times: number[] = [];
  const { child, finish } = startFfmpeg(
    tools,
    [
      '-loglevel',
      frames ? 'info' : 'error',
      // Invisible once a frame is shrunk to a thumbnail: deblocking (~15% of decoding), and the frames no other
      // frame refers to (B-frames, often most of them): a sampled frame is the nearest one decoded.
      ...(frames ? ['-skip_loop_filter:v', 'all', '-skip_frame:v', 'noref'] : ['-vn']),
      ...(sound ? [] : ['-an']),
      '-sn',
      '-dn',
      '-i',
      path,
      ...(frames ? ['-map', '0:v:0', '-vf', frameFilter(frames), '-fps_mode', 'vfr', '-c:v', 'png'] : []),
      ...(frames ? ['-compression_level', '1', '-f', 'image2pipe', 'pipe:1'] : []),
      ...(sound
        ? ['-map', '0:a:0', '-ac', '1', '-ar', String(sound.sampleRate), '-f', 'f32le', 'pipe:3']
        : []),
    ],
    (line) => {
      const match = SHOWINFO_TIME.exec(line);
      if (match) times.push(Math.max(0, Number(match[1])));
    },
  );
  /** Waits for ffmpeg's end once a stream is drained; BAD_INPUT when it failed. */
  const ended = async (what: string) => {
    const { code, stderr } = await finish;
    if (code !== 0) throw xmodalError('BAD_INPUT', `cannot decode ${what} (${lastError(stderr)})`);
  };

  async function* frameStream(): AsyncGenerator<VideoFrame> {
    const pngs: Buffer[] = [];
    let sent = 0;
    let drained = false;
    try {
      let pending: Buffer = Buffer.alloc(0);
      for await (const chunk of readAhead(child.stdout!, FRAME_READ_AHEAD)) {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        for (let end = pngEnd(pending); end > 0; end = pngEnd(pending)) {
          pngs.push(Buffer.from(pending.subarray(0, end)));
          pending = pending.subarray(end);
        }
        // A frame's time arrives on stderr, usually before the frame itself.
        while (pngs.length && times.length > sent) yield { t: times[sent++], png: pngs.shift()! };
      }
      await ended('video');
      while (pngs.length && times.length > sent) yield { t: times[sent++], png: pngs.shift()! };
      drained = true;
    } finally {
      if (!drained) stop(child);
    }
  }

  async function* soundStream(windowing: AudioWindowing): AsyncGenerator<AudioWindow> {
    const { sampleRate } = windowing;
    const length = Math.max(1, Math.round(windowing.window * sampleRate));
    let window = new Float32Array(length);
    let filled = 0;
    let start = 0;
    const emit = function* (count: number): Generator<AudioWindow> {
      const samples = count === length ? window : window.slice(0, count);
      if (rmsLevel(samples) >= windowing.silence)
        yield { t: start / sampleRate, duration: count / sampleRate, samples, sampleRate };
      start += count;
      window = new Float32Array(length);
      filled = 0;
    };
    let drained = false;
    try {
      let carry: Buffer = Buffer.alloc(0);
      for await (const chunk of readAhead(child.stdio[3] as Readable, SOUND_READ_AHEAD)) {
        const bytes = carry.length ? Buffer.concat([carry, chunk]) : chunk;
        const whole = bytes.length - (bytes.length % 4);
        carry = Buffer.from(bytes.subarray(whole));
        for (let at = 0; at < whole; ) {
          const take = Math.min(length - filled, (whole - at) / 4);
          for (let i = 0; i < take; i++) window[filled + i] = bytes.readFloatLE(at + 4 * i);
          filled += take;
          at += 4 * take;
          if (filled === length) yield* emit(length);
        }
      }
      await ended('the sound track');
      if (filled >= length / 4) yield* emit(filled);
      drained = true;
    } finally {
      if (!drained) stop(child);
    }
  }

  return { frames: frames && frameStream(), sound: sound && soundStream(sound) };
}
