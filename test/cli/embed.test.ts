import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorLines, runCli } from '../helpers/cli.js';
import { TINY_CLIP } from '../helpers/paths.js';

describe('xmodal embed / similarity / models', () => {
  test('embed --json prints normalised vectors of the model dimension', async () => {
    const result = await runCli([
      'embed',
      '--model',
      TINY_CLIP,
      '--text',
      'a dog',
      '--text',
      'a cat',
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.equal(out.dim, 32);
    assert.equal(out.embeddings.length, 2);
    assert.deepEqual(
      out.embeddings.map((e: { input: string; modality: string }) => [e.input, e.modality]),
      [
        ['a dog', 'text'],
        ['a cat', 'text'],
      ],
    );
    const norm = Math.hypot(...out.embeddings[0].embedding);
    assert.ok(Math.abs(norm - 1) < 1e-5);
  });

  test('similarity of a text with itself is 1, with another text less', async () => {
    const same = await runCli(['similarity', 'a dog', 'a dog', '--model', TINY_CLIP]);
    const other = await runCli([
      'similarity',
      'a dog',
      'a red car on the road',
      '--model',
      TINY_CLIP,
      '--json',
    ]);
    assert.equal(same.code, 0, same.stderr);
    assert.equal(same.stdout.trim(), '1.0000');
    assert.ok(JSON.parse(other.stdout).similarity < 0.999);
  });

  test('models lists every registered family', async () => {
    const result = await runCli(['models', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const types = JSON.parse(result.stdout).families.flatMap((f: { modelTypes: string[] }) => f.modelTypes);
    for (const t of ['clip', 'siglip', 'jina_clip', 'clap']) assert.ok(types.includes(t), t);
  });

  const failures: [string, string[], number, RegExp][] = [
    ['nothing to embed', ['embed', '--model', TINY_CLIP], 2, /nothing to embed/],
    ['an empty text', ['embed', '--model', TINY_CLIP, '--text', ''], 3, /empty text/],
    ['a blank text', ['embed', '--model', TINY_CLIP, '--text', ' \n '], 3, /empty text/],
    [
      'missing image file',
      ['embed', '--model', TINY_CLIP, '--image', '/nonexistent/cat.png'],
      4,
      /no such file/,
    ],
    ['missing model folder', ['embed', '--model', './no/such/model', '--text', 'x'], 5, /no model folder/],
    [
      'hub id while offline',
      ['embed', '--model', 'someone/some-model', '--offline', '--text', 'x'],
      5,
      /offline/,
    ],
    ['unknown dtype', ['embed', '--model', TINY_CLIP, '--dtype', 'fp8', '--text', 'x'], 2, /fp8/],
    ['unknown option', ['embed', '--bogus'], 2, /unknown option/],
    [
      'audio on an image-text model',
      ['embed', '--model', TINY_CLIP, '--audio', 'package.json'],
      5,
      /does not embed audio/,
    ],
  ];
  for (const [name, args, exitCode, message] of failures) {
    test(`bad input gives a one-line error and exit ${exitCode}: ${name}`, async () => {
      const result = await runCli(args, { XMODAL_CACHE: '/nonexistent-cache' });
      assert.equal(result.code, exitCode, result.stderr);
      const lines = errorLines(result);
      assert.equal(lines.length, 1, `one line, got:\n${result.stderr}`);
      assert.match(lines[0], /^xmodal: /);
      assert.match(lines[0], message);
    });
  }
});
