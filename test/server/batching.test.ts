import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Encoder } from '../../src/encoders/encoder.js';
import { loadEncoder } from '../../src/encoders/load.js';
import { BatchingEncoder } from '../../src/server/batching.js';
import { IMAGES, TINY_CLIP } from '../helpers/paths.js';

function maxDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('BatchingEncoder', () => {
  let plain: Encoder;
  before(async () => {
    plain = await loadEncoder(TINY_CLIP);
  });
  after(() => plain.dispose());

  test('concurrent calls run as few model calls and get exactly their unbatched rows back', async () => {
    const batches: number[] = [];
    const batching = new BatchingEncoder(plain, {
      maxBatch: 8,
      maxWaitMs: 20,
      onBatch: (e) => batches.push(e.rows),
    });
    const calls = Array.from({ length: 12 }, (_, i) =>
      i % 3 === 0 ? [`a photo of thing ${i}`, 'a dog'] : [`${'word '.repeat(i * 3)}end`],
    );
    const together = await Promise.all(calls.map((texts) => batching.embedText(texts)));
    const rows = calls.reduce((n, c) => n + c.length, 0);
    assert.equal(
      batches.reduce((a, b) => a + b, 0),
      rows,
    );
    assert.ok(batches.length < calls.length, `${batches.length} model calls for ${calls.length} requests`);
    assert.ok(Math.max(...batches) <= 8);
    for (const [i, texts] of calls.entries()) {
      const alone = await plain.embedText(texts);
      assert.equal(together[i].length, texts.length);
      for (const [j, vector] of alone.entries())
        assert.ok(maxDiff(vector, together[i][j]) < 1e-5, `call ${i} row ${j}`);
    }
  });

  test('images batch too, and one undecodable image fails only its own call', async () => {
    const batching = new BatchingEncoder(plain, { maxBatch: 16, maxWaitMs: 20 });
    const photo = readFileSync(join(IMAGES, 'photo.png'));
    const jpeg = readFileSync(join(IMAGES, 'photo.jpg'));
    const corrupt = readFileSync(join(IMAGES, 'corrupt.jpg'));
    const results = await Promise.allSettled([
      batching.embedImages([photo]),
      batching.embedImages([corrupt]),
      batching.embedImages([jpeg, photo]),
    ]);
    assert.equal(results[0].status, 'fulfilled');
    assert.equal(results[1].status, 'rejected');
    assert.equal(results[2].status, 'fulfilled');
    const [alonePhoto, aloneJpeg] = await plain.embedImages([photo, jpeg]);
    const first = (results[0] as PromiseFulfilledResult<Float32Array[]>).value;
    const third = (results[2] as PromiseFulfilledResult<Float32Array[]>).value;
    assert.ok(maxDiff(first[0], alonePhoto) < 1e-5);
    assert.ok(maxDiff(third[0], aloneJpeg) < 1e-5);
    assert.ok(maxDiff(third[1], alonePhoto) < 1e-5);
  });

  test("an adapted model's own logit scale shows through the wrapper (classification uses it)", async () => {
    const scaled = await loadEncoder(TINY_CLIP, { logitScale: 42 });
    try {
      assert.equal(new BatchingEncoder(scaled).spec.logitScale, 42);
      assert.deepEqual(new BatchingEncoder(plain).spec, plain.spec);
      assert.equal(plain.spec.logitScale, 100);
    } finally {
      await scaled.dispose();
    }
  });

  test('a lone call waits for company exactly maxWaitMs, then runs (a mocked clock, not a measured one)', async (t) => {
    const calls: number[] = [];
    const watched = Object.create(plain) as Encoder;
    watched.embed = (modality, inputs) => {
      calls.push(inputs.length);
      return plain.embed(modality, inputs);
    };
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const batching = new BatchingEncoder(watched, { maxBatch: 64, maxWaitMs: 50 });
    const pending = batching.embedText(['hello']);
    await Promise.resolve();
    t.mock.timers.tick(49);
    assert.deepEqual(calls, [], 'held open for company until the wait is over');
    t.mock.timers.tick(1);
    assert.deepEqual(calls, [1], 'runs as soon as the wait is over');
    t.mock.timers.reset();
    assert.equal((await pending).length, 1);
    // A full batch does not wait at all.
    const full = new BatchingEncoder(watched, { maxBatch: 2, maxWaitMs: 60_000 });
    assert.equal((await full.embedText(['a', 'b'])).length, 2);
    assert.deepEqual(calls, [1, 2]);
  });
});
