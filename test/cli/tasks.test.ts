import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { errorLines, runCli } from '../helpers/cli.js';
import { type FakeLlm, startFakeLlm } from '../helpers/llm-server.js';
import { AUDIO, IMAGES, ROOT, TINY_BUNDLE, TINY_CLIP, tempDir } from '../helpers/paths.js';

const work = tempDir('xmodal-tasks-cli-');
after(() => rmSync(work, { recursive: true, force: true }));

async function expectError(args: string[], exitCode: number, message: RegExp): Promise<void> {
  const result = await runCli(args);
  assert.equal(result.code, exitCode, result.stderr);
  const lines = errorLines(result);
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], message);
}

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
      '--out',
      out,
      '--model',
      TINY_BUNDLE,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^4 calibration \/ 2 held-out examples, target precision 0\.5\n/);
    assert.match(result.stdout, /weapons: threshold \d\.\d{3}/);
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

describe('xmodal adapt and --adapter', () => {
  const home = join(work, 'home-adapt');
  const adapter = join(work, 'adapter');
  const pairs = join(work, 'pairs.jsonl');
  const images = [
    'photo.png',
    'photo.jpg',
    'photo.webp',
    'photo.gif',
    'photo.avif',
    'photo.svg',
    'exif-orientation-6.jpg',
  ];
  writeFileSync(
    pairs,
    [
      ...images.map((f, i) => JSON.stringify({ text: `picture ${i}`, image: join(IMAGES, f) })),
      ...['sine.ogg', 'sine.flac', 'sine.mp3', 'sine-s16.wav'].map((f, i) =>
        JSON.stringify({ text: `tone ${i}`, audio: join(AUDIO, f) }),
      ),
    ].join('\n'),
  );

  test('trains, writes the adapter next to its model id, and reports before/after', async () => {
    const result = await runCli([
      'adapt',
      '--pairs',
      pairs,
      '--test',
      pairs,
      '--out',
      adapter,
      '--epochs',
      '3',
      '--model',
      TINY_BUNDLE,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^trained on \d+ pairs, validated on \d+: \d+ epochs \(best \d+\)/);
    assert.match(result.stdout, /test Recall@10 +\d+\.\d% → \d+\.\d%/);
    assert.equal(JSON.parse(readFileSync(join(adapter, 'adapter.json'), 'utf8')).model, TINY_BUNDLE);
  });

  test('--adapter is applied at index and query time; the collection remembers it', async () => {
    const indexed = await runCli([
      '--home',
      home,
      'index',
      join(IMAGES, 'photo.png'),
      join(IMAGES, 'photo.jpg'),
      '--adapter',
      adapter,
    ]);
    assert.equal(indexed.code, 0, indexed.stderr);
    const search = await runCli([
      '--home',
      home,
      'search',
      '--image',
      join(IMAGES, 'photo.png'),
      '-k',
      '1',
      '--json',
    ]);
    assert.equal(search.code, 0, search.stderr);
    const [hit] = JSON.parse(search.stdout).results;
    assert.equal(hit.uri, join(IMAGES, 'photo.png'));
    assert.ok(Math.abs(hit.score - 1) < 1e-4, 'the query went through the same adapter as the index');
    // The base model is another embedding space: the collection refuses it.
    await expectError(
      ['--home', home, 'index', join(IMAGES, 'photo.gif'), '--model', TINY_BUNDLE],
      6,
      /was made with/,
    );
    const classified = await runCli([
      'classify',
      join(IMAGES, 'photo.png'),
      '--labels',
      'a,b',
      '--adapter',
      adapter,
      '--json',
    ]);
    assert.equal(classified.code, 0, classified.stderr);
  });

  test('xmodal eval measures the adapted model the same way as the bare one', async () => {
    const manifest = join(work, 'eval.jsonl');
    writeFileSync(
      manifest,
      images
        .slice(0, 4)
        .flatMap((f, i) => [
          JSON.stringify({ id: `t${i}`, modality: 'text', text: `picture ${i}`, label: `p${i}` }),
          JSON.stringify({ id: `i${i}`, modality: 'image', path: join(IMAGES, f), label: `p${i}` }),
        ])
        .join('\n'),
    );
    const bare = await runCli(['eval', '--manifest', manifest, '--model', TINY_BUNDLE, '--json']);
    const adapted = await runCli(['eval', '--manifest', manifest, '--adapter', adapter, '--json']);
    assert.equal(bare.code, 0, bare.stderr);
    assert.equal(adapted.code, 0, adapted.stderr);
    assert.equal(JSON.parse(adapted.stdout).model, adapter);
    assert.equal(
      JSON.parse(bare.stdout).retrieval[0].queries,
      JSON.parse(adapted.stdout).retrieval[0].queries,
    );
  });

  test('errors: an adapter for another model, a missing pairs file', async () => {
    await expectError(
      ['classify', join(IMAGES, 'photo.png'), '--labels', 'a,b', '--adapter', adapter, '--model', TINY_CLIP],
      6,
      /was trained on/,
    );
    await expectError(
      ['adapt', '--pairs', join(work, 'none.jsonl'), '--out', adapter, '--model', TINY_BUNDLE],
      4,
      /cannot read pairs file/,
    );
  });
});

describe('xmodal ask', () => {
  const home = join(work, 'home-ask');
  const docs = join(work, 'docs');
  let llm: FakeLlm;
  before(async () => {
    mkdirSync(docs, { recursive: true });
    copyFileSync(join(IMAGES, 'photo.png'), join(docs, 'dog.png'));
    writeFileSync(join(docs, 'dog.txt'), 'A brown dog runs across the park.\n');
    writeFileSync(join(docs, 'bread.txt'), 'Bake the bread for forty minutes.\n');
    const indexed = await runCli(['--home', home, 'index', docs, '--model', TINY_BUNDLE]);
    assert.equal(indexed.code, 0, indexed.stderr);
    // Cites whichever numbered source is the bread text.
    llm = await startFakeLlm((prompt) => {
      const n = /\[(\d+)\] text: bread\.txt/.exec(prompt)?.[1];
      return n ? `Forty minutes [${n}].` : 'No idea.';
    });
  });
  after(() => llm.close());

  test('--json: the answer, its citations and every source; the LLM server got the prompt', async () => {
    const result = await runCli([
      '--home',
      home,
      'ask',
      'How long does the bread bake?',
      '--llm-url',
      `${llm.url}/v1`,
      '--llm-model',
      'test-model',
      '--rerank-url',
      `${llm.url}/v1/rerank`,
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.match(out.answer, /^Forty minutes \[[12]\]\.$/);
    assert.equal(out.sources.length, 2);
    assert.equal(out.citations.length, 1);
    assert.deepEqual(out.citations[0].files, [join(docs, 'bread.txt')]);
    assert.deepEqual(out.citations[0], out.sources[out.citations[0].n - 1]);
    const chat = llm.received.find((r) => r.path === '/v1/chat/completions')!;
    assert.equal(chat.body.model, 'test-model');
    assert.match(JSON.stringify(chat.body.messages), /Question: How long does the bread bake\?/);
    assert.ok(llm.received.some((r) => r.path === '/v1/rerank'));
  });

  test('text output: the answer, then the cited files; --sources-only needs no LLM', async () => {
    const result = await runCli([
      '--home',
      home,
      'ask',
      'bread',
      '--llm-url',
      `${llm.url}/v1`,
      '--llm-model',
      'm',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Forty minutes \[(\d)\]\.\n\ncited:\n {2}\[\1\] text {2}bread\.txt\n$/);
    const sources = await runCli(['--home', home, 'ask', 'bread', '--sources-only', '--sources', '1']);
    assert.equal(sources.code, 0, sources.stderr);
    assert.match(sources.stdout, /^sources:\n {2}\[1\] [a-z+]+ {2}[a-z.]+(, [a-z.]+)?\n$/);
  });

  test('--cross-encoder reranks with a local model', async () => {
    const crossEncoder = join(ROOT, 'test/fixtures/models/tiny-cross-encoder');
    const result = await runCli([
      '--home',
      home,
      'ask',
      'bake the bread',
      '--sources-only',
      '--cross-encoder',
      crossEncoder,
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).sources.length, 2);
    await expectError(
      [
        '--home',
        home,
        'ask',
        'x',
        '--sources-only',
        '--cross-encoder',
        crossEncoder,
        '--rerank-url',
        llm.url,
      ],
      2,
      /--rerank-url or --cross-encoder, not both/,
    );
  });

  test('errors: no LLM named, an unreachable LLM', async () => {
    await expectError(['--home', home, 'ask', 'bread'], 2, /give --llm-url and --llm-model/);
    await expectError(
      ['--home', home, 'ask', 'bread', '--llm-url', 'http://127.0.0.1:9/v1', '--llm-model', 'm'],
      9,
      /cannot reach http:\/\/127\.0\.0\.1:9\/v1\/chat\/completions/,
    );
  });
});
