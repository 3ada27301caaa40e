import sharp from 'sharp';
import { errorMessage, type XmodalError, xmodalError } from '../errors.js';
import { describeSource, type MediaSource, readMediaBytes } from './input.js';

export type ImageInput = MediaSource;

/** How a model wants its pixels, read from a Hugging Face `preprocessor_config.json`. */
export interface ImagePreprocessing {
  /** Resize target: the shortest edge, or an exact size (SigLIP squashes). */
  resize: { shortestEdge: number } | { height: number; width: number };
  crop: { height: number; width: number } | null;
  rescale: number;
  mean: [number, number, number];
  std: [number, number, number];
}

export interface ImageLimits {
  /** Refuse images with more pixels than this (decompression bombs). */
  maxPixels?: number;
  maxBytes?: number;
}

export const DEFAULT_MAX_PIXELS = 64_000_000;

type RawConfig = Record<string, unknown>;

function sizeOf(value: unknown): { height: number; width: number } | { shortestEdge: number } | null {
  if (typeof value === 'number') return { height: value, width: value };
  if (value && typeof value === 'object') {
    const v = value as Record<string, number>;
    if (typeof v.shortest_edge === 'number') return { shortestEdge: v.shortest_edge };
    if (typeof v.height === 'number' && typeof v.width === 'number')
      return { height: v.height, width: v.width };
  }
  return null;
}

function triple(value: unknown, fallback: number): [number, number, number] {
  if (Array.isArray(value) && value.length === 3) return value as [number, number, number];
  if (typeof value === 'number') return [value, value, value];
  return [fallback, fallback, fallback];
}

/** Normalises the several dialects of preprocessor_config.json (CLIP, SigLIP, Jina-CLIP) into one shape. */
export function imagePreprocessingFromConfig(config: RawConfig): ImagePreprocessing {
  let resize = sizeOf(config.size);
  // Jina-CLIP: `size` is a number with `resize_mode` saying how to use it.
  if (typeof config.size === 'number' && config.resize_mode === 'shortest')
    resize = { shortestEdge: config.size };
  if (!resize) throw xmodalError('MODEL_INVALID', 'preprocessor_config.json has no usable "size"');
  const cropConfigured =
    config.do_center_crop ?? (config.crop_size !== undefined || config.resize_mode === 'shortest');
  let crop = cropConfigured ? sizeOf(config.crop_size ?? config.size) : null;
  if (crop && 'shortestEdge' in crop) crop = { height: crop.shortestEdge, width: crop.shortestEdge };
  if (!crop && 'shortestEdge' in resize) crop = { height: resize.shortestEdge, width: resize.shortestEdge };
  const doNormalize = config.do_normalize !== false;
  return {
    resize,
    crop: crop as { height: number; width: number } | null,
    rescale:
      config.do_rescale === false
        ? 1
        : typeof config.rescale_factor === 'number'
          ? config.rescale_factor
          : 1 / 255,
    // Jina-CLIP spells them `mean`/`std`.
    mean: doNormalize ? triple(config.image_mean ?? config.mean, 0.5) : [0, 0, 0],
    std: doNormalize ? triple(config.image_std ?? config.std, 0.5) : [1, 1, 1],
  };
}

/** Output pixel size of the model input. */
export function inputSize(p: ImagePreprocessing): { height: number; width: number } {
  if (p.crop) return p.crop;
  if ('shortestEdge' in p.resize) return { height: p.resize.shortestEdge, width: p.resize.shortestEdge };
  return p.resize;
}

/** Size after the resize step, as Hugging Face's image processors compute it (long side truncated). */
function resizedSize(
  width: number,
  height: number,
  p: ImagePreprocessing,
): { width: number; height: number } {
  if (!('shortestEdge' in p.resize)) return p.resize;
  const s = p.resize.shortestEdge;
  return width <= height
    ? { width: s, height: Math.trunc((s * height) / width) }
    : { width: Math.trunc((s * width) / height), height: s };
}

function sharpFailure(error: unknown, source: ImageInput): XmodalError {
  const message = errorMessage(error);
  const where = describeSource(source);
  if (/pixel limit/i.test(message))
    return xmodalError('INPUT_TOO_LARGE', `${where}: image has too many pixels`, error);
  if (/unsupported image format|bad seek|not a known file format/i.test(message))
    return xmodalError('UNSUPPORTED_FORMAT', `${where}: not an image format xmodal can read`, error);
  return xmodalError('BAD_INPUT', `${where}: cannot decode image (${message.split('\n')[0]})`, error);
}

/**
 * Decodes one image (first frame, EXIF orientation applied, alpha flattened over white) and returns the
 * model's input as normalised CHW float32. Resizing and cropping happen inside libvips (antialiased
 * bicubic, JPEG shrink-on-load); only the final normalisation runs in JavaScript.
 */
export async function preprocessImage(
  source: ImageInput,
  p: ImagePreprocessing,
  limits: ImageLimits = {},
): Promise<Float32Array> {
  const bytes = await readMediaBytes(source, 'image', limits.maxBytes);
  const { height, width } = inputSize(p);
  let raw: Buffer;
  try {
    const image = sharp(bytes, {
      limitInputPixels: limits.maxPixels ?? DEFAULT_MAX_PIXELS,
      failOn: 'error',
    }).rotate();
    const meta = await image.metadata();
    if (!meta.width || !meta.height) throw xmodalError('BAD_INPUT', 'image has no size');
    const rotated = (meta.orientation ?? 1) >= 5;
    const [w, h] = rotated ? [meta.height, meta.width] : [meta.width, meta.height];
    const resized = resizedSize(w, h, p);
    let pipeline = image
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .resize(resized.width, resized.height, { fit: 'fill', kernel: 'cubic' });
    if (p.crop && (resized.width !== width || resized.height !== height)) {
      const left = Math.max(0, Math.trunc((resized.width - width) / 2));
      const top = Math.max(0, Math.trunc((resized.height - height) / 2));
      pipeline = pipeline.extract({
        left,
        top,
        width: Math.min(width, resized.width),
        height: Math.min(height, resized.height),
      });
      if (resized.width < width || resized.height < height)
        pipeline = pipeline.resize(width, height, { fit: 'contain', background: { r: 0, g: 0, b: 0 } });
    }
    raw = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer();
  } catch (error) {
    throw sharpFailure(error, source);
  }
  return normalizeToChw(raw, width, height, p);
}

function normalizeToChw(rgb: Buffer, width: number, height: number, p: ImagePreprocessing): Float32Array {
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const scale = p.rescale / p.std[c];
    const shift = p.mean[c] / p.std[c];
    const base = c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = rgb[i * 3 + c] * scale - shift;
  }
  return out;
}
