import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { associationEffect } from '../../src/tasks/fairness-association.js';
import { exposureOver, groupShares, rankingExposure } from '../../src/tasks/fairness-exposure.js';
import { zeroShotParity } from '../../src/tasks/fairness-parity.js';
import { mulberry32 } from '../../src/tasks/random.js';
import { runCli } from '../helpers/cli.js';
import { expectCliError } from '../helpers/expect-cli-error.js';
import { MINI_MISSING } from '../helpers/mini.js';
import { renderOpenMoji } from '../helpers/openmoji.js';
import { TINY_CLIP, tempDir } from '../helpers/paths.js';

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);

describe('audit measures on constructed sets (hand-computed)', () => {
  test('skew@k and NDKL of a known ranking', () => {
    const pool = groupShares([...Array(10).fill('a'), ...Array(10).fill('b')]);
    const { skew, ndkl } = rankingExposure(['a', 'a', 'a', 'b', 'b', 'b'], pool, 4);
    close(skew.a, Math.log(0.75 / 0.5), 'skew a');
    close(skew.b, Math.log(0.25 / 0.5), 'skew b');
    // Top-1..3 are all a: KL = ln 2; top-4 is 3:1.
    const kl = [Math.log(2), Math.log(2), Math.log(2), 0.75 * Math.log(1.5) + 0.25 * Math.log(0.5)];
    const w = [1, 2, 3, 4].map((i) => 1 / Math.log2(i + 1));
    close(ndkl, kl.reduce((s, x, i) => s + w[i] * x, 0) / w.reduce((s, x) => s + x, 0), 'ndkl');

    // A group absent from the top k counts as half an item there.
    close(rankingExposure(['a', 'a'], pool, 2).skew.b, Math.log(0.5 / 2 / 0.5), 'absent group');
    // A proportional ranking has no skew and no divergence.
    const fair = rankingExposure(['a', 'b', 'a', 'b'], pool, 4);
    close(fair.skew.a, 0, 'fair skew');
    close(fair.skew.b, 0, 'fair skew');
    assert.ok(fair.ndkl > 0 && fair.ndkl < ndkl, 'only the top-1 and top-3 prefixes diverge');

    // Averaged over two queries: a over-exposed in one, proportional in the other.
    const both = exposureOver(
      [
        ['a', 'a', 'a', 'b'],
        ['b', 'a', 'a', 'b'],
      ],
      [...Array(10).fill('a'), ...Array(10).fill('b')],
      4,
    );
    close(both.per_group.a, Math.log(1.5) / 2, 'mean skew a');
    close(both.per_group.b, Math.log(0.5) / 2, 'mean skew b');
    close(both.max_skew, Math.abs(Math.log(0.5)) / 2, 'max |skew|');
  });

  test('zero-shot parity: accuracy per group and the largest gap', () => {
    const parity = zeroShotParity(
      [true, true, true, false, true, false, false, false, true, true],
      ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'c', 'c'],
    );
    assert.deepEqual(parity.per_group, { a: 0.75, b: 0.25, c: 1 });
    close(parity.max_gap, 0.75, 'gap');
  });

  // 10 concepts, each with 3 pictures per group; group b sits 0.1 closer to the word in every concept.
  const concepts = Array.from({ length: 10 }, (_, c) => Array(6).fill(`concept-${c}`)).flat();
  const groups = Array.from({ length: 10 }, () => ['a', 'a', 'a', 'b', 'b', 'b']).flat();
  const planted = Array.from({ length: 10 }, (_, c) => {
    const base = 0.2 + 0.03 * c;
    return [base - 0.01, base, base + 0.01, base + 0.09, base + 0.1, base + 0.11];
  }).flat();

  test('association: a planted direction gives the hand-computed effect size and p < 0.01', () => {
    const result = associationEffect('leader', planted, groups, concepts, {
      permutations: 1000,
      random: mulberry32(7),
    });
    // Centred within each concept: a at −0.05 ± {0.01, 0}, b at +0.05 ± {0.01, 0}; sample sd over all 60.
    const centred = [-0.06, -0.05, -0.04, 0.04, 0.05, 0.06];
    const variance = (10 * centred.reduce((s, x) => s + x * x, 0)) / (60 - 1);
    close(result.effect_size, 0.1 / Math.sqrt(variance), 'effect size');
    assert.equal(result.high, 'b');
    assert.equal(result.low, 'a');
    assert.ok(result.p < 0.01, `p ${result.p}`);
    close(result.p, 1 / 1001, 'no permutation reaches the planted split');
  });

  test('association: the same values with group labels shuffled show none', () => {
    const random = mulberry32(11);
    const shuffled = groups.slice();
    for (let start = 0; start < shuffled.length; start += 6) {
      for (let i = 5; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [shuffled[start + i], shuffled[start + j]] = [shuffled[start + j], shuffled[start + i]];
      }
    }
    const result = associationEffect('leader', planted, shuffled, concepts, {
      permutations: 1000,
      random: mulberry32(7),
    });
    assert.ok(result.p > 0.05, `p ${result.p}`);
    assert.ok(result.effect_size < 0.5, `d ${result.effect_size}`);
  });
});

describe('xmodal audit', () => {
  const dir = tempDir('xmodal-audit-');
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--probe: an own labelled set gives every measure for every attribute in the JSON shape', async () => {
    const lines: string[] = [];
    for (const [concept, names] of [
      ['cook', ['woman-cook', 'man-cook']],
      ['pilot', ['woman-pilot', 'man-pilot']],
    ] as const) {
      for (const name of names) {
        for (const tone of ['light', 'dark']) {
          const file = await renderOpenMoji(`${name}-${tone}-skin-tone`, dir, 64);
          const gender = name.split('-')[0];
          lines.push(JSON.stringify({ file: file.slice(dir.length + 1), group: { gender, tone }, concept }));
        }
      }
    }
    lines.push(JSON.stringify({ text: 'a woman who cooks', group: { gender: 'woman' }, concept: 'cook' }));
    writeFileSync(join(dir, 'probe.jsonl'), `${lines.join('\n')}\n`);
    const plot = join(dir, 'audit.png');
    const result = await runCli([
      'audit',
      '--probe',
      join(dir, 'probe.jsonl'),
      '--model',
      TINY_CLIP,
      '-k',
      '4',
      '--permutations',
      '50',
      '--json',
      '--plot',
      plot,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const audit = JSON.parse(result.stdout);
    assert.equal(audit.probes, 9);
    assert.deepEqual(
      audit.attributes.map((a: { name: string; groups: string[] }) => [a.name, a.groups]),
      [
        ['gender', ['man', 'woman']],
        ['tone', ['dark', 'light']],
      ],
    );
    for (const attribute of audit.attributes) {
      assert.deepEqual(Object.keys(attribute.exposure.per_group).sort(), attribute.groups.slice().sort());
      assert.ok(attribute.exposure.max_skew >= 0 && attribute.exposure.ndkl >= 0);
      assert.deepEqual(Object.keys(attribute.zero_shot.per_group).sort(), attribute.groups.slice().sort());
      assert.ok(attribute.zero_shot.max_gap >= 0 && attribute.zero_shot.max_gap <= 1);
      assert.equal(attribute.association.length, 12);
      for (const w of attribute.association) assert.ok(w.p > 0 && w.p <= 1 && w.effect_size >= 0);
    }
    assert.ok(existsSync(plot));
  });

  test('errors: a probe line without a concept, a missing file, an unknown collection', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"text": "a cook", "group": {"gender": "man"}}\n');
    await expectCliError(['audit', '--probe', bad, '--model', TINY_CLIP], 3, /bad\.jsonl:1: "concept"/);
    await expectCliError(
      ['audit', '--probe', join(dir, 'none.jsonl'), '--model', TINY_CLIP],
      4,
      /probe file/,
    );
    await expectCliError(['audit', '--home', dir, '--collection', 'nothing'], 4, /no collection "nothing"/);
  });

  test('xmodal-mini on the built-in OpenMoji people: all three measures for skin tone and gender', {
    skip: MINI_MISSING,
  }, async () => {
    const result = await runCli(['audit', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const audit = JSON.parse(result.stdout);
    assert.equal(audit.model, 'xmodal-mini');
    assert.equal(audit.probes, 28 * 3 * 5);
    const byName = Object.fromEntries(audit.attributes.map((a: { name: string }) => [a.name, a]));
    assert.deepEqual(byName.skin_tone.groups, ['light', 'medium-light', 'medium', 'medium-dark', 'dark']);
    assert.deepEqual(byName.gender.groups, ['woman', 'man', 'person']);
    for (const a of Object.values(byName) as {
      exposure: { per_group: object };
      zero_shot: { per_group: Record<string, number> };
      association: unknown[];
    }[]) {
      assert.equal(Object.keys(a.exposure.per_group).length, Object.keys(a.zero_shot.per_group).length);
      // The model knows these people emoji well above chance (1 in 28) whatever the group.
      for (const accuracy of Object.values(a.zero_shot.per_group)) assert.ok(accuracy > 0.3);
      assert.equal(a.association.length, 12);
    }
  });
});
