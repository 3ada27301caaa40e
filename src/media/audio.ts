import libsamplerate from '@alexanderolsen/libsamplerate-js';
import { decoder as mp3Decoder } from '@audio/decode-mp3';
import decode from 'audio-decode';
import audioType from 'audio-type';
import CodecParser, { type MimeType } from 'codec-parser';
import { parseBuffer } from 'music-metadata';
import { errorMessage, XmodalError, xmodalError } from '../errors.js';
import { detectMedia } from './detect.js';
import { describeSource, type MediaSource, readMediaBytes } from './input.js';

/** An audio input: a file path, the file's bytes, or already decoded mono samples. */
export type AudioInput = MediaSource | DecodedAudio;

export interface DecodedAudio {
  samples: Float32Array;
  sampleRate: number;
}

export function isDecodedAudio(input: AudioInput): input is DecodedAudio {
  return typeof input === 'object' && 'samples' in input && 'sampleRate' in input;
}

export const DEFAULT_MAX_AUDIO_SECONDS = 600;
/** More channels than any real recording (7.1.4 is 12, third-order ambisonics 16). */
export const MAX_AUDIO_CHANNELS = 32;
export const MIN_SAMPLE_RATE = 1_000;
export const MAX_SAMPLE_RATE = 384_000;
/** Decoded samples (per channel) one clip may reach whatever its rate: the duration limit at 48 kHz. */
const MAX_SAMPLES_PER_SECOND = 48_000;
/** Bytes handed to a decoder at a time, so what it has produced can be checked before it produces more. */
// Small, because FLAC can pack 32,768 samples of silence into 12 bytes: 1 KB decodes to at most ~11 MB.
const DECODE_CHUNK_BYTES = 1024;
/** Bytes handed to the frame parser at a time when a stream's length is counted from its frame headers. */
const FRAME_PARSE_CHUNK_BYTES = 64 * 1024;

export interface AudioLimits {
  maxBytes?: number;
  maxSeconds?: number;
}

/** What the file's header declares, read before anything is decoded. */
interface DeclaredAudio {
  channels?: number;
  sampleRate?: number;
  seconds?: number;
}

async function readHeader(bytes: Uint8Array, where: string): Promise<DeclaredAudio> {
  try {
    const { format } = await parseBuffer(bytes, undefined, { duration: false, skipCovers: true });
    const seconds =
      format.numberOfSamples && format.sampleRate
        ? format.numberOfSamples / format.sampleRate
        : format.duration;
    if (seconds !== undefined && !Number.isFinite(seconds))
      throw xmodalError('BAD_INPUT', `${where}: the audio header declares no valid length`);
    return { channels: format.numberOfChannels, sampleRate: format.sampleRate, seconds };
  } catch (error) {
    if (error instanceof XmodalError) throw error;
    const message = errorMessage(error);
    throw xmodalError('BAD_INPUT', `${where}: cannot read the audio header (${message})`, error);
  }
}

function checkShape(channels: number | undefined, sampleRate: number | undefined, where: string): void {
  if (channels !== undefined && channels > MAX_AUDIO_CHANNELS)
    throw xmodalError(
      'INPUT_TOO_LARGE',
      `${where}: audio has ${channels} channels, over the ${MAX_AUDIO_CHANNELS}-channel limit`,
    );
  if (sampleRate !== undefined && !(sampleRate >= MIN_SAMPLE_RATE && sampleRate <= MAX_SAMPLE_RATE))
    throw xmodalError(
      'BAD_INPUT',
      `${where}: sample rate ${sampleRate} Hz is outside ${MIN_SAMPLE_RATE}-${MAX_SAMPLE_RATE} Hz`,
    );
}

function* chunksOf(bytes: Uint8Array): Generator<Uint8Array> {
  // A plain Uint8Array view: decoders copy with slice(), which on a Node Buffer is a view that keeps a misaligned offset.
  const plain = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < plain.length; at += DECODE_CHUNK_BYTES)
    yield plain.subarray(at, at + DECODE_CHUNK_BYTES);
}

async function* toAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

/**
 * mpg123 decodes garbage after a valid frame header as noise; its own error count tells a corrupt file.
 * Returns the decoded length in seconds, which stands in for a header that declares none.
 */
async function checkMp3Frames(bytes: Uint8Array, where: string): Promise<number | undefined> {
  const codec = (await mp3Decoder()) as unknown as {
    decode(chunk: Uint8Array): { errors?: unknown[]; samplesDecoded?: number; sampleRate?: number };
    free(): void;
  };
  let errors = 0;
  let samples = 0;
  let sampleRate = 0;
  const log = console.error;
  console.error = () => {}; // mpg123 logs each bad frame; the caller hears about it once, below.
  try {
    for (const chunk of chunksOf(bytes)) {
      const result = codec.decode(chunk);
      errors += result.errors?.length ?? 0;
      samples += result.samplesDecoded ?? 0;
      if (result.sampleRate) sampleRate = result.sampleRate;
    }
  } finally {
    console.error = log;
    codec.free();
  }
  // A rare bad frame in a long file is tolerated, as players do; garbage is not.
  if (errors > 0 && errors * 1152 * 10 > samples)
    throw xmodalError('BAD_INPUT', `${where}: corrupt MP3 (${errors} undecodable frames)`);
  return sampleRate ? samples / sampleRate : undefined;
}

function tooLong(where: string, seconds: number, maxSeconds: number): XmodalError {
  return xmodalError(
    'INPUT_TOO_LARGE',
    `${where}: audio is ${seconds.toFixed(1)} s long, over the ${maxSeconds} s limit`,
  );
}

/** The stream types whose frames codec-parser reads (FLAC, Ogg Vorbis/Opus/FLAC, ADTS AAC); MP3 has its own check. */
function framedMimeType(bytes: Uint8Array, type: string): MimeType | undefined {
  const ogg = bytes[0] === 0x4f && bytes[1] === 0x67 && bytes[2] === 0x67 && bytes[3] === 0x53; // "OggS"
  if (type === 'oga' || type === 'opus' || (type === 'flac' && ogg)) return 'audio/ogg';
  if (type === 'flac') return 'audio/flac';
  if (type === 'aac') return 'audio/aac';
  return undefined;
}

/**
 * The length of a stream whose header declares none, summed from its frame headers without decoding a sample.
 * Decoding to measure would allocate every sample as garbage (hundreds of MB for a hostile hour of FLAC, freed
 * whenever the garbage collector gets to it); the frame headers cost nothing. Undefined where no parser reads
 * the type or it finds no frames: then the caller measures by decoding.
 */
function countFramedSeconds(bytes: Uint8Array, type: string): number | undefined {
  const mimeType = framedMimeType(bytes, type);
  if (!mimeType) return undefined;
  try {
    const parser = new CodecParser(mimeType, { enableLogging: false });
    let seconds = 0;
    const add = (frames: Iterator<unknown>) => {
      // Ogg pages and plain frames both carry their duration in milliseconds.
      for (let next = frames.next(); !next.done; next = frames.next())
        seconds += (next.value as { duration: number }).duration / 1000;
    };
    for (let at = 0; at < bytes.length; at += FRAME_PARSE_CHUNK_BYTES)
      add(parser.parseChunk(bytes.subarray(at, at + FRAME_PARSE_CHUNK_BYTES)));
    add(parser.flush());
    return seconds > 0 && Number.isFinite(seconds) ? seconds : undefined;
  } catch {
    return undefined;
  }
}

/** MP4 boxes that hold the boxes the sample tables are in. */
const MP4_PARENTS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'moof', 'traf']);

/**
 * The audio frames an MP4 lists (sample tables, and fragments' runs), or undefined when it lists none. Its
 * decoder buffers the whole file when the list comes last and returns every sample at once, so the check on
 * each decoded piece comes too late: this count bounds what decoding can produce before it starts.
 */
function countMp4Frames(bytes: Uint8Array): number | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let frames = 0;
  const walk = (start: number, end: number, depth: number) => {
    for (let at = start; at + 8 <= end; ) {
      let size = view.getUint32(at);
      let header = 8;
      if (size === 1 && at + 16 <= end) {
        size = Number(view.getBigUint64(at + 8));
        header = 16;
      } else if (size === 0) size = end - at;
      if (size < header) return;
      const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
      const boxEnd = Math.min(end, at + size);
      // The sample tables sit 4 boxes deep (moov/trak/mdia/minf/stbl); deeper nesting is hostile.
      if (MP4_PARENTS.has(type) && depth < 8) walk(at + header, boxEnd, depth + 1);
      // stsz/stz2: version and flags, then a field before the count; trun: the count after version and flags.
      const countAt = type === 'stsz' || type === 'stz2' ? 8 : type === 'trun' ? 4 : -1;
      if (countAt >= 0 && at + header + countAt + 4 <= boxEnd)
        frames += view.getUint32(at + header + countAt);
      at += size;
    }
  };
  walk(0, bytes.length, 0);
  return frames > 0 ? frames : undefined;
}

/**
 * The file decoded piece by piece, each piece mixed to mono and checked before the next one is decoded: shape,
 * finite samples, no more than the header declares, no more than the limit.
 */
async function* monoPieces(
  bytes: Uint8Array,
  type: string,
  where: string,
  declaredSeconds: number | undefined,
  maxSeconds: number,
): AsyncGenerator<{ mono: Float32Array; sampleRate: number }> {
  let length = 0;
  let sampleRate = 0;
  try {
    for await (const piece of decode(toAsync(chunksOf(bytes)), type as Parameters<typeof decode>[1])) {
      const channels = piece.channelData.filter((c) => c && c.length > 0);
      if (channels.length === 0) continue;
      checkShape(channels.length, piece.sampleRate, where);
      if (sampleRate && piece.sampleRate !== sampleRate)
        throw xmodalError('BAD_INPUT', `${where}: the sample rate changes inside the file`);
      sampleRate = piece.sampleRate;
      const mono = mixToMono(channels);
      if (!allFinite(mono))
        throw xmodalError('BAD_INPUT', `${where}: audio has non-finite (NaN or infinite) samples`);
      length += mono.length;
      const seconds = length / sampleRate;
      if (declaredSeconds !== undefined && seconds > declaredSeconds * 1.1 + 1)
        throw xmodalError(
          'BAD_INPUT',
          `${where}: audio decodes to more than its header declares (${declaredSeconds.toFixed(1)} s)`,
        );
      if (seconds > maxSeconds || length > maxSeconds * MAX_SAMPLES_PER_SECOND)
        throw xmodalError('INPUT_TOO_LARGE', `${where}: audio is over the ${maxSeconds} s limit`);
      yield { mono, sampleRate };
    }
  } catch (error) {
    if (error instanceof XmodalError) throw error;
    const message = errorMessage(error);
    if (/unknown|unsupported|not recognized|no decoder/i.test(message))
      throw xmodalError(
        'UNSUPPORTED_FORMAT',
        `${where}: not an audio format xmodal can read (${message})`,
        error,
      );
    throw xmodalError('BAD_INPUT', `${where}: cannot decode audio (${message})`, error);
  }
}

/**
 * How long the audio is by its headers and frame headers alone (nothing decoded), or undefined when they do not
 * say or cannot be read: how indexing tells a long recording, cut into moments, from a clip.
 */
export async function declaredAudioSeconds(bytes: Uint8Array): Promise<number | undefined> {
  const type = (await detectMedia(bytes))?.modality === 'audio' ? audioType(bytes) : undefined;
  if (!type) return undefined;
  const declared = await readHeader(bytes, 'audio').catch(() => undefined);
  return secondsWithoutDecoding(bytes, type, declared ?? {});
}

/**
 * The length the header declares, else what the frame headers add up to; an MP4's frame list counts even when the
 * header says less. Undefined where neither tells (MP3 without a length: its frames are counted by decoding).
 */
function secondsWithoutDecoding(
  bytes: Uint8Array,
  type: string,
  declared: DeclaredAudio,
): number | undefined {
  const seconds = declared.seconds ?? countFramedSeconds(bytes, type);
  const mp4Frames = type === 'm4a' ? countMp4Frames(bytes) : undefined;
  // An AAC frame is 1024 samples (HE-AAC's doubled rate keeps that in seconds).
  if (mp4Frames && declared.sampleRate)
    return Math.max(seconds ?? 0, (mp4Frames * 1024) / declared.sampleRate);
  return seconds;
}

/**
 * Decodes WAV, MP3, OGG Vorbis/Opus, FLAC (and more) with pure npm decoders, mixed down to mono. The header is
 * checked first (channels, sample rate, declared duration), and decoding runs in small steps that stop as soon as
 * the audio outgrows its declared length or the limit: a tiny file that expands to hours never gets the chance.
 * A file whose header declares no length is measured first, from its frame headers where a parser reads them
 * and otherwise by a decoding pass that keeps nothing, so refusing an over-long one never costs the memory of
 * the samples up to the limit.
 */
export async function decodeAudio(source: MediaSource, limits: AudioLimits = {}): Promise<DecodedAudio> {
  const bytes = await readMediaBytes(source, 'audio', limits.maxBytes);
  const where = describeSource(source);
  const maxSeconds = limits.maxSeconds ?? DEFAULT_MAX_AUDIO_SECONDS;
  const type = (await detectMedia(bytes))?.modality === 'audio' ? audioType(bytes) : undefined;
  if (!type) throw xmodalError('UNSUPPORTED_FORMAT', `${where}: not an audio format xmodal can read`);
  const declared = await readHeader(bytes, where);
  checkShape(declared.channels, declared.sampleRate, where);
  if (declared.seconds !== undefined && declared.seconds > maxSeconds)
    throw tooLong(where, declared.seconds, maxSeconds);
  // No frame parser reads MP3, so its frame check (which it needs anyway) measures it.
  let seconds = secondsWithoutDecoding(bytes, type, declared);
  if (type === 'mp3') {
    const decoded = await checkMp3Frames(bytes, where);
    seconds ??= decoded;
  }
  if (seconds === undefined) {
    let measured = 0;
    for await (const { mono, sampleRate } of monoPieces(bytes, type, where, undefined, maxSeconds))
      measured += mono.length / sampleRate;
    seconds = measured;
  }
  if (seconds > maxSeconds) throw tooLong(where, seconds, maxSeconds);

  const pieces: Float32Array[] = [];
  let length = 0;
  let sampleRate = 0;
  for await (const piece of monoPieces(bytes, type, where, seconds, maxSeconds)) {
    pieces.push(piece.mono);
    length += piece.mono.length;
    sampleRate = piece.sampleRate;
  }
  if (length === 0 || !sampleRate) throw xmodalError('BAD_INPUT', `${where}: audio has no samples`);
  return { samples: concat(pieces, length), sampleRate };
}

function allFinite(samples: Float32Array): boolean {
  for (let i = 0; i < samples.length; i++) if (!Number.isFinite(samples[i])) return false;
  return true;
}

function concat(pieces: readonly Float32Array[], length: number): Float32Array {
  if (pieces.length === 1) return pieces[0];
  const out = new Float32Array(length);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

export function mixToMono(channels: readonly Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0];
  const length = Math.min(...channels.map((c) => c.length));
  const mono = new Float32Array(length);
  for (const channel of channels) for (let i = 0; i < length; i++) mono[i] += channel[i];
  for (let i = 0; i < length; i++) mono[i] /= channels.length;
  return mono;
}

/**
 * Band-limited sinc resampling (libsamplerate compiled to WebAssembly, its fastest sinc converter: about
 * 97 dB SNR, far below what an embedding model can hear, and 3x faster than the medium one).
 */
export async function resample(
  samples: Float32Array,
  fromRate: number,
  toRate: number,
): Promise<Float32Array> {
  if (fromRate === toRate) return samples;
  const { create, ConverterType } = libsamplerate;
  // A fresh converter per clip: a reused one carries filter state over, which would make embeddings depend
  // on the clip before.
  const converter = await create(1, fromRate, toRate, { converterType: ConverterType.SRC_SINC_FASTEST });
  try {
    return converter.simple(samples);
  } finally {
    converter.destroy();
  }
}

/** Any audio input as mono samples at `sampleRate`. */
export async function loadAudio(
  input: AudioInput,
  sampleRate: number,
  limits: AudioLimits = {},
): Promise<Float32Array> {
  const audio = isDecodedAudio(input) ? input : await decodeAudio(input, limits);
  const seconds = audio.samples.length / audio.sampleRate;
  const maxSeconds = limits.maxSeconds ?? DEFAULT_MAX_AUDIO_SECONDS;
  if (seconds > maxSeconds)
    throw xmodalError(
      'INPUT_TOO_LARGE',
      `audio is ${seconds.toFixed(1)} s long, over the ${maxSeconds} s limit`,
    );
  if (audio.samples.length === 0) throw xmodalError('BAD_INPUT', 'audio has no samples');
  return resample(audio.samples, audio.sampleRate, sampleRate);
}

/**
 * Splits a clip longer than the model's window into consecutive windows (the last one aligned to the end),
 * so long clips are embedded deterministically as an average over windows instead of a random crop.
 */
export function splitIntoWindows(samples: Float32Array, windowLength: number): Float32Array[] {
  if (samples.length <= windowLength) return [samples];
  const windows: Float32Array[] = [];
  for (let start = 0; start + windowLength <= samples.length; start += windowLength)
    windows.push(samples.subarray(start, start + windowLength));
  const covered = windows.length * windowLength;
  // A short remainder would be repeat-padded into a distorted window; an end-aligned window covers it.
  if (covered < samples.length) windows.push(samples.subarray(samples.length - windowLength));
  return windows;
}

export interface SoundEdges {
  /** Samples quieter than this many dB below the clip's peak count as silence at its edges. */
  belowPeakDb: number;
  /** Leading silence longer than `maxLead` is cut down to `lead`; shorter leading silence is left as it is. */
  lead: number;
  maxLead: number;
  /** Trailing silence is cut down to `tail` (never below `minLength`); a clip shorter than `minLength` that
   * ends with less than `tail` of silence gets silence added up to `tail`. */
  tail: number;
  minLength: number;
}

function peakOf(samples: Float32Array): number {
  let peak = 0;
  for (const v of samples) peak = Math.max(peak, Math.abs(v));
  return peak;
}

/** The clip cut (or padded) to its sound plus the silence `edges` asks for; a silent clip comes back as it is. */
export function trimToSound(samples: Float32Array, edges: SoundEdges): Float32Array {
  const peak = peakOf(samples);
  if (peak === 0) return samples;
  const threshold = peak * 10 ** (-edges.belowPeakDb / 20);
  let first = 0;
  while (Math.abs(samples[first]) < threshold) first++;
  let last = samples.length - 1;
  while (Math.abs(samples[last]) < threshold) last--;
  const start = first > edges.maxLead ? first - edges.lead : 0;
  const end = Math.min(samples.length, Math.max(last + 1 + edges.tail, start + edges.minLength));
  const body = samples.subarray(start, end);
  const missing = Math.min(edges.minLength - body.length, edges.tail - (end - 1 - last));
  if (missing <= 0) return body;
  const out = new Float32Array(body.length + missing);
  out.set(body);
  return out;
}

/** Root-mean-square amplitude of some samples (0 for none). */
export function rmsLevel(samples: Float32Array): number {
  let sum = 0;
  for (const v of samples) sum += v * v;
  return samples.length ? Math.sqrt(sum / samples.length) : 0;
}
