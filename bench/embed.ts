/**
 * Image embedding throughput on a ViT-B/32-sized CLIP vision tower (random weights), in one run:
 *   limit  — onnxruntime-node alone on ready-made tensors, at xmodal's batch size (the ceiling);
 *   naive  — the seed's path: one transformers.js processor + model call per image;
 *   xmodal — end to end: read JPEG files, decode + preprocess (libvips) overlapped with batched inference.
 * Usage: npx tsx bench/embed.ts [--quick] [--images N]
 * Builds the tower on first use with Debian's python3-torch (bench/.models/vit-b32, not committed).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AutoProcessor, CLIPVisionModelWithProjection, RawImage } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { Dtype } from '../src/encoders/encoder.js';
import { loadEncoder } from '../src/encoders/load.js';

const ROOT = resolve(import.meta.dirname, '..');
const MODEL = join(ROOT, 'bench', '.models', 'vit-b32');
const quick = process.argv.includes('--quick');
const countFlag = process.argv.indexOf('--images');
const BATCH = 16;

function ensureModel(): void {
  if (existsSync(join(MODEL, 'onnx', 'vision_model_int8.onnx'))) return;
  console.log('building the ViT-B/32-sized tower (once) ...');
  execFileSync('/usr/bin/python3', [join(ROOT, 'test', 'fixtures', 'build_models.py'), '--vit-b32', MODEL], {
    stdio: 'inherit',
  });
}

/** Photo-like JPEGs (smooth gradients, shapes, noise) at a typical camera-ish size. */
async function makeImages(dir: string, count: number): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const path = join(dir, `photo-${i}.jpg`);
    paths.push(path);
    if (existsSync(path)) continue;
    const [w, h] = [800, 600];
    const pixels = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const o = (y * w + x) * 3;
        const inCircle = (x - 200 - i * 7) ** 2 + (y - 300) ** 2 < 120 ** 2;
        pixels[o] = inCircle ? 220 : (x * 255) / w;
        pixels[o + 1] = ((y * 255) / h + i * 13) % 256;
        pixels[o + 2] = ((x + y + i * 31) % 256) ^ ((Math.random() * 24) | 0);
      }
    await sharp(pixels, { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 88 })
      .toFile(path);
  }
  return paths;
}

async function timeIt(run: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await run();
  return (performance.now() - start) / 1000;
}

async function modelOnly(dtype: Dtype, images: number): Promise<number> {
  const suffix = dtype === 'int8' ? '_int8' : '';
  const session = await ort.InferenceSession.create(join(MODEL, 'onnx', `vision_model${suffix}.onnx`));
  const input = new ort.Tensor(
    'float32',
    new Float32Array(BATCH * 3 * 224 * 224).map(() => Math.random() - 0.5),
    [BATCH, 3, 224, 224],
  );
  await session.run({ pixel_values: input }); // warm-up
  const batches = Math.ceil(images / BATCH);
  const seconds = await timeIt(async () => {
    for (let b = 0; b < batches; b++) await session.run({ pixel_values: input });
  });
  await session.release();
  return (batches * BATCH) / seconds;
}

async function naive(dtype: Dtype, paths: string[]): Promise<number> {
  const processor = await AutoProcessor.from_pretrained(MODEL);
  const model = await CLIPVisionModelWithProjection.from_pretrained(MODEL, { dtype, device: 'cpu' });
  const once = async (path: string) => {
    const image = await RawImage.read(path);
    const inputs = await processor(image);
    await model(inputs);
  };
  await once(paths[0]);
  const seconds = await timeIt(async () => {
    for (const path of paths) await once(path);
  });
  await model.dispose();
  return paths.length / seconds;
}

async function endToEnd(dtype: Dtype, paths: string[]): Promise<number> {
  const encoder = await loadEncoder(MODEL, { dtype, batchSize: BATCH });
  await encoder.embedImages(paths.slice(0, 2));
  const seconds = await timeIt(async () => {
    await encoder.embedImages(paths);
  });
  await encoder.dispose();
  return paths.length / seconds;
}

ensureModel();
const results: Record<string, { limit: number; naive: number; e2e: number }> = {};
for (const dtype of ['fp32', 'int8'] as const) {
  const count =
    countFlag > 0 ? Number(process.argv[countFlag + 1]) : quick ? (dtype === 'fp32' ? 48 : 96) : 256;
  const paths = await makeImages(join(ROOT, 'bench', '.models', 'photos'), count);
  const limit = await modelOnly(dtype, count);
  const e2e = await endToEnd(dtype, paths);
  const naiveRate = await naive(dtype, paths.slice(0, Math.max(16, count / 2)));
  results[dtype] = { limit, naive: naiveRate, e2e };
  console.log(
    `${dtype.padEnd(5)} images=${count} model-only ${limit.toFixed(2)} img/s | naive ${naiveRate.toFixed(2)} img/s | ` +
      `xmodal e2e ${e2e.toFixed(2)} img/s | e2e/limit ${(e2e / limit).toFixed(2)} | e2e/naive ${(e2e / naiveRate).toFixed(2)}`,
  );
}
const r = (a: number, b: number) => (a / b).toFixed(2);
console.log(
  `RESULT embed e2e_vs_limit_fp32=${r(results.fp32.e2e, results.fp32.limit)} e2e_vs_naive_fp32=${r(results.fp32.e2e, results.fp32.naive)} ` +
    `e2e_vs_limit_int8=${r(results.int8.e2e, results.int8.limit)} e2e_vs_naive_int8=${r(results.int8.e2e, results.int8.naive)}`,
);
