import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { l2normalize } from '../../src/encoders/vectors.js';
import type { Item } from '../../src/store/store.js';
import { fairRerank } from '../../src/tasks/fair-rerank.js';
import { fairSearch } from '../../src/tasks/fair-search.js';
import { mulberry32 } from '../../src/tasks/random.js';
import { type OpenCollection, openCollection } from '../../src/tasks/workspace.js';
import { runCli } from '../helpers/cli.js';
import { TINY_CLIP, tempDir } from '../helpers/paths.js';

const DIM = 32;

/** A unit vector with cosine `score` to the first axis, the rest on its own axis (distinct items). */
function at(score: number, axis: number): Float32Array {
  const v = new Float32Array(DIM);
  v[0] = score;
  v[axis] = Math.sqrt(1 - score * score);
  return l2normalize(v);
}

function item(id: string, score: number, axis: number, meta: Record<string, string>): Item {
  return { id, vector: at(score, axis), modality: 'image', meta };
}

describe('fair search on a constructed collection', () => {
  const home = tempDir('xmodal-fair-');
  let collection: OpenCollection;
  before(async () => {
    collection = await openCollection({ home }, 'people', { model: TINY_CLIP, create: true });
    const query = { id: 'query', vector: at(1, 1), modality: 'image' as const };
    // Equal relevance: group a scores 0.9, group b 0.899 (b's ten would all rank below a's ten).
    const items = [
      ...Array.from({ length: 10 }, (_, i) => item(`a${i}`, 0.9, 2 + i, { 'group.side': 'a' })),
      ...Array.from({ length: 10 }, (_, i) => item(`b${i}`, 0.899, 12 + i, { 'group.side': 'b' })),
    ];
    await collection.store.upsert([query, ...items]);
  });
  after(async () => {
    await collection.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('a 10/0 split at equal relevance becomes 5/5, alternating, at the reported relevance cost', async () => {
    const { hits, fair } = await fairSearch(
      collection,
      { parts: [{ kind: 'like', value: 'query' }], k: 10 },
      { attribute: 'side' },
    );
    assert.deepEqual(fair.before, { a: 10, b: 0 });
    assert.deepEqual(fair.after, { a: 5, b: 5 });
    assert.deepEqual(fair.share, { a: 0.5, b: 0.5 });
    assert.equal(fair.candidates, 20);
    assert.equal(fair.predicted, 0);
    assert.deepEqual(
      hits.map((h) => h.meta?.['group.side']),
      ['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b'],
    );
    assert.ok(Math.abs(fair.relevance.before - 10 * 0.9) < 1e-5);
    assert.ok(Math.abs(fair.relevance.after - (5 * 0.9 + 5 * 0.899)) < 1e-5);
  });

  test('a margin smaller than the score difference keeps the ranking as it was', async () => {
    const { fair } = await fairSearch(
      collection,
      { parts: [{ kind: 'like', value: 'query' }], k: 10 },
      { attribute: 'side', margin: 0.0005 },
    );
    assert.deepEqual(fair.after, { a: 10, b: 0 });
    assert.equal(fair.relevance.after, fair.relevance.before);
  });

  test('xmodal search --fair prints the re-ranked results and the report', async () => {
    const args = ['search', '--like', 'query', '--home', home, '-c', 'people', '--fair', 'side'];
    const result = await runCli([...args, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.equal(out.results.length, 10);
    assert.deepEqual(out.fair.after, { a: 5, b: 5 });
    const text = await runCli(args);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /fair over side: a 10 → 5, b 0 → 5; relevance 9\.0000 → 8\.9950/);
  });

  test('an attribute no item carries and no prompt predicts is refused', async () => {
    await assert.rejects(
      fairSearch(collection, { parts: [{ kind: 'like', value: 'query' }] }, { attribute: 'height' }),
      /no result carries group\.height/,
    );
  });
});

describe('fairRerank never drops an item scoring more than the margin above the lowest kept one', () => {
  test('random candidate lists of three groups', () => {
    const random = mulberry32(3);
    for (let trial = 0; trial < 500; trial++) {
      const n = 5 + Math.floor(random() * 60);
      const candidates = Array.from({ length: n }, () => ({
        score: random(),
        group: ['x', 'y', 'z'][Math.floor(random() ** 2 * 3)],
      })).sort((a, b) => b.score - a.score);
      const k = 1 + Math.floor(random() * Math.min(n, 20));
      const margin = random() * 0.2;
      const { order, share } = fairRerank(candidates, k, margin);
      assert.equal(new Set(order).size, k);
      const lowest = Math.min(...order.map((i) => candidates[i].score));
      const kept = new Set(order);
      for (const [i, c] of candidates.entries())
        if (!kept.has(i)) assert.ok(c.score <= lowest + margin + 1e-12, `trial ${trial}: dropped ${c.score}`);
      // With an unbounded margin every prefix holds each group within one item of its share.
      const free = fairRerank(candidates, k, Number.POSITIVE_INFINITY).order;
      for (let p = 1; p <= k; p++)
        for (const g of Object.keys(share)) {
          const have = free.slice(0, p).filter((i) => candidates[i].group === g).length;
          assert.ok(Math.abs(have - share[g] * p) < 1, `trial ${trial}: group ${g} at ${p}: ${have}`);
        }
    }
  });
});
