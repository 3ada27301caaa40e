import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { IMAGES, TINY_CLIP } from '../helpers/paths.js';
import { cosine, dataUrl, type RunningServer, startServer } from './harness.js';

describe('POST /v1/embeddings, OpenAI-compatible', () => {
  let server: RunningServer;
  let client: OpenAI;
  before(async () => {
    server = await startServer();
    client = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(() => server.close());

  test('the official SDK gets text embeddings equal to /embed/text', async () => {
    const result = await client.embeddings.create({ model: TINY_CLIP, input: ['a dog', 'a cat'] });
    const direct = await server.call('POST', '/embed/text', { text: ['a dog', 'a cat'] });
    assert.equal(result.object, 'list');
    assert.equal(result.data.length, 2);
    assert.deepEqual(
      result.data.map((d) => d.index),
      [0, 1],
    );
    assert.equal(result.data[0].embedding.length, 32);
    assert.ok(cosine(result.data[0].embedding, direct.body.embeddings[0]) > 0.99999);
    assert.ok(cosine(result.data[1].embedding, direct.body.embeddings[1]) > 0.99999);
    assert.ok(result.usage.prompt_tokens >= 4);
  });

  test('the SDK gets image embeddings from data URLs, mixed with text', async () => {
    const png = readFileSync(join(IMAGES, 'photo.png'));
    const result = await client.embeddings.create({
      model: 'tiny-clip',
      input: [dataUrl('image/png', png), 'a dog'],
    });
    const direct = await server.call('POST', '/embed/image', { image: png.toString('base64') });
    assert.ok(cosine(result.data[0].embedding, direct.body.embeddings[0]) > 0.99999);
    assert.ok(cosine(result.data[0].embedding, result.data[1].embedding) < 0.999);
  });

  test('float and base64 encodings carry the same numbers', async () => {
    const floats = await server.call('POST', '/v1/embeddings', { input: 'a dog', encoding_format: 'float' });
    const packed = await server.call('POST', '/v1/embeddings', { input: 'a dog', encoding_format: 'base64' });
    const bytes = Buffer.from(packed.body.data[0].embedding, 'base64');
    const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
    assert.deepEqual(decoded, floats.body.data[0].embedding);
    assert.equal(floats.body.model, TINY_CLIP);
  });

  test('Jina-style objects work too', async () => {
    const png = readFileSync(join(IMAGES, 'photo.png'));
    const result = await server.call('POST', '/v1/embeddings', {
      input: [{ text: 'a dog' }, { image: png.toString('base64') }],
    });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.data.length, 2);
  });

  test('mistakes are 4xx errors the SDK raises with our message', async () => {
    await assert.rejects(
      client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }),
      (error: InstanceType<typeof OpenAI.APIError>) => error.status === 404 && /serves/.test(error.message),
    );
    const cases: [unknown, number, string][] = [
      [{}, 400, 'BAD_ARGUMENT'],
      [{ input: '' }, 400, 'BAD_INPUT'],
      [{ input: [1, 2, 3] }, 400, 'BAD_INPUT'],
      [{ input: 'x', encoding_format: 'int8' }, 400, 'BAD_ARGUMENT'],
      [{ input: 'x', dimensions: 8 }, 400, 'BAD_ARGUMENT'],
      [{ input: 'data:image/png;base64,AAAA' }, 415, 'UNSUPPORTED_FORMAT'],
      [{ input: 'data:audio/wav;base64,UklGRg==' }, 415, 'UNSUPPORTED_FORMAT'],
    ];
    for (const [body, status, code] of cases) {
      const result = await server.call('POST', '/v1/embeddings', body);
      assert.equal(result.status, status, `${JSON.stringify(body)} → ${JSON.stringify(result.body)}`);
      assert.equal(result.body.error.code, code);
    }
  });

  test('GET /v1/models lists the served model', async () => {
    const models = await client.models.list();
    assert.ok(models.data.some((m) => m.id === TINY_CLIP));
  });
});
