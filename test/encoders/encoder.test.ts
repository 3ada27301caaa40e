import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
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
import type { Encoder, Modality } from '../../src/encoders/encoder.js';
import { loadEncoder } from '../../src/encoders/load.js';
import { meanDirection } from '../../src/encoders/vectors.js';
import { loadAudio, splitIntoWindows } from '../../src/media/audio.js';
import { AUDIO, IMAGES, TINY_CLAP, TINY_CLIP, TINY_JINA_CLIP, TINY_SIGLIP } from '../helpers/paths.js';
import { assertRowsClose, cosine, norm } from '../helpers/vectors.js';

const TEXTS = ['a dog', 'a photo of a red car', 'piano', 'un gatto che dorme sul divano', '', 'ünïcödé ✓ 🐶'];

/** What every encoder must do, whatever its family: the conformance suite for encoders. */
function encoderConformance(name: string, modelPath: string, modalities: Modality[]) {
  describe(`encoder conformance: ${name}`, () => {
    let encoder: Encoder;
    before(async () => {
      encoder = await loadEncoder(modelPath, { batchSize: 4 });
    });
    after(() => encoder.dispose());

    test('reports its modalities and dimension', () => {
      assert.deepEqual([...encoder.modalities].sort(), [...modalities].sort());
      assert.ok(encoder.dim > 0);
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
      const quiet = await loadEncoder(modelPath, { batchSize: 4, spinThreads: false });
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

      test('a long clip is the deterministic mean of its windows', async () => {
        const long = join(AUDIO, 'long-25s-16k.wav');
        const [first, again] = [await encoder.embedAudio([long]), await encoder.embedAudio([long])];
        assertRowsClose(first, again, 0);
        const samples = await loadAudio(long, 48000);
        const windows = splitIntoWindows(samples, 480000);
        assert.equal(windows.length, 3);
        const perWindow = await encoder.embedAudio(windows.map((w) => ({ samples: w, sampleRate: 48000 })));
        assertRowsClose(first, [meanDirection(perWindow)], 1e-5);
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
        if (!existsSync(join(modelPath, 'onnx', `text_model${suffix}.onnx`)))
          return t.skip(`no ${dtype} files in ${name}`);
        const variant = await loadEncoder(modelPath, { dtype });
        try {
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

encoderConformance('tiny CLIP', TINY_CLIP, ['text', 'image']);
encoderConformance('tiny CLAP', TINY_CLAP, ['text', 'audio']);
encoderConformance('tiny SigLIP', TINY_SIGLIP, ['text', 'image']);
encoderConformance('tiny Jina-CLIP', TINY_JINA_CLIP, ['text', 'image']);

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
