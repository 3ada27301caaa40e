import sharp from 'sharp';
import { xmodalError } from '../errors.js';
import { detectMedia } from '../media/detect.js';
import type { Input } from '../tasks/embed.js';
import type { Modality } from '../types.js';

const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+)?((?:;[\w-]+=[^;,]*)*)(;base64)?,/i;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** A JSON media value (a `data:` URL or bare base64) as bytes. */
export function decodeMediaString(value: string, what: string): Uint8Array {
  let payload = value.trim();
  const dataUrl = DATA_URL.exec(payload);
  if (dataUrl) {
    if (!dataUrl[3]) throw xmodalError('BAD_INPUT', `${what}: data URLs must be base64-encoded`);
    payload = payload.slice(dataUrl[0].length);
  } else if (/^https?:\/\//i.test(payload)) {
    // The server never fetches URLs on a client's behalf.
    throw xmodalError('BAD_INPUT', `${what}: send the file itself (base64 or a data: URL), not a link`);
  }
  payload = payload.replace(/\s+/g, '');
  if (!payload) throw xmodalError('BAD_INPUT', `${what} is empty`);
  if (!BASE64.test(payload)) throw xmodalError('BAD_INPUT', `${what} is not base64 or a base64 data: URL`);
  return new Uint8Array(
    Buffer.from(payload, payload.includes('-') || payload.includes('_') ? 'base64url' : 'base64'),
  );
}

/**
 * A text input within the length limit. Models read only their first tokens, but parsing, tokenizing and
 * holding megabytes of text per input still costs memory and time other requests wait for.
 */
export function checkText(text: string, what: string, limits: { textChars: number }): string {
  if (text.length > limits.textChars)
    throw xmodalError(
      'INPUT_TOO_LARGE',
      `${what} is ${text.length} characters; the limit is ${limits.textChars} per text`,
    );
  return text;
}

/** True when a string looks like a media data URL of that modality (the Jina/Infinity convention). */
export function dataUrlModality(value: string): Modality | undefined {
  const match = /^data:(image|audio)\//i.exec(value);
  return match ? (match[1].toLowerCase() as Modality) : undefined;
}

export interface MediaLimits {
  maxPixels: number;
  /** Longest text input, characters. */
  textChars: number;
}

/** One input as JSON: `{"text"|"image"|"audio": ...}`, or a string (text, or a media data URL). */
export type JsonInput = string | { text?: string; image?: string; audio?: string };

/**
 * The one reading of a JSON input for every route: exactly one of text, image, audio; media decoded from
 * base64 or a data URL and checked to be that modality within the limits; a blank text refused.
 */
export async function jsonInput(json: JsonInput, what: string, limits: MediaLimits): Promise<Input> {
  let modality: Modality;
  let value: string;
  if (typeof json === 'string') {
    modality = dataUrlModality(json) ?? 'text';
    value = json;
  } else {
    const given = (['text', 'image', 'audio'] as const).filter((key) => json?.[key] !== undefined);
    if (given.length !== 1)
      throw xmodalError('BAD_ARGUMENT', `${what}: give exactly one of text, image, audio`);
    modality = given[0];
    value = json[modality]!;
  }
  if (typeof value !== 'string') throw xmodalError('BAD_ARGUMENT', `${what} must be a string`);
  if (modality === 'text') {
    if (!value.trim()) throw xmodalError('BAD_INPUT', `${what} is an empty string`);
    return { modality, text: checkText(value, what, limits) };
  }
  const bytes = decodeMediaString(value, what);
  await checkMedia(bytes, modality, what, limits);
  return { modality, source: bytes };
}

/**
 * Checks that bytes are the modality the client said, and that an image's header promises no more than
 * `maxPixels` pixels, before anything decodes it (decompression bombs).
 */
export async function checkMedia(
  bytes: Uint8Array,
  modality: 'image' | 'audio',
  what: string,
  limits: MediaLimits,
): Promise<void> {
  const detected = await detectMedia(bytes);
  if (detected?.modality !== modality)
    throw xmodalError(
      'UNSUPPORTED_FORMAT',
      `${what} is not ${modality === 'image' ? 'an image' : 'audio'} xmodal can read`,
    );
  if (modality !== 'image') return;
  let width = 0;
  let height = 0;
  try {
    ({ width = 0, height = 0 } = await sharp(bytes, { limitInputPixels: false }).metadata());
  } catch (error) {
    throw xmodalError('BAD_INPUT', `${what}: cannot read the image header`, error);
  }
  if (width * height > limits.maxPixels)
    throw xmodalError(
      'INPUT_TOO_LARGE',
      `${what} is ${width}x${height} pixels, over the ${limits.maxPixels}-pixel limit`,
    );
}
