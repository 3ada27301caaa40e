import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { expectCliError as expectError } from '../helpers/expect-cli-error.js';
import { type FakeLlm, startFakeLlm } from '../helpers/llm-server.js';
import { AUDIO, IMAGES, ROOT, TINY_BUNDLE, TINY_CLIP, tempDir } from '../helpers/paths.js';

const work = tempDir('xmodal-tasks-cli-');
after(() => rmSync(work, { recursive: true, force: true }));

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
