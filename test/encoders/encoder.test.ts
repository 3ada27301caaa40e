import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test as nodeTest, type TestContext } from 'node:test';
import {
  AutoImageProcessor,
  AutoTokenizer,
  CLIPTextModelWithProjection,
  JinaCLIPVisionModel,
  RawImage,
  SiglipTextModel,
  Tensor,
} from '@huggingface/transformers';
import sharp from 'sharp';
import { AdaptedEncoder, saveAdapter } from '../../src/encoders/adapter.js';
import { clipWindows } from '../../src/encoders/audio-features.js';
import { DTYPE_FILE_SUFFIX } from '../../src/encoders/dtypes.js';
import type { Dtype, Encoder, EncoderOptions, Modality } from '../../src/encoders/encoder.js';
import { loadEncoder } from '../../src/encoders/load.js';
import { linearMap, MappedEncoder, saveMapAdapter } from '../../src/encoders/map-adapter.js';
import { loadAudio, rmsLevel } from '../../src/media/audio.js';
import { BatchingEncoder } from '../../src/server/batching.js';
import { meanDirection } from '../../src/vectors.js';
import {
  AUDIO,
  IMAGES,
  TINY_BUNDLE,
  TINY_CLAP,
  TINY_CLIP,
  TINY_JINA_CLIP,
  TINY_SIGLIP,
  tempDir,
} from '../helpers/paths.js';
import { assertRowsClose, cosine, norm } from '../helpers/vectors.js';

const TEXTS = ['a dog', 'a photo of a red car', 'piano', 'un gatto che dorme sul divano', '', 'ünïcödé ✓ 🐶'];

interface EncoderUnderTest {
  name: string;
  modalities: Modality[];
  /** Loads the encoder with these options (batch size, dtype, thread spinning). */
  load(options?: EncoderOptions): Promise<Encoder>;
  /** Which weight variants it ships. */
  hasDtype(dtype: Dtype): boolean;
  /** Tests it cannot pass, by name, with the reason (like Hono's shared router suite). */
  skip?: { reason: string; tests: string[] }[];
}

/** A model folder loaded as it is. */
function plainModel(name: string, folder: string, modalities: Modality[]): EncoderUnderTest {
  return {
    name,
    modalities,
    load: (options) => loadEncoder(folder, options),
    hasDtype: (dtype) => existsSync(join(folder, 'onnx', `text_model${DTYPE_FILE_SUFFIX[dtype]}.onnx`)),
  };
}

/** What every encoder must do, whatever its family or wrapper: the conformance suite for encoders. */
function encoderConformance(subject: EncoderUnderTest) {
  const { name, modalities } = subject;
  const skipped = (title: string) => subject.skip?.find((s) => s.tests.includes(title))?.reason;
  const test = (title: string, fn: (t: TestContext) => void | Promise<void>) =>
    nodeTest(title, { skip: skipped(title) ?? false }, fn);
  describe(`encoder conformance: ${name}`, () => {
    let encoder: Encoder;
    before(async () => {
      encoder = await subject.load({ batchSize: 4 });
    });
    after(() => encoder.dispose());

    test('reports its modalities, dimension and spec', () => {
      assert.deepEqual([...encoder.modalities].sort(), [...modalities].sort());
      assert.ok(encoder.dim > 0);
      assert.equal(encoder.spec.dim, encoder.dim);
      assert.equal(encoder.spec.dtype, 'fp32');
      assert.ok(encoder.spec.logitScale > 0);
    });

    test('embed(modality, inputs) is the typed methods, row for row', async () => {
      assertRowsClose(await encoder.embed('text', TEXTS), await encoder.embedText(TEXTS), 0);
      if (modalities.includes('image')) {
        const images = [join(IMAGES, 'photo.png')];
        assertRowsClose(await encoder.embed('image', images), await encoder.embedImages(images), 0);
      }
      if (modalities.includes('audio')) {
        const clips = [join(AUDIO, 'sine.flac')];
        assertRowsClose(await encoder.embed('audio', clips), await encoder.embedAudio(clips), 0);
      }
    });

    test('text rows are L2-normalised with the model dimension', async () => {
      const rows = await encoder.embedText(TEXTS);
      assert.equal(rows.length, TEXTS.length);
      for (const row of rows) {
        assert.ok(row instanceof Float32Array);
        assert.equal(row.length, encoder.dim);
        assert.ok(Math.abs(norm(row) - 1) < 1e-5);
      }
      assert.ok(cosine(rows[0], rows[1]) < 0.9999, 'different texts give different vectors');
    });

    test('loaded with thread spinning off (as a batching server loads it), the same vectors', async () => {
      const quiet = await subject.load({ batchSize: 4, spinThreads: false });
      try {
        assertRowsClose(await quiet.embedText(TEXTS), await encoder.embedText(TEXTS), 1e-6);
      } finally {
        await quiet.dispose();
      }
    });

    test('a batch equals single calls (fp32) across batch boundaries', async () => {
      const many = Array.from({ length: 11 }, (_, i) => `${TEXTS[i % TEXTS.length]} ${i}`);
      const batched = await encoder.embedText(many);
      const single = [];
      for (const text of many) single.push(...(await encoder.embedText([text])));
      assertRowsClose(batched, single, 1e-5);
    });

    if (modalities.includes('image')) {
      test('image batches equal single calls and every format embeds', async () => {
        const files = [
          'photo.png',
          'photo.jpg',
          'photo.webp',
          'photo.gif',
          'photo.avif',
          'photo.tiff',
          'photo.svg',
        ];
        const paths = files.map((f) => join(IMAGES, f));
        const batched = await encoder.embedImages(paths);
        const single = [];
        for (const path of paths) single.push(...(await encoder.embedImages([path])));
        assertRowsClose(batched, single, 1e-5);
        for (const row of batched) assert.ok(Math.abs(norm(row) - 1) < 1e-5);
        assert.ok(cosine(batched[0], batched[1]) > 0.9, 'PNG and JPEG of one picture embed alike');
      });
    }

    if (modalities.includes('audio')) {
      test('audio batches equal single calls; formats of one tone embed alike', async () => {
        const paths = ['sine-s16.wav', 'sine.flac', 'sine.mp3', 'sine.opus', 'sine-stereo-22050.wav'].map(
          (f) => join(AUDIO, f),
        );
        const batched = await encoder.embedAudio(paths);
        const single = [];
        for (const path of paths) single.push(...(await encoder.embedAudio([path])));
        assertRowsClose(batched, single, 1e-5);
        assert.ok(cosine(batched[0], batched[1]) > 0.99, 'lossless copies of one tone');
      });

      test('a long clip is the deterministic mean of its windows, each weighted by its level', async () => {
        const long = join(AUDIO, 'long-25s-16k.wav');
        const [first, again] = [await encoder.embedAudio([long]), await encoder.embedAudio([long])];
        assertRowsClose(first, again, 0);
        const samples = await loadAudio(long, 48000);
        const windows = clipWindows(samples, 48000, 480000);
        assert.equal(windows.length, 3);
        const perWindow = await encoder.embedAudio(windows.map((w) => ({ samples: w, sampleRate: 48000 })));
        const levels = windows.map(rmsLevel);
        const weights = levels.map((l) => l / Math.max(...levels));
        assertRowsClose(first, [meanDirection(perWindow, weights)], 1e-5);
        assert.ok(cosine(first[0], perWindow[0]) < 0.9999, 'not just the first window');
      });
    }

    test('empty input gives no rows', async () => {
      assert.deepEqual(await encoder.embedText([]), []);
    });

    test('a modality the model lacks is refused with a clear error', async () => {
      const missing = (['image', 'audio'] as const).find((m) => !modalities.includes(m))!;
      const call = missing === 'image' ? encoder.embedImages(['x.png']) : encoder.embedAudio(['x.wav']);
      await assert.rejects(call, { code: 'MODALITY_UNSUPPORTED' });
    });

    for (const [dtype, suffix] of [
      ['q8', '_quantized'],
      ['int8', '_int8'],
      ['fp16', '_fp16'],
    ] as const) {
      test(`${dtype} weights load from *${suffix}.onnx and stay close to fp32`, async (t) => {
        if (!subject.hasDtype(dtype)) return t.skip(`no ${dtype} files in ${name}`);
        const variant = await subject.load({ dtype });
        try {
          assert.equal(variant.spec.dtype, dtype);
          const [a, b] = [
            await encoder.embedText(TEXTS.slice(0, 3)),
            await variant.embedText(TEXTS.slice(0, 3)),
          ];
          for (let i = 0; i < a.length; i++) {
            const c = cosine(a[i], b[i]);
            assert.ok(c > 0.95 && c < 1 - 1e-9, `${dtype} vs fp32 cosine ${c}: close, but not the same file`);
          }
        } finally {
          await variant.dispose();
        }
      });
    }
  });
}

encoderConformance(plainModel('tiny CLIP', TINY_CLIP, ['text', 'image']));
encoderConformance(plainModel('tiny CLAP', TINY_CLAP, ['text', 'audio']));
encoderConformance(plainModel('tiny SigLIP', TINY_SIGLIP, ['text', 'image']));
encoderConformance(plainModel('tiny Jina-CLIP', TINY_JINA_CLIP, ['text', 'image']));
encoderConformance({
  ...plainModel('bundle (tiny CLIP + tiny CLAP)', TINY_BUNDLE, ['text', 'image', 'audio']),
  hasDtype: (dtype) =>
    plainModel('', TINY_CLIP, []).hasDtype(dtype) && plainModel('', TINY_CLAP, []).hasDtype(dtype),
  skip: [
    {
      reason: 'it embeds every modality, so there is none to refuse',
      tests: ['a modality the model lacks is refused with a clear error'],
    },
  ],
});

/** An adapter on tiny CLIP: small fixed matrices, so the map is near the identity but not it. */
const ADAPTER_DIR = tempDir('xmodal-adapter-');
process.on('exit', () => rmSync(ADAPTER_DIR, { recursive: true, force: true }));
encoderConformance({
  ...plainModel('adapted (tiny CLIP + residual adapter)', TINY_CLIP, ['text', 'image']),
  async load(options) {
    if (!existsSync(join(ADAPTER_DIR, 'adapter.json'))) {
      const dim = 32;
      const matrix = (seed: number) =>
        Float32Array.from({ length: dim * dim }, (_, i) => 0.02 * Math.sin(seed + i));
      saveAdapter(ADAPTER_DIR, {
        model: TINY_CLIP,
        dim,
        matrices: { text: matrix(1), image: matrix(2) },
        logitScale: 30,
      });
    }
    const encoder = await loadEncoder(ADAPTER_DIR, options);
    assert.ok(encoder instanceof AdaptedEncoder);
    assert.equal(encoder.spec.adapter, ADAPTER_DIR);
    assert.equal(encoder.spec.logitScale, 30);
    return encoder;
  },
});
/** A linear map of tiny CLAP's 32-d vectors into 16 dimensions (what `xmodal bind` writes). */
const MAP_DIR = tempDir('xmodal-map-');
process.on('exit', () => rmSync(MAP_DIR, { recursive: true, force: true }));
encoderConformance({
  ...plainModel('mapped (tiny CLAP + linear map to 16-d)', TINY_CLAP, ['text', 'audio']),
  skip: [
    {
      reason: "it maps the model's mean of the windows, and a map of a mean is not the mean of the maps",
      tests: ['a long clip is the deterministic mean of its windows, each weighted by its level'],
    },
  ],
  async load(options) {
    if (!existsSync(join(MAP_DIR, 'adapter.json'))) {
      const linear = Float32Array.from({ length: 16 * 32 }, (_, i) => Math.sin(1 + i));
      saveMapAdapter(MAP_DIR, linearMap(TINY_CLAP, 32, 16, linear));
    }
    const encoder = await loadEncoder(MAP_DIR, options);
    assert.ok(encoder instanceof MappedEncoder);
    assert.equal(encoder.dim, 16);
    assert.equal(encoder.spec.adapter, MAP_DIR);
    return encoder;
  },
});
encoderConformance({
  ...plainModel('batching (the server wrapper on tiny CLAP)', TINY_CLAP, ['text', 'audio']),
  load: async (options) => new BatchingEncoder(await loadEncoder(TINY_CLAP, options), { maxWaitMs: 1 }),
});

const test = nodeTest;

describe('CLIP text longer than the model window', () => {
  const longText = Array.from({ length: 120 }, (_, i) => `word${i % 17} and`).join(' ');

  test('keeps the end-of-text token the model pools at', async () => {
    const encoder = await loadEncoder(TINY_CLIP);
    const [ours] = await encoder.embedText([longText]);
    await encoder.dispose();

    const tokenizer = await AutoTokenizer.from_pretrained(TINY_CLIP);
    const model = await CLIPTextModelWithProjection.from_pretrained(TINY_CLIP, { dtype: 'fp32' });
    const full: number[] = tokenizer.encode(longText);
    assert.ok(full.length > 77, `the test text must be longer than 77 tokens (got ${full.length})`);
    const eos = tokenizer.eos_token_id as number;
    const embed = async (ids: number[]) => {
      const dims = [1, ids.length];
      const out = await model({
        input_ids: new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), dims),
        attention_mask: new Tensor('int64', BigInt64Array.from(ids.map(() => 1n)), dims),
      });
      const v = out.text_embeds.data as Float32Array;
      const n = Math.hypot(...v);
      return Float32Array.from(v, (x) => x / n);
    };
    const expected = await embed([...full.slice(0, 76), eos]);
    const naive = await embed(full.slice(0, 77));
    await model.dispose();
    assertRowsClose([ours], [expected], 1e-5);
    assert.ok(cosine(ours, naive) < 0.999, 'the naive truncation (EOS dropped) gives a different embedding');
  });
});

describe('SigLIP text longer than the model window', () => {
  const longText = Array.from({ length: 80 }, (_, i) => `word${i % 13} and`).join(' ');

  test('keeps the end-of-text token at the last position, as Python truncation does', async () => {
    const encoder = await loadEncoder(TINY_SIGLIP);
    const [ours] = await encoder.embedText([longText]);
    await encoder.dispose();

    const tokenizer = await AutoTokenizer.from_pretrained(TINY_SIGLIP);
    const model = await SiglipTextModel.from_pretrained(TINY_SIGLIP, { dtype: 'fp32' });
    const full: number[] = tokenizer.encode(longText);
    assert.ok(full.length > 64, `the test text must be longer than 64 tokens (got ${full.length})`);
    const embed = async (ids: number[]) => {
      const out = await model({
        input_ids: new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      });
      const v = out.pooler_output.data as Float32Array;
      const n = Math.hypot(...v);
      return Float32Array.from(v, (x) => x / n);
    };
    const expected = await embed([...full.slice(0, 63), tokenizer.eos_token_id as number]);
    const naive = await embed(full.slice(0, 64));
    await model.dispose();
    assertRowsClose([ours], [expected], 1e-5);
    assert.ok(cosine(ours, naive) < 0.999, 'the naive truncation (EOS dropped) gives a different embedding');
  });
});

describe('Jina-CLIP image preprocessing', () => {
  test('normalises with the `mean`/`std` of its preprocessor_config.json, like transformers.js', async () => {
    // One flat colour at the model's input size: no resize or crop, so only normalisation can differ.
    const png = await sharp({
      create: { width: 32, height: 32, channels: 3, background: { r: 200, g: 60, b: 30 } },
    })
      .png()
      .toBuffer();
    const encoder = await loadEncoder(TINY_JINA_CLIP);
    const [ours] = await encoder.embedImages([new Uint8Array(png)]);
    await encoder.dispose();

    const processor = await AutoImageProcessor.from_pretrained(TINY_JINA_CLIP);
    const model = await JinaCLIPVisionModel.from_pretrained(TINY_JINA_CLIP, { dtype: 'fp32' });
    const { pixel_values } = await processor(await RawImage.fromBlob(new Blob([png])));
    const reference = (await model({ pixel_values })).l2norm_image_embeddings.data as Float32Array;
    await model.dispose();
    assertRowsClose([ours], [reference], 1e-5);
  });
});

describe('encoder options', () => {
  test('image limits given at load time refuse large images before decoding', async () => {
    const encoder = await loadEncoder(TINY_CLIP, { imageLimits: { maxPixels: 1000 } });
    try {
      await assert.rejects(encoder.embedImages([join(IMAGES, 'photo.png')]), { code: 'INPUT_TOO_LARGE' });
    } finally {
      await encoder.dispose();
    }
  });
});
