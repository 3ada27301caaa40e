import { open, stat } from 'node:fs/promises';
import { fileTypeFromBuffer } from 'file-type';
import { type IAudioMetadata, parseBuffer, parseFile } from 'music-metadata';
import { xmodalError } from '../errors.js';
import type { Modality } from '../types.js';
import { fileSystemError } from './input.js';

export interface DetectedMedia {
  /**
   * `video`: a container with moving pictures, which only ffmpeg decodes (see media/video.ts). A container
   * file-type names video/* that holds only sound (WebM from a recorder, .mka, AAC in MP4) is `audio`.
   */
  modality: Modality | 'video';
  mime: string;
}

const HEAD_BYTES = 4100;

/**
 * Tells image, audio, video and text apart by content (magic bytes), never by file name. Give the whole file
 * when you have it: an MP4 lists its tracks at the end, so from its head alone an audio-only one is a video.
 */
export async function detectMedia(head: Uint8Array): Promise<DetectedMedia | undefined> {
  const detected = await detectByMagic(head);
  if (detected?.modality !== 'video') return detected;
  return soundOnly(detected, () => parseBuffer(head, undefined, TRACKS_ONLY));
}

/** What file-type and the text checks say, before a video container's tracks are looked at. */
async function detectByMagic(head: Uint8Array): Promise<DetectedMedia | undefined> {
  // A UTF-16 byte-order mark reads as an MPEG frame sync to magic-byte sniffers: look for text first.
  const utf16 = utf16Encoding(head);
  if (utf16 && decodeUtf16(head, utf16) !== undefined)
    return { modality: 'text', mime: `text/plain; charset=${utf16}` };
  // Some containers (TIFF) need more than the head to be recognised; a parse failure is "unknown", not fatal.
  const type = await fileTypeFromBuffer(head).catch(() => undefined);
  if (type?.mime.startsWith('image/')) return { modality: 'image', mime: type.mime };
  if (type?.mime.startsWith('audio/')) return { modality: 'audio', mime: type.mime };
  // Ogg holds audio here (Theora video is rare); every other video container is a video.
  if (type && ['application/ogg', 'video/ogg'].includes(type.mime))
    return { modality: 'audio', mime: 'audio/ogg' };
  if (type?.mime.startsWith('video/')) return { modality: 'video', mime: type.mime };
  if (type) return undefined;
  const text = decodeUtf8(head.subarray(0, 65536));
  if (text === undefined) return undefined;
  if (/^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!DOCTYPE svg[^>]*>\s*)?<svg[\s>]/i.test(text))
    return { modality: 'image', mime: 'image/svg+xml' };
  return { modality: 'text', mime: 'text/plain' };
}

const TRACKS_ONLY = { duration: false, skipCovers: true } as const;

/**
 * A video container as audio when every track in it is sound (a track music-metadata cannot type, such as an
 * MP4 picture track, counts as not sound); as it is when its tracks cannot be read.
 */
async function soundOnly(
  container: DetectedMedia,
  readTracks: () => Promise<IAudioMetadata>,
): Promise<DetectedMedia> {
  const tracks = await readTracks().then(
    ({ format }) => format.trackInfo ?? [],
    () => [],
  );
  // Matroska numbers an audio track 2; MP4 tracks carry their audio settings.
  const sound = tracks.length > 0 && tracks.every((t) => t.type === 2 || t.audio !== undefined);
  return sound ? { modality: 'audio', mime: container.mime.replace(/^video\//, 'audio/') } : container;
}

function utf16Encoding(bytes: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return undefined;
}

/** UTF-16 text, or undefined when the bytes are not (a lone surrogate, NULs or control codes: binary). */
function decodeUtf16(bytes: Uint8Array, encoding: 'utf-16le' | 'utf-16be'): string | undefined {
  try {
    const text = new TextDecoder(encoding, { fatal: true }).decode(bytes.subarray(0, bytes.length & ~1));
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control codes are what tells binary from text.
    const controls = text.match(/[\u0000-\u0008\u000e-\u001f]/g)?.length ?? 0;
    return controls === 0 ? text : undefined;
  } catch {
    return undefined;
  }
}

/** A text file's content: UTF-16 when it starts with a UTF-16 byte-order mark, else UTF-8. */
export function decodeText(bytes: Uint8Array): string {
  const utf16 = utf16Encoding(bytes);
  return new TextDecoder(utf16 ?? 'utf-8').decode(utf16 ? bytes.subarray(0, bytes.length & ~1) : bytes);
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    // A multi-byte character cut at the end of the head is fine; anything else is binary.
    return new TextDecoder('utf-8', { fatal: true }).decode(trimPartialCharacter(bytes));
  } catch {
    return undefined;
  }
}

function trimPartialCharacter(bytes: Uint8Array): Uint8Array {
  const end = bytes.length;
  for (let back = 1; back <= 3 && end - back >= 0; back++) {
    const byte = bytes[end - back];
    if ((byte & 0xc0) === 0xc0) return bytes.subarray(0, end - back);
    if ((byte & 0x80) === 0) break;
  }
  return bytes;
}

export async function detectFile(path: string): Promise<DetectedMedia | undefined> {
  const info = await stat(path).catch((error) => {
    throw fileSystemError(error, path);
  });
  // Opening a FIFO blocks until something writes to it.
  if (!info.isFile()) throw xmodalError('BAD_INPUT', `${path} is not a regular file`);
  const handle = await open(path, 'r').catch((error) => {
    throw fileSystemError(error, path);
  });
  try {
    const buffer = new Uint8Array(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    if (bytesRead === 0) throw xmodalError('BAD_INPUT', `${path} is empty`);
    const detected = await detectByMagic(buffer.subarray(0, bytesRead));
    // Reads the track list only: music-metadata seeks past the media data.
    if (detected?.modality === 'video') return soundOnly(detected, () => parseFile(path, TRACKS_ONLY));
    return detected;
  } finally {
    await handle.close();
  }
}
