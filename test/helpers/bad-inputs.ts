// Makes, at test time, a folder of hostile and broken inputs: truncated and corrupt images and audio of every
// supported format, decompression bombs by header, non-finite audio, link loops, FIFOs and odd names. Each input
// says what a careful user would expect from it: an error code of the table, or a correct result.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ErrorCode } from '../../src/errors.js';
import { findVideoTools } from '../../src/media/video.js';
import { AUDIO, IMAGES } from './paths.js';

export interface BadInput {
  name: string;
  path: string;
  /**
   * How the CLI and the server are given it: as an image, as audio, as a video (a file to index, whose report
   * names the code), or only as a path to index; `listing`: only found by walking the corpus folder (a name that
   * is not UTF-8 cannot be written as an argument or in JSON), its name and path then what a report shows: each
   * byte that is not UTF-8 as \xHH.
   */
  as: 'image' | 'audio' | 'video' | 'path' | 'listing';
  /** Accepted outcomes: error codes, or 'ok' for a correct result. */
  expect: (ErrorCode | 'ok')[];
  /** A good file to index though not of the kind it is given as (UTF-16 text given as audio). */
  indexable?: boolean;
}

/** A deterministic byte stream (xorshift), so the corpus is the same on every run. */
function noise(length: number, seed = 7): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A WAV header (PCM or float) followed by `data`; every field can lie. */
export function wav(options: {
  channels?: number;
  sampleRate?: number;
  bits?: number;
  format?: number;
  blockAlign?: number;
  dataSize?: number;
  data: Uint8Array;
}): Uint8Array {
  const { channels = 1, sampleRate = 16000, bits = 16, format = 1, data } = options;
  const blockAlign = options.blockAlign ?? (channels * bits) / 8;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(format, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(Math.min(0xffffffff, sampleRate * blockAlign), 28);
  header.writeUInt16LE(blockAlign, 32);
  header.writeUInt16LE(bits, 34);
  header.write('data', 36);
  header.writeUInt32LE(options.dataSize ?? data.length, 40);
  return concat(header, data);
}

function crc8(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x8005) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** FLAC's UTF-8-style frame number. */
function utf8Number(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x800) return [0xc0 | (n >> 6), 0x80 | (n & 0x3f)];
  return [0xe0 | (n >> 12), 0x80 | ((n >> 6) & 0x3f), 0x80 | (n & 0x3f)];
}

/**
 * A valid FLAC file of `seconds` of silence at 44.1 kHz mono, 16-bit: one constant subframe per 32,768-sample
 * frame, about 12 bytes a frame, so an hour fits in 60 KB. `declaredSamples` is what STREAMINFO says (0 = unknown).
 */
export function silentFlac(seconds: number, declaredSamples = Math.round(seconds * 44100)): Uint8Array {
  return constantFlac(seconds, declaredSamples, 0);
}

/** A 44.1 kHz mono 16-bit FLAC whose every frame is one constant subframe holding `level`. */
export function constantFlac(seconds: number, declaredSamples: number, level: number): Uint8Array {
  const total = Math.round(seconds * 44100);
  const block = 32768;
  const info = Buffer.alloc(38);
  info[0] = 0x80; // last metadata block, STREAMINFO
  info.writeUIntBE(34, 1, 3);
  info.writeUInt16BE(block, 4);
  info.writeUInt16BE(block, 6);
  // min/max frame size unknown (0); sample rate 20 bits, channels-1 3 bits, bps-1 5 bits, total samples 36 bits.
  const packed = (BigInt(44100) << 44n) | (0n << 41n) | (15n << 36n) | BigInt(declaredSamples);
  info.writeBigUInt64BE(packed, 14);
  const frames: Uint8Array[] = [];
  for (let n = 0, done = 0; done < total; n++) {
    const size = Math.min(block, total - done);
    done += size;
    const head = Uint8Array.from([
      0xff,
      0xf8,
      0x79,
      0x08,
      ...utf8Number(n),
      (size - 1) >> 8,
      (size - 1) & 0xff,
    ]);
    const body = concat(
      head,
      Uint8Array.of(crc8(head)),
      Uint8Array.of(0x00, (level >> 8) & 0xff, level & 0xff),
    );
    const crc = crc16(body);
    frames.push(concat(body, Uint8Array.of(crc >> 8, crc & 0xff)));
  }
  return concat(Buffer.from('fLaC'), info, ...frames);
}

/** The Ogg file with its last page's granule position (the declared length) set to `granule`. */
function oggDeclaring(bytes: Uint8Array, granule: bigint): Uint8Array {
  const out = Buffer.from(bytes);
  const last = out.lastIndexOf(Buffer.from('OggS'));
  out.writeBigUInt64LE(granule, last + 6);
  return out;
}

/** The same PNG with its IHDR claiming `width` x `height` pixels. */
function pngClaiming(bytes: Uint8Array, width: number, height: number): Uint8Array {
  const out = Buffer.from(bytes);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  return out;
}

const IMAGE_FORMATS = ['jpg', 'png', 'webp', 'gif', 'avif', 'tiff', 'svg'];
const AUDIO_FORMATS = ['sine-s16.wav', 'sine-f32.wav', 'sine.flac', 'sine.mp3', 'sine.ogg', 'sine.opus'];
const BROKEN: (ErrorCode | 'ok')[] = ['BAD_INPUT', 'UNSUPPORTED_FORMAT'];

/** A box's payload offset in an MP4 (the first box of that type). */
function mp4Box(bytes: Buffer, type: string): number {
  const at = bytes.indexOf(Buffer.from(type, 'latin1'));
  if (at < 0) throw new Error(`no ${type} box`);
  return at + 4;
}

/** The MP4 with its movie header (mvhd, version 0) declaring `seconds`. */
function mp4Declaring(bytes: Uint8Array, seconds: number): Uint8Array {
  const out = Buffer.from(bytes);
  const mvhd = mp4Box(out, 'mvhd');
  const timescale = out.readUInt32BE(mvhd + 12);
  out.writeUInt32BE(Math.min(0xffffffff, seconds * timescale), mvhd + 16);
  return out;
}

/** The MJPEG AVI with every picture (the AVI headers and each JPEG's SOF0) claiming `side` x `side` pixels. */
function aviClaiming(bytes: Uint8Array, side: number): Uint8Array {
  const out = Buffer.from(bytes);
  for (
    let at = out.indexOf(Buffer.from([0xff, 0xc0]));
    at >= 0;
    at = out.indexOf(Buffer.from([0xff, 0xc0]), at + 2)
  ) {
    out.writeUInt16BE(side, at + 5);
    out.writeUInt16BE(side, at + 7);
  }
  const avih = out.indexOf(Buffer.from('avih')) + 8;
  out.writeUInt32LE(side, avih + 32);
  out.writeUInt32LE(side, avih + 36);
  const strf = out.indexOf(Buffer.from('strf')) + 8;
  out.writeInt32LE(side, strf + 4);
  out.writeInt32LE(side, strf + 8);
  return out;
}

/** A few seconds of ffmpeg's test picture and tone, made by ffmpeg itself. */
function ffmpegVideo(ffmpeg: string, folder: string, name: string, args: string[]): Uint8Array {
  const path = join(folder, `.make-${name}`);
  execFileSync(ffmpeg, ['-v', 'error', '-y', ...args, path]);
  const bytes = readFileSync(path);
  rmSync(path);
  return bytes;
}

/** Writes the corpus into `folder` and lists it. Every file is at most 1 MB. */
export function makeBadInputs(folder: string): BadInput[] {
  mkdirSync(folder, { recursive: true });
  const inputs: BadInput[] = [];
  const add = (name: string, bytes: Uint8Array, as: BadInput['as'], expect: BadInput['expect']) => {
    const path = join(folder, name);
    writeFileSync(path, bytes);
    inputs.push({ name, path, as, expect });
  };

  for (const ext of IMAGE_FORMATS) {
    const bytes = readFileSync(join(IMAGES, `photo.${ext}`));
    // A truncated image may still decode (a partial JPEG or GIF is drawn as far as it goes): error or result.
    add(`truncated.${ext}`, bytes.subarray(0, Math.floor(bytes.length / 2)), 'image', [...BROKEN, 'ok']);
    add(`corrupt.${ext}`, concat(bytes.subarray(0, 32), noise(4096)), 'image', BROKEN);
  }
  const png = readFileSync(join(IMAGES, 'photo.png'));
  add('bomb-100k-by-100k.png', pngClaiming(png, 100_000, 100_000), 'image', ['INPUT_TOO_LARGE', 'BAD_INPUT']);

  for (const file of AUDIO_FORMATS) {
    const bytes = readFileSync(join(AUDIO, file));
    const ext = file.split('.').pop();
    const base = file.replace(/\.\w+$/, '');
    add(`truncated-${base}.${ext}`, bytes.subarray(0, Math.floor(bytes.length / 2)), 'audio', [
      ...BROKEN,
      'ok',
    ]);
    // Noise after a PCM WAV header is valid PCM: an error or a result.
    add(
      `corrupt-${base}.${ext}`,
      concat(bytes.subarray(0, 64), noise(3072)),
      'audio',
      ext === 'wav' ? [...BROKEN, 'ok'] : BROKEN,
    );
  }
  const mp3 = readFileSync(join(AUDIO, 'sine.mp3'));
  const frame = mp3.indexOf(Buffer.from([0xff, 0xfb]));
  add('frame-header-and-garbage.mp3', concat(mp3.subarray(frame, frame + 4), noise(3072)), 'audio', [
    'BAD_INPUT',
  ]);

  const silence16 = new Uint8Array(3200);
  add('wav-65535-channels.wav', wav({ channels: 65535, blockAlign: 2, data: silence16 }), 'audio', [
    'INPUT_TOO_LARGE',
  ]);
  add('wav-declares-an-hour.wav', wav({ dataSize: 3600 * 16000 * 2, data: silence16 }), 'audio', [
    'ok',
    'INPUT_TOO_LARGE',
    'BAD_INPUT',
  ]);
  add('wav-1-hz.wav', wav({ sampleRate: 1, data: silence16 }), 'audio', ['BAD_INPUT']);
  add('wav-4-ghz.wav', wav({ sampleRate: 4_000_000_000, data: silence16 }), 'audio', ['BAD_INPUT']);
  add('wav-block-align-0.wav', wav({ blockAlign: 0, data: silence16 }), 'audio', BROKEN);
  add('wav-float-nan.wav', wav({ format: 3, bits: 32, data: new Uint8Array(4096).fill(0xff) }), 'audio', [
    'BAD_INPUT',
  ]);
  const infinite = new Float32Array(1024).fill(Number.POSITIVE_INFINITY);
  add('wav-float-inf.wav', wav({ format: 3, bits: 32, data: new Uint8Array(infinite.buffer) }), 'audio', [
    'BAD_INPUT',
  ]);
  add('flac-an-hour-of-silence.flac', silentFlac(3600), 'audio', ['INPUT_TOO_LARGE']);
  add('flac-an-hour-length-unknown.flac', silentFlac(3600, 0), 'audio', ['INPUT_TOO_LARGE']);
  add('flac-declares-1s-holds-an-hour.flac', silentFlac(3600, 44100), 'audio', ['BAD_INPUT']);
  add(
    'ogg-declares-an-hour.ogg',
    oggDeclaring(readFileSync(join(AUDIO, 'sine.ogg')), 3600n * 44100n),
    'audio',
    ['INPUT_TOO_LARGE'],
  );
  add(
    'opus-declares-an-hour.opus',
    oggDeclaring(readFileSync(join(AUDIO, 'sine.opus')), 3600n * 48000n),
    'audio',
    ['INPUT_TOO_LARGE'],
  );
  const tools = findVideoTools();
  if (tools) {
    const scene = ['-f', 'lavfi', '-i', 'testsrc=s=160x120:d=3:r=10', '-f', 'lavfi', '-i', 'sine=d=3'];
    const mp4 = ffmpegVideo(tools.ffmpeg, folder, 'mp4', [
      ...scene,
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-c:a',
      'aac',
      '-shortest',
      '-f',
      'mp4',
    ]);
    add('video-ok.mp4', mp4, 'video', ['ok']);
    // The MP4's index (moov) is written at its end: half a file has none.
    add('truncated-video.mp4', mp4.subarray(0, Math.floor(mp4.length / 2)), 'video', ['BAD_INPUT']);
    add('video-declares-100-hours.mp4', mp4Declaring(mp4, 100 * 3600), 'video', ['INPUT_TOO_LARGE']);
    add('video-declares-1s-holds-3s.mp4', mp4Declaring(mp4, 1), 'video', ['BAD_INPUT']);
    const mjpeg = ffmpegVideo(tools.ffmpeg, folder, 'avi', [
      '-f',
      'lavfi',
      '-i',
      'testsrc=s=32x32:d=1:r=5',
      '-c:v',
      'mjpeg',
      '-f',
      'avi',
    ]);
    add('video-16000-by-16000.avi', aviClaiming(mjpeg, 16_000), 'video', ['INPUT_TOO_LARGE']);
  }

  // UTF-16 text: is text, never audio or an image.
  add('utf16-notes.txt', Buffer.from('\ufeffDogs love long walks.\n', 'utf16le'), 'audio', [
    'UNSUPPORTED_FORMAT',
  ]);
  inputs[inputs.length - 1].indexable = true;

  // Odd names holding good files: a correct result.
  const photo = readFileSync(join(IMAGES, 'photo.jpg'));
  add('-leading dash.jpg', photo, 'image', ['ok']);
  add('--help.jpg', photo, 'image', ['ok']);
  add('new\nline.jpg', photo, 'image', ['ok']);
  add('tab\tand\rreturn\u001b[31m.jpg', photo, 'image', ['ok']);
  add('ünïcødé 写真.jpg', photo, 'image', ['ok']);
  add('glob *?[ab]{c,d}** shell $(x) `y`;|&<> \'q\' "q" \\ % _ #0.jpg', photo, 'image', ['ok']);
  // The longest name Linux allows: 255 bytes, in ASCII and in two-byte characters.
  add(`${'n'.repeat(251)}.jpg`, photo, 'image', ['ok']);
  add(`${'é'.repeat(125)}x.jpg`, photo, 'image', ['ok']);
  // A name that is not UTF-8 (Linux allows any bytes but / and NUL): refused by name, reported by its bytes.
  writeFileSync(
    Buffer.concat([Buffer.from(`${folder}/`), Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x6a, 0x70, 0x67])]),
    photo,
  );
  inputs.push({
    name: 'f\\xff\\xfe.jpg',
    path: join(folder, 'f\\xff\\xfe.jpg'),
    as: 'listing',
    expect: ['BAD_INPUT'],
  });

  // Not regular files.
  const fifo = join(folder, 'fifo.wav');
  execFileSync('mkfifo', [fifo]);
  inputs.push({ name: 'fifo.wav', path: fifo, as: 'audio', expect: ['BAD_INPUT'] });
  const loop = join(folder, 'loop.png');
  symlinkSync('loop.png', loop);
  inputs.push({ name: 'loop.png', path: loop, as: 'image', expect: ['FILE_NOT_FOUND'] });
  const dir = join(folder, 'folder.png');
  mkdirSync(dir);
  inputs.push({ name: 'folder.png', path: dir, as: 'image', expect: ['BAD_INPUT'] });
  inputs.push({ name: 'dev-zero', path: '/dev/zero', as: 'audio', expect: ['BAD_INPUT'] });
  const loops = join(folder, 'loops');
  mkdirSync(loops);
  symlinkSync('.', join(loops, 'a'));
  symlinkSync('.', join(loops, 'b'));
  writeFileSync(join(loops, 'note.txt'), 'a note inside a folder that links to itself\n');
  inputs.push({ name: 'loops/**', path: `${loops}/**/*`, as: 'path', expect: ['ok'] });
  return inputs;
}
