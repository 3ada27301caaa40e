import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadEncoder } from '../../src/encoders/load.js';
import type { XmodalError } from '../../src/errors.js';
import { classify, classifyInputs, readLabelsFile } from '../../src/tasks/classify.js';
import { logitScaleOf, TEMPLATES } from '../../src/tasks/prompts.js';
import { dot, meanDirection } from '../../src/vectors.js';
import { encoderSuite } from '../helpers/encoder-suite.js';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { renderOpenMoji } from '../helpers/openmoji.js';
import { AUDIO, IMAGES, ROOT, TINY_BUNDLE } from '../helpers/paths.js';

describe('classify (fixture model: mechanics)', () => {
  const suite = encoderSuite(TINY_BUNDLE);
  const dir = suite.dir;

  test('scores are softmax(logit scale · cosine) against the template ensemble, best first', async () => {
    const labels = ['dog', 'cat', 'car'];
    const image = join(IMAGES, 'photo.png');
    const scores = await classify(suite.encoder, { modality: 'image', source: image }, { labels });
    assert.deepEqual(scores.map((s) => s.label).sort(), [...labels].sort());
    assert.ok(Math.abs(scores.reduce((n, s) => n + s.score, 0) - 1) < 1e-6);
    for (let i = 1; i < scores.length; i++) assert.ok(scores[i - 1].score >= scores[i].score);

    // By hand: every English image template per label, averaged, then softmax at scale 100.
    const [v] = await suite.encoder.embedImages([image]);
    const sims = await Promise.all(
      labels.map(async (label) => {
        const rows = await suite.encoder.embedText(TEMPLATES.en.image.map((t) => t.replace('{}', label)));
        return dot(v, meanDirection(rows));
      }),
    );
    const exps = sims.map((s) => Math.exp(100 * s - 100 * Math.max(...sims)));
    for (const [i, label] of labels.entries()) {
      const got = scores.find((s) => s.label === label)!;
      assert.ok(Math.abs(got.similarity - sims[i]) < 1e-5);
      assert.ok(Math.abs(got.score - exps[i] / exps.reduce((a, b) => a + b)) < 1e-4);
    }
  });

  test('audio uses the sound templates; k keeps the best k', async () => {
    const [scores] = await classifyInputs(
      suite.encoder,
      [{ modality: 'audio', source: join(AUDIO, 'sine.ogg') }],
      {
        labels: ['piano', 'drum', 'speech', 'bird'],
        k: 2,
      },
    );
    assert.equal(scores.length, 2);
    assert.ok(scores[0].score >= scores[1].score);
  });

  test('own templates and another language change the ensemble', async () => {
    const input = { modality: 'image' as const, source: join(IMAGES, 'photo.png') };
    const en = await classify(suite.encoder, input, { labels: ['dog', 'cat'] });
    const own = await classify(suite.encoder, input, {
      labels: ['dog', 'cat'],
      templates: ['a {} at night'],
    });
    const it = await classify(suite.encoder, input, { labels: ['dog', 'cat'], lang: 'it' });
    const sim = (s: typeof en, l: string) => s.find((x) => x.label === l)!.similarity;
    assert.notEqual(sim(en, 'dog'), sim(own, 'dog'));
    assert.notEqual(sim(en, 'dog'), sim(it, 'dog'));
  });

  test('the logit scale comes from the model folder, else 100', async () => {
    assert.equal(logitScaleOf(suite.encoder), 100);
    const bundle = join(dir, 'scaled');
    mkdirSync(bundle);
    writeFileSync(
      join(bundle, 'xmodal.json'),
      JSON.stringify({
        name: 'scaled',
        parts: [join(ROOT, 'test/fixtures/models/tiny-clip')],
        logit_scale: 20,
      }),
    );
    const scaled = await loadEncoder(bundle);
    const overridden = await loadEncoder(bundle, { logitScale: 7 });
    try {
      assert.ok(Math.abs(logitScaleOf(scaled) - 20) < 1e-9);
      assert.equal(logitScaleOf(overridden), 7);
    } finally {
      await scaled.dispose();
      await overridden.dispose();
    }
  });

  test('labels files: lines with comments, or a JSON array', async () => {
    writeFileSync(join(dir, 'labels.txt'), '# animals\ndog\n\ncat\n');
    writeFileSync(join(dir, 'labels.json'), '["dog", "cat"]');
    assert.deepEqual(await readLabelsFile(join(dir, 'labels.txt')), ['dog', 'cat']);
    assert.deepEqual(await readLabelsFile(join(dir, 'labels.json')), ['dog', 'cat']);
    await assert.rejects(readLabelsFile(join(dir, 'missing.txt')), { code: 'FILE_NOT_FOUND' });
  });

  const bad: [string, object, RegExp][] = [
    ['one label', { labels: ['dog'] }, /at least two labels/],
    ['a label twice', { labels: ['dog', 'dog'] }, /given twice/],
    ['unknown language', { labels: ['a', 'b'], lang: 'xx' }, /no templates for language "xx"/],
    ['template without {}', { labels: ['a', 'b'], templates: ['a photo'] }, /has no \{\}/],
  ];
  for (const [name, options, message] of bad)
    test(`bad arguments: ${name}`, async () => {
      await assert.rejects(
        classify(suite.encoder, { modality: 'image', source: join(IMAGES, 'photo.png') }, options as never),
        (error: XmodalError) => error.code === 'BAD_ARGUMENT' && message.test(error.message),
      );
    });
});

describe('classify with xmodal-mini (meaning)', { skip: MINI_MISSING }, () => {
  const suite = encoderSuite(MINI);
  const dir = suite.dir;

  test('OpenMoji emoji (a style it never saw) get the right label with a margin', async () => {
    const labels = ['dog', 'cat', 'car', 'red apple', 'guitar', 'house', 'sun', 'bicycle', 'fish', 'rocket'];
    const names = [
      'dog',
      'cat',
      'automobile',
      'red-apple',
      'guitar',
      'house',
      'sun',
      'bicycle',
      'fish',
      'rocket',
    ];
    const margins: number[] = [];
    let right = 0;
    for (const [i, name] of names.entries()) {
      const file = await renderOpenMoji(name, dir);
      const scores = await classify(suite.encoder, { modality: 'image', source: file }, { labels });
      if (scores[0].label === labels[i]) right++;
      margins.push(scores[0].label === labels[i] ? scores[0].score - scores[1].score : 0);
    }
    console.log(
      `# emoji: ${right}/${names.length} right, margins ${margins.map((m) => m.toFixed(2)).join(' ')}`,
    );
    assert.ok(right >= 7, `${right}/${names.length} right`);
    assert.ok(margins.filter((m) => m > 0.2).length >= names.length / 2, 'half win by over 0.2 probability');
  });

  test('held-out instrument and drum clips (an unseen soundfont): the instrument family', async () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'demo/audio/manifest.json'), 'utf8')) as {
      clips: { file: string; label: string; kind: string; family?: string }[];
    };
    // General MIDI families ("strings", "brass", …) and "percussion" for the drum kit.
    const clips = manifest.clips.filter((c) => c.family);
    const labels = [...new Set(clips.map((c) => c.family!))];
    const results = await classifyInputs(
      suite.encoder,
      clips.map((c) => ({ modality: 'audio', source: join(ROOT, 'demo/audio', c.file) })),
      { labels, k: 3 },
    );
    const top1 = results.filter((r, i) => r[0].label === clips[i].family).length;
    const top3 = results.filter((r, i) => r.some((s) => s.label === clips[i].family)).length;
    console.log(
      `# sounds: top-1 ${top1}/${clips.length}, top-3 ${top3}/${clips.length} among ${labels.length} families`,
    );
    assert.ok(top1 >= (2 * clips.length) / labels.length, `top-1 ${top1}/${clips.length}: not twice chance`);
    assert.ok(
      top3 >= (1.5 * 3 * clips.length) / labels.length,
      `top-3 ${top3}/${clips.length}: not 1.5× chance`,
    );
  });

  test('held-out spoken words (unseen espeak voices): the word among every spoken name', async () => {
    // The held-out manifest's spoken emoji names, rendered like the training speech by voices it never heard.
    const dir = join(ROOT, 'test/fixtures/heldout');
    const spoken = readFileSync(join(dir, 'manifest.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; path?: string; label: string })
      .filter((item) => item.id.startsWith('speech-'));
    const labels = [...new Set(spoken.map((item) => item.label))];
    const results = await classifyInputs(
      suite.encoder,
      spoken.map((item) => ({ modality: 'audio', source: join(dir, item.path!) })),
      { labels },
    );
    const right = results.filter((r, i) => r[0].label === spoken[i].label).length;
    console.log(`# spoken words: ${right}/${spoken.length} right among ${labels.length} names`);
    assert.ok(labels.length >= 30);
    assert.ok(right >= 0.6 * spoken.length, `${right}/${spoken.length} right`);
  });
});
