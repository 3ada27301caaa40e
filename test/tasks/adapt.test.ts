import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AdaptedEncoder, adaptRow, readAdapter, saveAdapter } from '../../src/encoders/adapter.js';
import type { Encoder, Modality } from '../../src/encoders/encoder.js';
import { loadEncoder } from '../../src/encoders/load.js';
import {
  type EmbeddedPairs,
  type Pair,
  Params,
  pairRetrieval,
  readPairs,
  splitPairs,
  symmetricInfoNce,
  trainAdapter,
  trainOnEmbeddings,
} from '../../src/tasks/adapt.js';
import { l2normalize } from '../../src/vectors.js';
import { encoderSuite } from '../helpers/encoder-suite.js';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { openMojiNames, openMojiText, renderOpenMoji } from '../helpers/openmoji.js';
import { AUDIO, IMAGES, TINY_BUNDLE, tempDir } from '../helpers/paths.js';

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
}

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

/** b = normalize(M a + noise) for a fixed random M: a domain shift a linear adapter can undo. */
function syntheticPairs(n: number, dim: number, seed = 7): EmbeddedPairs {
  const random = seeded(seed);
  const m = Array.from({ length: dim * dim }, () => gaussian(random) / Math.sqrt(dim));
  const a = Array.from({ length: n }, () =>
    l2normalize(Float32Array.from({ length: dim }, () => gaussian(random))),
  );
  const b = a.map((x) =>
    l2normalize(
      Float32Array.from({ length: dim }, (_, r) => {
        let s = 0.1 * gaussian(random);
        for (let c = 0; c < dim; c++) s += m[r * dim + c] * x[c];
        return s;
      }),
    ),
  );
  return {
    a,
    b,
    modalityA: a.map(() => 'text' as Modality),
    modalityB: b.map(() => 'image' as Modality),
    keyA: a.map((_, i) => `t${i}`),
    keyB: b.map((_, i) => `i${i}`),
  };
}

describe('adapter training mechanics (synthetic pairs)', () => {
  test('the analytic gradient matches finite differences', () => {
    const data = syntheticPairs(6, 4);
    // Pairs 0 and 1 share a text: both count as positives of each other.
    data.keyA[1] = data.keyA[0];
    const params = new Params(4, ['text', 'image'], Math.log(5));
    const random = seeded(3);
    for (const w of params.matrices.values())
      for (let i = 0; i < w.length; i++) w[i] = 0.3 * gaussian(random);
    const grads = params.zeros();
    const batch = [0, 1, 2, 3, 4, 5];
    symmetricInfoNce(data, batch, params, grads);
    const h = 1e-3;
    for (const modality of ['text', 'image'] as const)
      for (const k of [0, 5, 10, 15]) {
        const w = params.matrices.get(modality)!;
        const saved = w[k];
        w[k] = saved + h;
        const up = symmetricInfoNce(data, batch, params);
        w[k] = saved - h;
        const down = symmetricInfoNce(data, batch, params);
        w[k] = saved;
        const numeric = (up - down) / (2 * h);
        assert.ok(
          Math.abs(numeric - grads.matrices.get(modality)![k]) < 2e-3,
          `${modality}[${k}]: ${numeric} vs ${grads.matrices.get(modality)![k]}`,
        );
      }
    const saved = params.logScale;
    params.logScale = saved + h;
    const up = symmetricInfoNce(data, batch, params);
    params.logScale = saved - h;
    const down = symmetricInfoNce(data, batch, params);
    params.logScale = saved;
    assert.ok(Math.abs((up - down) / (2 * h) - grads.logScale) < 2e-3);
  });

  test('training lowers the validation loss and raises recall on a held-out split', () => {
    const { adapter, report } = trainOnEmbeddings('synthetic', syntheticPairs(400, 16), {
      epochs: 40,
      batchSize: 64,
      learningRate: 5e-3,
      logitScale: 20,
    });
    assert.ok(
      report.validationLoss.after < report.validationLoss.before * 0.7,
      JSON.stringify(report.validationLoss),
    );
    assert.ok(
      report.validation.after['recall@1'] > report.validation.before['recall@1'] + 0.2,
      JSON.stringify(report.validation),
    );
    assert.ok(report.pairs.validation > 50 && report.pairs.train > 250);
    assert.ok(report.bestEpoch >= 1 && report.bestEpoch <= report.epochs);
    assert.deepEqual(Object.keys(adapter.matrices).sort(), ['image', 'text']);
  });

  test('early stopping: patience ends training once validation stops improving', () => {
    const { report } = trainOnEmbeddings('synthetic', syntheticPairs(60, 8), {
      epochs: 500,
      patience: 2,
      learningRate: 0.05,
      weightDecay: 0,
    });
    assert.ok(report.epochs < 500);
    assert.ok(report.epochs - report.bestEpoch <= 2);
  });

  test('the split is stable and about the asked share', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `k${i}`);
    const a = splitPairs(keys, 0.2);
    assert.deepEqual(a, splitPairs(keys, 0.2));
    assert.equal(a.validation.length, 200);
    assert.equal(a.train.length, 800);
    assert.equal(splitPairs(keys.slice(0, 5), 0.2).validation.length, 2);
  });
});

describe('adapter files and the adapted encoder (fixture model)', () => {
  const dir = tempDir();
  let base: Encoder;
  before(async () => {
    base = await loadEncoder(TINY_BUNDLE);
  });
  after(async () => {
    await base.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('trains from a pairs file, saves next to the model id, and loads as a model', async () => {
    const pairs = join(dir, 'pairs.jsonl');
    const lines: string[] = [];
    for (const [i, file] of [
      'photo.png',
      'photo.jpg',
      'photo.webp',
      'photo.gif',
      'photo.avif',
      'photo.svg',
    ].entries())
      lines.push(JSON.stringify({ text: `picture number ${i}`, image: join(IMAGES, file) }));
    for (const [i, file] of [
      'sine.ogg',
      'sine.flac',
      'sine.mp3',
      'sine-s16.wav',
      'sine-f32.wav',
      'sine-u8.wav',
    ].entries())
      lines.push(JSON.stringify({ text: `sound number ${i}`, audio: join(AUDIO, file) }));
    writeFileSync(pairs, lines.join('\n'));
    const { adapter, report } = await trainAdapter(base, await readPairs(pairs), {
      epochs: 3,
      validation: 0.3,
    });
    assert.equal(adapter.model, base.id);
    assert.deepEqual(Object.keys(adapter.matrices).sort(), ['audio', 'image', 'text']);
    assert.ok(report.pairs.train + report.pairs.validation === 12);

    const folder = join(dir, 'adapter');
    saveAdapter(folder, adapter);
    const reread = readAdapter(folder);
    assert.deepEqual(reread.matrices.text, adapter.matrices.text);
    assert.equal(reread.model, base.id);

    const adapted = await loadEncoder(folder);
    try {
      assert.ok(adapted instanceof AdaptedEncoder);
      assert.equal(adapted.id, folder);
      const [raw] = await base.embedImages([join(IMAGES, 'photo.png')]);
      const [got] = await adapted.embedImages([join(IMAGES, 'photo.png')]);
      const want = adaptRow(adapter.matrices.image!, raw, base.dim);
      assert.ok(got.every((x, i) => Math.abs(x - want[i]) < 1e-6));
    } finally {
      await adapted.dispose();
    }
  });

  test('an adapter refuses another model; bad pairs files are refused', async () => {
    const folder = join(dir, 'other');
    saveAdapter(folder, { model: '/somewhere/else', dim: base.dim, matrices: {}, logitScale: 10 });
    assert.throws(() => new AdaptedEncoder(folder, base, readAdapter(folder)), /adapts \/somewhere\/else/);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"text": "only one side"}\n');
    await assert.rejects(readPairs(bad), /needs exactly two of "text", "image", "audio"/);
  });
});

describe('adapter on a domain shift with xmodal-mini (meaning)', { skip: MINI_MISSING }, () => {
  const suite = encoderSuite(MINI);
  const dir = suite.dir;

  test('dark-mode OpenMoji (inverted colours, a style it never saw): Recall@10 rises on emoji kept out of training', async () => {
    const names = openMojiNames().filter((_, i) => i % 3 === 0);
    const toPairs = async (subset: string[]): Promise<Pair[]> =>
      Promise.all(
        subset.map(async (name) => ({
          a: { modality: 'text' as const, text: openMojiText(name) },
          b: { modality: 'image' as const, source: await renderOpenMoji(name, dir, 96, true) },
        })),
      );
    const train = await toPairs(names.filter((_, i) => i % 3 !== 0));
    const heldOut = await toPairs(names.filter((_, i) => i % 3 === 0));
    const { adapter, report } = await trainAdapter(suite.encoder, train, { validation: 0.2 });
    const folder = join(dir, 'openmoji-adapter');
    saveAdapter(folder, adapter);
    const adapted = await loadEncoder(folder);
    const before = await pairRetrieval(suite.encoder, heldOut);
    const after = await pairRetrieval(adapted, heldOut);
    await adapted.dispose();
    console.log(
      `# ${train.length} training pairs, ${heldOut.length} held-out emoji: text→image Recall@10 ${before['recall@10'].toFixed(3)} → ${after['recall@10'].toFixed(3)}, ` +
        `Recall@1 ${before['recall@1'].toFixed(3)} → ${after['recall@1'].toFixed(3)}; ${report.epochs} epochs (best ${report.bestEpoch}), ${report.seconds.toFixed(1)} s`,
    );
    assert.ok(
      after['recall@10'] >= before['recall@10'] + 0.1,
      `Recall@10 ${before['recall@10']} → ${after['recall@10']}`,
    );
  });
});
