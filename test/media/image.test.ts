import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { XmodalError } from '../../src/errors.js';
import {
  type ImagePreprocessing,
  imagePreprocessingFromConfig,
  preprocessImage,
} from '../../src/media/image.js';
import { IMAGES, TINY_CLIP } from '../helpers/paths.js';

const manifest = JSON.parse(readFileSync(join(IMAGES, 'manifest.json'), 'utf8'));
const clipPreprocessing = imagePreprocessingFromConfig(
  JSON.parse(readFileSync(join(TINY_CLIP, 'preprocessor_config.json'), 'utf8')),
);
/** No resize beyond the given size and no normalisation: values are plain RGB in [0, 1]. */
const plain = (width: number, height: number): ImagePreprocessing => ({
  resize: { width, height },
  crop: null,
  rescale: 1 / 255,
  mean: [0, 0, 0],
  std: [1, 1, 1],
});
const rgbAt = (chw: Float32Array, width: number, height: number, x: number, y: number) =>
  [0, 1, 2].map((c) => Math.round(chw[c * width * height + y * width + x] * 255));

describe('image decoding and preprocessing', () => {
  for (const file of manifest.photo.files as string[]) {
    test(`decodes ${file} into the model's input size`, async () => {
      const pixels = await preprocessImage(join(IMAGES, file), clipPreprocessing);
      assert.equal(pixels.length, 3 * 32 * 32);
      assert.ok(pixels.every(Number.isFinite));
      const spread = Math.max(...pixels) - Math.min(...pixels);
      assert.ok(spread > 1, `a real picture, not a flat fill (spread ${spread})`);
    });
  }

  test('bytes and a path give the same pixels', async () => {
    const path = join(IMAGES, 'photo.jpg');
    const [a, b] = [
      await preprocessImage(path, clipPreprocessing),
      await preprocessImage(readFileSync(path), clipPreprocessing),
    ];
    assert.deepEqual(a, b);
  });

  test('matches reference pixel values from PIL (Hugging Face CLIPImageProcessor steps)', async () => {
    const reference = JSON.parse(readFileSync(join(IMAGES, 'reference.json'), 'utf8'));
    const expected: number[] = reference.pixel_values.flat(Number.POSITIVE_INFINITY);
    const actual = await preprocessImage(
      join(IMAGES, reference.source),
      imagePreprocessingFromConfig(reference.config),
    );
    assert.equal(actual.length, expected.length);
    let sum = 0;
    let worst = 0;
    for (let i = 0; i < expected.length; i++) {
      const d = Math.abs(actual[i] - expected[i]);
      sum += d;
      worst = Math.max(worst, d);
    }
    // One 8-bit level is ~0.015 after normalisation; libvips and PIL bicubic differ by rounding only.
    assert.ok(sum / expected.length < 0.02, `mean abs difference ${sum / expected.length}`);
    assert.ok(worst < 0.1, `max abs difference ${worst}`);
  });

  test('transparency is flattened over white', async () => {
    const { x, y } = manifest.photo.transparent_window;
    const pixels = await preprocessImage(join(IMAGES, 'photo.png'), plain(96, 64));
    assert.deepEqual(rgbAt(pixels, 96, 64, x[0] + 2, y[0] + 2), [255, 255, 255]);
  });

  test('EXIF orientation is applied', async () => {
    const info = manifest['exif-orientation-6.jpg'];
    const [w, h] = info.displayed;
    const pixels = await preprocessImage(join(IMAGES, 'exif-orientation-6.jpg'), plain(w, h));
    const corners = {
      top_left: rgbAt(pixels, w, h, 4, 4),
      top_right: rgbAt(pixels, w, h, w - 5, 4),
      bottom_left: rgbAt(pixels, w, h, 4, h - 5),
      bottom_right: rgbAt(pixels, w, h, w - 5, h - 5),
    };
    for (const [corner, rgb] of Object.entries(corners)) {
      const want = info.display_quadrants[corner] as number[];
      assert.ok(
        rgb.every((v, c) => Math.abs(v - want[c]) < 40),
        `${corner}: got ${rgb}, want ${want}`,
      );
    }
  });

  const bad: [string, string][] = [
    ['empty.jpg', 'BAD_INPUT'],
    ['corrupt.jpg', 'BAD_INPUT'],
    ['truncated.jpg', 'BAD_INPUT'],
    ['manifest.json', 'UNSUPPORTED_FORMAT'],
    ['no-such-file.png', 'FILE_NOT_FOUND'],
  ];
  for (const [file, code] of bad) {
    test(`${file} is refused with ${code}`, async () => {
      await assert.rejects(preprocessImage(join(IMAGES, file), clipPreprocessing), (error: unknown) => {
        assert.ok(error instanceof XmodalError);
        assert.equal(error.code, code);
        assert.ok(!error.message.includes('\n'));
        return true;
      });
    });
  }

  test('images over the pixel or byte limit are refused before decoding', async () => {
    const photo = join(IMAGES, 'photo.png');
    await assert.rejects(preprocessImage(photo, clipPreprocessing, { maxPixels: 1000 }), {
      code: 'INPUT_TOO_LARGE',
    });
    await assert.rejects(preprocessImage(photo, clipPreprocessing, { maxBytes: 100 }), {
      code: 'INPUT_TOO_LARGE',
    });
  });
});
