import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { expectCliError as expectError } from '../helpers/expect-cli-error.js';
import { AUDIO, IMAGES, TINY_BUNDLE, TINY_CLIP, tempDir } from '../helpers/paths.js';

const work = tempDir('xmodal-tasks-cli-');
after(() => rmSync(work, { recursive: true, force: true }));

describe('xmodal classify', () => {
  test('--json prints labels best first with probabilities', async () => {
    const result = await runCli([
      'classify',
      join(IMAGES, 'photo.jpg'),
      '--labels',
      'dog,cat,car',
      '--model',
      TINY_BUNDLE,
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const { labels } = JSON.parse(result.stdout);
    assert.equal(labels.length, 3);
    assert.deepEqual(Object.keys(labels[0]).sort(), ['label', 'score']);
    assert.ok(labels[0].score >= labels[1].score && labels[1].score >= labels[2].score);
    assert.ok(Math.abs(labels.reduce((n: number, l: { score: number }) => n + l.score, 0) - 1) < 1e-6);
  });

  test('text output: one line per label with a percentage; labels file and -k', async () => {
    const file = join(work, 'labels.txt');
    writeFileSync(file, 'piano\ndrum\nbird\n');
    const result = await runCli([
      'classify',
      join(AUDIO, 'sine.ogg'),
      '--labels-file',
      file,
      '-k',
      '2',
      '--model',
      TINY_BUNDLE,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^(piano|drum|bird)\s+\d+\.\d%$/);
  });

  test('errors: no labels, a modality the model lacks, a missing labels file', async () => {
    await expectError(['classify', join(IMAGES, 'photo.png'), '--model', TINY_BUNDLE], 2, /give --labels/);
    await expectError(
      ['classify', join(AUDIO, 'sine.ogg'), '--labels', 'a,b', '--model', TINY_CLIP],
      5,
      /does not embed audio/,
    );
    await expectError(
      [
        'classify',
        join(IMAGES, 'photo.png'),
        '--labels-file',
        join(work, 'nope.txt'),
        '--model',
        TINY_BUNDLE,
      ],
      4,
      /cannot read labels file/,
    );
  });
});

describe('xmodal moderate', () => {
  const policy = join(work, 'policy.json');
  writeFileSync(
    policy,
    JSON.stringify({
      name: 'test',
      unsafe: [{ name: 'weapons', prompts: ['pistol', 'knife'], threshold: 0 }],
      safe: [{ name: 'animals', prompts: ['dog'] }],
    }),
  );

  test('--json says safe or not, the flagged categories and every score', async () => {
    const result = await runCli([
      'moderate',
      join(IMAGES, 'photo.png'),
      '--policy',
      policy,
      '--model',
      TINY_BUNDLE,
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.equal(out.safe, false);
    assert.equal(out.flagged[0].category, 'weapons');
    assert.deepEqual(out.scores.map((s: { category: string }) => s.category).sort(), ['animals', 'weapons']);
  });

  test('the shipped policy is used without --policy; text output starts with the verdict', async () => {
    const result = await runCli(['moderate', join(AUDIO, 'sine.ogg'), '--model', TINY_BUNDLE]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^(safe|unsafe: [a-z, ]+)\n/);
  });

  test('calibrate writes the calibrated policy and reports both splits', async () => {
    const manifest = join(work, 'labelled.jsonl');
    const rows = [
      ...['photo.png', 'photo.jpg', 'photo.webp'].map((f) => ({
        file: join(IMAGES, f),
        labels: ['weapons'],
      })),
      ...['photo.gif', 'photo.avif', 'photo.svg'].map((f) => ({ file: join(IMAGES, f), labels: [] })),
    ];
    writeFileSync(manifest, rows.map((r) => JSON.stringify(r)).join('\n'));
    const out = join(work, 'calibrated.json');
    const result = await runCli([
      'moderate',
      'calibrate',
      '--policy',
      policy,
      '--manifest',
      manifest,
      '--target-precision',
      '0.5',
      '--confidence',
      '0.6',
      '--out',
      out,
      '--model',
      TINY_BUNDLE,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^4 calibration \/ 2 held-out examples, target precision 0\.5 at 0\.6 confidence\n/,
    );
    assert.match(result.stdout, /weapons: threshold \d\.\d{3}, precision at least \d+%/);
    assert.match(result.stdout, /held-out +precision/);
    const calibrated = JSON.parse(readFileSync(out, 'utf8'));
    assert.notEqual(calibrated.unsafe[0].threshold, 0);
  });

  test('errors: a broken policy, a missing manifest', async () => {
    const broken = join(work, 'broken.json');
    writeFileSync(broken, '{"unsafe": [{"name": "x", "prompts": ["a"]}], "safe": []}');
    await expectError(
      ['moderate', join(IMAGES, 'photo.png'), '--policy', broken, '--model', TINY_BUNDLE],
      3,
      /needs a threshold/,
    );
    await expectError(
      ['moderate', 'calibrate', '--manifest', join(work, 'none.jsonl'), '--model', TINY_BUNDLE],
      4,
      /cannot read manifest/,
    );
    await expectError(
      [
        'moderate',
        'calibrate',
        '--manifest',
        join(work, 'labelled.jsonl'),
        '--confidence',
        '1',
        '--model',
        TINY_BUNDLE,
      ],
      2,
      /confidence must be in \[0\.5, 1\)/,
    );
  });
});

describe('xmodal quality', () => {
  const home = join(work, 'home-quality');
  test('text and --json reports, and an SVG plot', async () => {
    const indexed = await runCli([
      '--home',
      home,
      'index',
      join(IMAGES, 'photo.png'),
      join(IMAGES, 'photo.jpg'),
      join(IMAGES, 'photo.webp'),
      join(AUDIO, 'sine.ogg'),
      '--model',
      TINY_BUNDLE,
    ]);
    assert.equal(indexed.code, 0, indexed.stderr);
    const plot = join(work, 'plot.svg');
    const text = await runCli(['--home', home, 'quality', '--plot', plot]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^collection "default": text 0, image 3, audio 1; 4 measured\n/);
    assert.match(text.stdout, /k-means silhouette \(k=2\) +(-?\d\.\d{3}|n\/a) {2}\(cluster sizes \d \d\)/);
    assert.match(text.stdout, /modality gap image–audio/);
    assert.match(readFileSync(plot, 'utf8'), /^<svg /);
    const json = await runCli(['--home', home, 'quality', '--json', '-k', '3']);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.equal(report.clusters.k, 3);
    assert.deepEqual(report.counts, { text: 0, image: 3, audio: 1 });
    assert.equal(report.alignment, null);
  });

  test('errors: no such collection, a bad k', async () => {
    await expectError(['--home', home, 'quality', '-c', 'nope'], 4, /no collection "nope"/);
    await expectError(['--home', home, 'quality', '-k', '9'], 2, /k must be an integer from 2 to 3/);
  });
});
