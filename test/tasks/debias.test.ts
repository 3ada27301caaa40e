import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Modality } from '../../src/encoders/encoder.js';
import { l2normalize } from '../../src/encoders/vectors.js';
import { type EmbeddedPairs, trainOnEmbeddings } from '../../src/tasks/adapt.js';
import { Params } from '../../src/tasks/adapt-params.js';
import { DEFAULT_DEBIAS_WEIGHT, type DebiasProbes, groupGap } from '../../src/tasks/debias.js';
import { adapterParams } from '../../src/tasks/debias-probes.js';
import { mulberry32 } from '../../src/tasks/random.js';
import { runCli } from '../helpers/cli.js';
import { expectCliError } from '../helpers/expect-cli-error.js';
import { renderOpenMoji } from '../helpers/openmoji.js';
import { TINY_CLIP, tempDir } from '../helpers/paths.js';

const DIM = 32;
const random = mulberry32(5);
const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const noise = (scale: number) => Float32Array.from({ length: DIM }, () => scale * gaussian());
const add = (...vs: Float32Array[]) => l2normalize(vs.reduce((s, v) => s.map((x, i) => x + v[i])));

// 80 concepts; group b's pictures carry a planted direction that pulls them away from their concept's text.
const concepts = Array.from({ length: 80 }, () => l2normalize(noise(1)));
const texts = concepts.map((c) => add(c, noise(0.05)));
const planted = l2normalize(noise(1));
const picture = (c: number, group: number) =>
  add(concepts[c], noise(0.03), group === 1 ? planted.map((x) => 0.9 * x) : new Float32Array(DIM));

// Probes: concepts 0-29, 4 pictures per group; the penalty sees 0-19, concepts 20-29 are held out.
const probes: DebiasProbes = {
  vectors: [],
  modality: [],
  concept: [],
  group: [],
  conceptTexts: texts.slice(0, 30),
};
for (let c = 0; c < 30; c++)
  for (const group of [0, 1])
    for (let n = 0; n < 4; n++) {
      probes.vectors.push(picture(c, group));
      probes.modality.push('image');
      probes.concept.push(c);
      probes.group.push(group);
    }
const rowsOf = (from: number, to: number) =>
  probes.concept.flatMap((c, i) => (c >= from && c < to ? [i] : []));
const penaltyRows = rowsOf(0, 20);
const heldOut = rowsOf(20, 30);

// Training pairs: other concepts' texts and group-free pictures, so contrastive training alone has no reason
// to touch the planted direction.
const pairs: EmbeddedPairs = { a: [], b: [], modalityA: [], modalityB: [], keyA: [], keyB: [] };
for (let c = 30; c < 80; c++)
  for (let n = 0; n < 4; n++) {
    pairs.a.push(texts[c]);
    pairs.b.push(picture(c, 0));
    pairs.modalityA.push('text');
    pairs.modalityB.push('image');
    pairs.keyA.push(`concept ${c}`);
    pairs.keyB.push(`picture ${c}/${n}`);
  }

describe('adapt --debias on a planted group direction', () => {
  const base = new Params(DIM, [], 0);
  const options = { seed: 1, epochs: 40, modalities: ['text', 'image'] as Modality[] };
  const plain = trainOnEmbeddings('synthetic', pairs, options);
  const debiased = trainOnEmbeddings('synthetic', pairs, {
    ...options,
    debias: { probes, rows: penaltyRows, weight: DEFAULT_DEBIAS_WEIGHT },
  });

  test('the penalty halves the held-out gap at least; contrastive training alone does not', () => {
    const before = groupGap(base, probes, heldOut).similarity;
    const withoutPenalty = groupGap(adapterParams(plain.adapter), probes, heldOut).similarity;
    const after = groupGap(adapterParams(debiased.adapter), probes, heldOut).similarity;
    assert.ok(before > 0.2, `planted gap ${before}`);
    assert.ok(after <= before / 2, `held-out gap ${before} → ${after}`);
    assert.ok(withoutPenalty > 0.75 * before, `without the penalty ${before} → ${withoutPenalty}`);
    assert.ok(debiased.report.debiasPenalty!.after < debiased.report.debiasPenalty!.before / 4);
  });
});

describe('xmodal adapt --debias', () => {
  const dir = tempDir('xmodal-debias-');
  after(() => rmSync(dir, { recursive: true, force: true }));
  const pairs = join(dir, 'pairs.jsonl');

  test('trains with the penalty on the built-in probes and reports the held-out gap before and after', async () => {
    const names = [
      'red-apple',
      'dog',
      'cat',
      'house',
      'rocket',
      'guitar',
      'pizza',
      'bicycle',
      'automobile',
      'sun',
    ];
    const lines = await Promise.all(
      names.map(async (name) =>
        JSON.stringify({ text: name.replace('-', ' '), image: await renderOpenMoji(name, dir, 64) }),
      ),
    );
    writeFileSync(pairs, `${lines.join('\n')}\n`);
    const result = await runCli([
      'adapt',
      '--pairs',
      pairs,
      '--out',
      join(dir, 'adapter'),
      '--epochs',
      '2',
      '--debias',
      'gender',
      '--model',
      TINY_CLIP,
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.debias.attribute, 'gender');
    assert.equal(report.debias.heldOutConcepts.length, 7);
    assert.deepEqual(Object.keys(report.debias.per_group.after), ['woman', 'man', 'person']);
    assert.ok(report.debias.gap.before > 0 && report.debias.gap.after >= 0);
    assert.ok(report.debiasPenalty.after <= report.debiasPenalty.before);
    await expectCliError(
      ['adapt', '--pairs', pairs, '--out', join(dir, 'other'), '--debias', 'height', '--model', TINY_CLIP],
      2,
      /--debias takes skin_tone or gender, not "height"/,
    );
  });
});
