import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import {
  calibratePolicy,
  chooseThreshold,
  type LabelledExample,
  precisionLowerBound,
  precisionRecall,
  readManifest,
  splitExamples,
} from '../../src/tasks/calibrate.js';
import { moderate, moderateInputs, type Policy, readPolicy } from '../../src/tasks/moderate.js';
import { DEFAULT_POLICY } from '../../src/tasks/policies/default.js';
import { softmaxScores } from '../../src/tasks/prompts.js';
import { encoderSuite } from '../helpers/encoder-suite.js';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { openMojiNames, renderOpenMoji } from '../helpers/openmoji.js';
import { AUDIO, IMAGES, TINY_BUNDLE } from '../helpers/paths.js';

const POLICY: Policy = {
  name: 'test',
  templates: { image: ['{}'], audio: ['{}'] },
  unsafe: [{ name: 'weapons', prompts: ['pistol', 'knife'], threshold: 0.5 }],
  safe: [{ name: 'animals', prompts: ['dog'] }],
};

describe('moderation mechanics (fixture model)', () => {
  const suite = encoderSuite(TINY_BUNDLE);
  const dir = suite.dir;

  test("a category's score is the softmax mass of its prompts; flagged at its threshold", async () => {
    const image = join(IMAGES, 'photo.png');
    const result = await moderate(suite.encoder, { modality: 'image', source: image }, POLICY);
    const [v] = await suite.encoder.embedImages([image]);
    const prompts = await suite.encoder.embedText(['pistol', 'knife', 'dog']);
    const p = softmaxScores(v, prompts, 100).map((s) => s.probability);
    const score = (c: string) => result.scores.find((s) => s.category === c)!.score;
    assert.ok(Math.abs(score('weapons') - (p[0] + p[1])) < 1e-5);
    assert.ok(Math.abs(score('animals') - p[2]) < 1e-5);
    assert.equal(result.safe, score('weapons') < 0.5);

    const always = { ...POLICY, unsafe: [{ ...POLICY.unsafe[0], threshold: 0 }] };
    const flagged = await moderate(suite.encoder, { modality: 'image', source: image }, always);
    assert.equal(flagged.safe, false);
    assert.deepEqual(flagged.flagged, [{ category: 'weapons', score: score('weapons'), threshold: 0 }]);
  });

  test('images and sounds in one call; the shipped policy is valid', async () => {
    const results = await moderateInputs(
      suite.encoder,
      [
        { modality: 'image', source: join(IMAGES, 'photo.jpg') },
        { modality: 'audio', source: join(AUDIO, 'sine.ogg') },
      ],
      DEFAULT_POLICY,
    );
    assert.equal(results.length, 2);
    for (const r of results) {
      assert.equal(r.scores.length, DEFAULT_POLICY.unsafe.length + DEFAULT_POLICY.safe.length);
      assert.ok(Math.abs(r.scores.reduce((n, s) => n + s.score, 0) - 1) < 1e-5);
    }
  });

  test('bad policies are refused with the reason', async () => {
    const cases: [unknown, RegExp][] = [
      [{ unsafe: [], safe: [] }, /no unsafe category/],
      [{ unsafe: [{ name: 'x', prompts: ['a'] }], safe: [] }, /needs a threshold/],
      [{ unsafe: [{ name: 'x', prompts: [], threshold: 0.5 }], safe: [] }, /needs a list of prompts/],
      [
        { unsafe: [{ name: 'x', prompts: ['a'], threshold: 0.5 }], safe: [{ name: 'x', prompts: ['b'] }] },
        /appears twice/,
      ],
    ];
    for (const [policy, message] of cases) {
      const file = join(dir, 'policy.json');
      writeFileSync(file, JSON.stringify(policy));
      await assert.rejects(
        readPolicy(file),
        (e: Error & { code: string }) => e.code === 'BAD_INPUT' && message.test(e.message),
      );
    }
  });
});

describe('calibration arithmetic', () => {
  const points = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3].map((score, i) => ({
    score,
    positive: [0, 1, 3, 5].includes(i),
  }));

  test('at confidence 0.5: the lowest threshold whose precision reaches the target, halfway to the next score', () => {
    // Cuts: precision 1, 1, 2/3, 3/4, 3/5, 4/6, 4/7; recall 1/4, 2/4, 2/4, 3/4, 3/4, 1, 1.
    const choose = (target: number) => chooseThreshold(points, target, 0.5);
    assert.deepEqual(choose(0.75), { threshold: 0.55, precisionBound: 0.75, reached: true });
    assert.deepEqual(choose(0.6), { threshold: 0.35, precisionBound: 4 / 6, reached: true });
    assert.deepEqual(choose(1), { threshold: 0.75, precisionBound: 1, reached: true });
    assert.deepEqual(precisionRecall(points, 0.55), {
      precision: 0.75,
      recall: 0.75,
      positives: 4,
      flagged: 4,
    });
  });

  test('the Wilson lower bound: 3 of 3 is trusted less than 30 of 30', () => {
    // All hits: the bound is n / (n + z²); z = 1.2816 at one-sided 90%.
    const z2 = 1.2816 ** 2;
    assert.ok(Math.abs(precisionLowerBound(3, 3, 0.9) - 3 / (3 + z2)) < 1e-3);
    assert.ok(Math.abs(precisionLowerBound(30, 30, 0.9) - 30 / (30 + z2)) < 1e-3);
    // The textbook value: 8 of 10 at 95% two-sided (z = 1.96) has a lower bound of 0.4902.
    assert.ok(Math.abs(precisionLowerBound(8, 10, 0.975) - 0.4902) < 1e-3);
    assert.equal(precisionLowerBound(0, 0, 0.9), 0);
    // One hit out of one is precision 1 but no evidence of 0.7; thirty out of thirty is.
    const negative = { score: 0.1, positive: false };
    const one = [{ score: 0.9, positive: true }, negative];
    const thirty = [
      ...Array.from({ length: 30 }, (_, i) => ({ score: 0.9 - i / 100, positive: true })),
      negative,
    ];
    assert.equal(chooseThreshold(one, 0.7, 0.5)?.reached, true);
    assert.equal(chooseThreshold(one, 0.7, 0.9)?.reached, false);
    assert.equal(chooseThreshold(thirty, 0.7, 0.9)?.reached, true);
  });

  test('unreachable target: the cut with the highest bound, said so; no positives: nothing to choose', () => {
    const hard = [
      { score: 0.9, positive: false },
      { score: 0.8, positive: true },
    ];
    assert.deepEqual(chooseThreshold(hard, 0.9, 0.5), {
      threshold: 0.8,
      precisionBound: 0.5,
      reached: false,
    });
    assert.equal(chooseThreshold([{ score: 0.5, positive: false }], 0.9), undefined);
    assert.deepEqual(precisionRecall(hard, 0.95), { precision: null, recall: 0, positives: 1, flagged: 0 });
  });

  test('tied scores are cut together', () => {
    const tied = [
      { score: 0.8, positive: true },
      { score: 0.8, positive: false },
      { score: 0.2, positive: false },
    ];
    assert.deepEqual(chooseThreshold(tied, 0.5, 0.5), { threshold: 0.5, precisionBound: 0.5, reached: true });
  });

  test('the split is stable, stratified by labels, and holds out the asked share', () => {
    const examples: LabelledExample[] = Array.from({ length: 40 }, (_, i) => ({
      ref: `f${i}.png`,
      input: { modality: 'text', text: `t${i}` },
      labels: i < 10 ? ['weapons'] : [],
    }));
    const a = splitExamples(examples, 0.3);
    const b = splitExamples([...examples].reverse(), 0.3);
    assert.deepEqual(a.heldOut.map((e) => e.ref).sort(), b.heldOut.map((e) => e.ref).sort());
    assert.equal(a.heldOut.length, 12);
    assert.equal(a.heldOut.filter((e) => e.labels.length).length, 3);
  });
});

describe('calibrate end to end (fixture model)', () => {
  const suite = encoderSuite(TINY_BUNDLE);
  const dir = suite.dir;

  test('reads a manifest, reports both splits and returns the policy with new thresholds', async () => {
    const lines = [
      ...['photo.png', 'photo.jpg', 'photo.webp', 'photo.gif'].map((f) =>
        JSON.stringify({ file: join(IMAGES, f), labels: ['weapons'] }),
      ),
      ...['photo.avif', 'exif-orientation-6.jpg', 'photo.svg'].map((f) =>
        JSON.stringify({ file: join(IMAGES, f) }),
      ),
      JSON.stringify({ file: join(AUDIO, 'sine.flac'), labels: [] }),
      JSON.stringify({ text: 'a friendly dog', labels: [] }),
    ];
    const manifest = join(dir, 'labelled.jsonl');
    writeFileSync(manifest, `${lines.join('\n')}\n`);
    const examples = await readManifest(manifest);
    assert.equal(examples.length, 9);
    const report = await calibratePolicy(suite.encoder, POLICY, examples, {
      targetPrecision: 0.8,
      holdout: 0.3,
    });
    assert.equal(report.examples.calibration + report.examples.heldOut, 9);
    const [weapons] = report.categories;
    assert.equal(weapons.category, 'weapons');
    assert.equal(report.policy.unsafe[0].threshold, weapons.threshold);
    assert.equal(weapons.calibration.positives + weapons.heldOut.positives, 4);
    if (weapons.reached) assert.ok(weapons.calibration.precision! >= 0.8);
  });

  test('a label that is not an unsafe category of the policy is refused', async () => {
    const manifest = join(dir, 'bad.jsonl');
    writeFileSync(manifest, `${JSON.stringify({ text: 'x', labels: ['gambling'] })}\n`);
    await assert.rejects(
      calibratePolicy(suite.encoder, POLICY, await readManifest(manifest), { targetPrecision: 0.9 }),
      /label "gambling" is not an unsafe category/,
    );
  });
});

const ANIMAL_WORDS = new Set(
  `ant badger bat bear beaver bee beetle bird bison boar bug butterfly camel cat chicken chipmunk cow crab
  cricket crocodile deer dodo dog dolphin donkey duck eagle elephant fish flamingo fly fox frog giraffe goat
  goose gorilla hamster hedgehog hippopotamus horse jellyfish kangaroo koala ladybug leopard lion lizard llama
  lobster mammoth monkey moose mosquito mouse octopus orangutan otter owl ox panda parrot peacock penguin pig
  poodle rabbit raccoon ram rhinoceros rooster scorpion seal shark sheep shrimp skunk sloth snail snake spider
  squid squirrel swan tiger turkey turtle whale wolf worm zebra`.split(/\s+/),
);

/** OpenMoji names that show an animal (a word list, minus foods, games and gadgets named after one). */
function isAnimal(name: string): boolean {
  if (
    /^(hot|person|man|woman|people|men|women|flag|computer|carousel)-|(hat|tie|ball|cake|boat|bottle|fishing|game)/.test(
      name,
    )
  )
    return false;
  return name.split('-').some((w) => ANIMAL_WORDS.has(w));
}

describe('moderation with xmodal-mini (meaning)', { skip: MINI_MISSING }, () => {
  const suite = encoderSuite(MINI);
  const dir = suite.dir;

  test('the shipped policy flags a wine glass and a dagger, and lets a dog and an apple through', async () => {
    const names = ['wine-glass', 'dagger', 'dog', 'red-apple'];
    const files = await Promise.all(names.map((n) => renderOpenMoji(n, dir)));
    const results = await moderateInputs(
      suite.encoder,
      files.map((source) => ({ modality: 'image' as const, source })),
      DEFAULT_POLICY,
    );
    const summary = results.map(
      (r, i) =>
        `${names[i]}: ${r.safe ? 'safe' : r.flagged.map((f) => `${f.category} ${f.score.toFixed(2)}`)} (top ${r.scores[0].category} ${r.scores[0].score.toFixed(2)})`,
    );
    console.log(`# ${summary.join('; ')}`);
    assert.deepEqual(
      results[0].flagged.map((f) => f.category),
      ['alcohol'],
    );
    assert.deepEqual(
      results[1].flagged.map((f) => f.category),
      ['weapons'],
    );
    assert.ok(results[2].safe && results[3].safe);
  });

  test('calibrate hits its target precision on the held-out split (a "no animals" policy)', async () => {
    const names = openMojiNames();
    const animals = names.filter(isAnimal);
    const others = names.filter((n, i) => !isAnimal(n) && i % 17 === 0);
    const rows: string[] = [];
    for (const name of [...animals, ...others])
      rows.push(
        // Paths relative to the manifest: the split hashes them, so it is the same in every temp folder.
        JSON.stringify({
          file: basename(await renderOpenMoji(name, dir)),
          labels: isAnimal(name) ? ['animals'] : [],
        }),
      );
    const manifest = join(dir, 'labelled.jsonl');
    writeFileSync(manifest, rows.join('\n'));
    const policy: Policy = {
      name: 'no pets in listings',
      unsafe: [
        {
          name: 'animals',
          prompts: ['animal', 'dog', 'cat', 'bird', 'fish', 'insect', 'horse'],
          threshold: 0.5,
        },
      ],
      safe: [
        { name: 'food', prompts: ['food', 'fruit'] },
        { name: 'objects', prompts: ['tool', 'object', 'vehicle'] },
        { name: 'people', prompts: ['person', 'face', 'hand'] },
        { name: 'symbols', prompts: ['symbol', 'sign', 'flag'] },
        { name: 'nature', prompts: ['plant', 'flower', 'weather'] },
      ],
    };
    for (const target of [0.8, 0.9]) {
      const report = await calibratePolicy(suite.encoder, policy, await readManifest(manifest), {
        targetPrecision: target,
      });
      const [c] = report.categories;
      console.log(
        `# target ${target}: threshold ${c.threshold.toFixed(3)}; calibration P ${c.calibration.precision?.toFixed(3)} R ${c.calibration.recall?.toFixed(3)} ` +
          `(${c.calibration.positives} animals of ${report.examples.calibration}); held-out P ${c.heldOut.precision?.toFixed(3)} R ${c.heldOut.recall?.toFixed(3)} (${c.heldOut.positives} of ${report.examples.heldOut})`,
      );
      assert.ok(c.reached);
      // The threshold is chosen on the lower 95% bound of the calibration precision, so the held-out
      // precision reaches the target itself (with the plain estimate it fell short: 0.761 for 0.8).
      assert.ok(
        c.heldOut.precision !== null && c.heldOut.precision >= target,
        `held-out precision ${c.heldOut.precision}`,
      );
      // That caution costs recall, most at 0.9 (under half of the animals is still flagged).
      assert.ok(c.heldOut.recall !== null && c.heldOut.recall >= 0.3, `held-out recall ${c.heldOut.recall}`);
    }
  });
});
