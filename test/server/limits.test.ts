import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { OpenAIEmbeddings } from '@langchain/openai';
import { IMAGES, TINY_CLIP } from '../helpers/paths.js';
import { cosine, dataUrl, embeddedModalities, type RunningServer, startServer } from './harness.js';

const png = readFileSync(join(IMAGES, 'photo.png'));

describe('per-request limits: text length, inputs, media inputs', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
    await server.call('POST', '/collections', { name: 'default' });
  });
  after(() => server.close());

  const long = 'a dog on the grass '.repeat(5300).slice(0, 100_001);

  const tooLong: [string, string, unknown][] = [
    ['/embed/text', 'text[1]', { text: ['a dog', long] }],
    ['/v1/embeddings', 'input[0]', { input: long }],
    ['/v1/embeddings', 'input[1]', { input: ['a dog', { text: long }] }],
    ['/similarity', 'a', { a: { text: long }, b: { text: 'a dog' } }],
    ['/search', 'text query 0', { text: long }],
    [
      '/search',
      'text query 1',
      {
        parts: [
          { kind: 'text', value: 'a dog' },
          { kind: 'text', value: long },
        ],
      },
    ],
    ['/classify', 'input', { text: long, labels: ['dog', 'cat'] }],
    ['/classify', 'labels[1]', { text: 'a dog', labels: ['dog', long] }],
  ];
  for (const [path, what, body] of tooLong) {
    test(`${path}: a text over 100,000 characters (${what}) is 413`, async () => {
      const result = await server.call('POST', path, body);
      assert.equal(result.status, 413, JSON.stringify(result.body).slice(0, 300));
      assert.equal(result.body.error.code, 'INPUT_TOO_LARGE');
      assert.match(result.body.error.message, new RegExp(`^${what.replace(/[[\]]/g, '\\$&')}.*100000`));
    });
  }

  test('a text of exactly 100,000 characters is embedded', async () => {
    const result = await server.call('POST', '/v1/embeddings', { input: long.slice(0, 100_000) });
    assert.equal(result.status, 200, JSON.stringify(result.body).slice(0, 300));
    assert.equal(result.body.data[0].embedding.length, 32);
  });

  test('/v1/embeddings takes 2,048 texts, as OpenAI does, and refuses 2,049', async () => {
    const texts = Array.from({ length: 2049 }, (_, i) => `text number ${i}`);
    const most = await server.call('POST', '/v1/embeddings', { input: texts.slice(0, 2048) });
    assert.equal(most.status, 200, JSON.stringify(most.body).slice(0, 300));
    assert.equal(most.body.data.length, 2048);
    assert.deepEqual(
      most.body.data.map((d: { index: number }) => d.index),
      texts.slice(0, 2048).map((_, i) => i),
    );
    const one = await server.call('POST', '/embed/text', { text: texts[2047] });
    assert.ok(cosine(most.body.data[2047].embedding, one.body.embeddings[0]) > 0.99999);
    for (const [path, body] of [
      ['/v1/embeddings', { input: texts }],
      ['/embed/text', { text: texts }],
    ] as const) {
      const over = await server.call('POST', path, body);
      assert.equal(over.status, 413, path);
      assert.match(over.body.error.message, /2049 inputs.*2048/);
    }
  });

  test('images and audio have their own, lower cap within a request', async () => {
    const few = await startServer({ limits: { mediaInputs: 2 } });
    try {
      const image = dataUrl('image/png', png);
      const ok = await few.call('POST', '/v1/embeddings', { input: [image, image, 'a dog', 'a cat'] });
      assert.equal(ok.status, 200, JSON.stringify(ok.body).slice(0, 300));
      for (const [path, body] of [
        ['/v1/embeddings', { input: [image, { image: png.toString('base64') }, image, 'a dog'] }],
        ['/embed/image', { image: [image, image, image] }],
      ] as const) {
        const over = await few.call('POST', path, body);
        assert.equal(over.status, 413, `${path}: ${JSON.stringify(over.body).slice(0, 300)}`);
        assert.match(over.body.error.message, /3 images or audio clips.*limit is 2/);
      }
    } finally {
      await few.close();
    }
  });

  test('/classify refuses more labels x templates than the input limit, before embedding anything', async () => {
    const labels = Array.from({ length: 1000 }, (_, i) => `label ${i}`);
    const templates = Array.from({ length: 64 }, (_, i) => `{} number ${i}`);
    const cases: [number | undefined, object, string][] = [
      [
        undefined,
        { text: 'a dog', labels, templates },
        '1000 labels in 64 templates are 64000 texts to embed; the limit is 2048',
      ],
      // An image is described by 5 built-in templates: 500 labels are 2500 texts.
      [
        undefined,
        { image: png.toString('base64'), labels: labels.slice(0, 500) },
        '500 labels in 5 templates are 2500 texts to embed; the limit is 2048',
      ],
      [
        10,
        { text: 'a dog', labels: labels.slice(0, 6), templates: templates.slice(0, 2) },
        '6 labels in 2 templates are 12 texts to embed; the limit is 10',
      ],
    ];
    for (const [inputs, body, message] of cases) {
      const fresh = await startServer(inputs ? { limits: { inputs } } : {});
      try {
        const over = await fresh.call('POST', '/classify', body);
        assert.equal(over.status, 413, JSON.stringify(over.body).slice(0, 300));
        assert.deepEqual(over.body, { error: { code: 'INPUT_TOO_LARGE', message } });
        assert.equal(await embeddedModalities(fresh), 0, `${message}: the refused request embedded nothing`);
        if (inputs !== 10) continue;
        const most = await fresh.call('POST', '/classify', {
          text: 'a dog',
          labels: labels.slice(0, 5),
          templates: templates.slice(0, 2),
        });
        assert.equal(most.status, 200, JSON.stringify(most.body).slice(0, 300));
        assert.equal(most.body.labels.length, 5);
        assert.ok((await embeddedModalities(fresh)) > 0, 'the metric counts what a request embeds');
      } finally {
        await fresh.close();
      }
    }
  });

  test('LangChain JS OpenAIEmbeddings embeds 600 documents in its default 512-input requests', async () => {
    const embeddings = new OpenAIEmbeddings({
      model: TINY_CLIP,
      apiKey: 'unused',
      configuration: { baseURL: `${server.base}/v1` },
      maxRetries: 0,
    });
    const documents = Array.from({ length: 600 }, (_, i) => `document ${i} about a dog`);
    const vectors = await embeddings.embedDocuments(documents);
    assert.equal(vectors.length, 600);
    const query = await embeddings.embedQuery(documents[599]);
    assert.ok(cosine(vectors[599], query) > 0.99999);
    assert.ok(cosine(vectors[0], vectors[599]) < 0.99999);
  });
});
