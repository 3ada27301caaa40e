import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { AUDIO, IMAGES } from '../helpers/paths.js';
import { cosine, dataUrl, type RunningServer, startServer } from './harness.js';

const png = readFileSync(join(IMAGES, 'photo.png'));
const jpeg = readFileSync(join(IMAGES, 'photo.jpg'));
const wav = readFileSync(join(AUDIO, 'sine-s16.wav'));

describe('embedding endpoints over HTTP', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  test('POST /embed/text embeds one text or many, normalised, in order', async () => {
    const one = await server.call('POST', '/embed/text', { text: 'a dog' });
    const many = await server.call('POST', '/embed/text', { text: ['a cat', 'a dog'] });
    assert.equal(one.status, 200);
    assert.equal(one.body.dim, 32);
    assert.equal(many.body.embeddings.length, 2);
    assert.ok(Math.abs(cosine(one.body.embeddings[0], one.body.embeddings[0]) - 1) < 1e-5);
    assert.ok(Math.abs(cosine(one.body.embeddings[0], many.body.embeddings[1]) - 1) < 1e-5);
    assert.ok(cosine(many.body.embeddings[0], many.body.embeddings[1]) < 0.999);
  });

  test('POST /embed/image takes multipart files and JSON base64 alike', async () => {
    const form = new FormData();
    form.append('file', new Blob([png]), 'photo.png');
    form.append('file', new Blob([jpeg]), 'photo.jpg');
    const multipart = await fetch(`${server.base}/embed/image`, { method: 'POST', body: form });
    const viaForm = (await multipart.json()) as { embeddings: number[][] };
    const viaJson = await server.call('POST', '/embed/image', { image: png.toString('base64') });
    const viaDataUrl = await server.call('POST', '/embed/image', { image: [dataUrl('image/jpeg', jpeg)] });
    assert.equal(multipart.status, 200);
    assert.equal(viaForm.embeddings.length, 2);
    assert.ok(cosine(viaForm.embeddings[0], viaJson.body.embeddings[0]) > 0.99999);
    assert.ok(cosine(viaForm.embeddings[1], viaDataUrl.body.embeddings[0]) > 0.99999);
  });

  test('POST /similarity compares any two inputs', async () => {
    const same = await server.call('POST', '/similarity', { a: { text: 'a dog' }, b: { text: 'a dog' } });
    const cross = await server.call('POST', '/similarity', {
      a: { text: 'a dog' },
      b: { image: dataUrl('image/png', png) },
    });
    assert.equal(same.status, 200);
    assert.ok(Math.abs(same.body.similarity - 1) < 1e-5);
    assert.equal(cross.status, 200);
    assert.ok(cross.body.similarity < 1 && cross.body.similarity > -1);
  });

  const bad: [string, string, unknown, number, string][] = [
    ['no text', '/embed/text', {}, 400, 'BAD_ARGUMENT'],
    ['empty text', '/embed/text', { text: '' }, 400, 'BAD_ARGUMENT'],
    ['text of the wrong type', '/embed/text', { text: 42 }, 400, 'BAD_ARGUMENT'],
    ['not base64', '/embed/image', { image: '%%% not base64 %%%' }, 400, 'BAD_INPUT'],
    ['a link instead of a file', '/embed/image', { image: 'https://example.com/cat.png' }, 400, 'BAD_INPUT'],
    ['audio sent as an image', '/embed/image', { image: wav.toString('base64') }, 415, 'UNSUPPORTED_FORMAT'],
    [
      'corrupt image',
      '/embed/image',
      { image: readFileSync(join(IMAGES, 'corrupt.jpg')).toString('base64') },
      400,
      'BAD_INPUT',
    ],
    [
      'audio to an image-only model',
      '/embed/audio',
      { audio: wav.toString('base64') },
      422,
      'MODALITY_UNSUPPORTED',
    ],
    [
      'similarity with two keys in one input',
      '/similarity',
      { a: { text: 'x', image: 'y' }, b: { text: 'z' } },
      400,
      'BAD_ARGUMENT',
    ],
    [
      'too many inputs',
      '/embed/text',
      { text: Array.from({ length: 2049 }, (_, i) => `t${i}`) },
      413,
      'INPUT_TOO_LARGE',
    ],
  ];
  for (const [name, path, body, status, code] of bad) {
    test(`${path}: ${name} → ${status} ${code}`, async () => {
      const result = await server.call('POST', path, body);
      assert.equal(result.status, status, JSON.stringify(result.body));
      assert.equal(result.body.error.code, code);
      assert.ok(result.body.error.message.length > 0);
    });
  }

  test('malformed JSON and an unknown content type are 4xx with our error shape', async () => {
    const broken = await server.call('POST', '/embed/text', '{"text": ');
    const xml = await fetch(`${server.base}/embed/text`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<text>dog</text>',
    });
    assert.equal(broken.status, 400);
    assert.equal(broken.body.error.code, 'BAD_INPUT');
    assert.equal(xml.status, 415);
    assert.equal(((await xml.json()) as { error: { code: string } }).error.code, 'UNSUPPORTED_FORMAT');
  });

  test('an image over the pixel limit is refused before decoding', async () => {
    const small = await startServer({ limits: { maxPixels: 1000 } });
    try {
      const big = await sharp({ create: { width: 100, height: 100, channels: 3, background: '#888' } })
        .png()
        .toBuffer();
      const result = await small.call('POST', '/embed/image', { image: big.toString('base64') });
      assert.equal(result.status, 413);
      assert.equal(result.body.error.code, 'INPUT_TOO_LARGE');
    } finally {
      await small.close();
    }
  });

  test('a body over the limit is 413', async () => {
    const small = await startServer({ limits: { bodyBytes: 1024, fileBytes: 1024 } });
    try {
      const json = await small.call('POST', '/embed/image', { image: png.toString('base64').repeat(4) });
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(4096)]), 'big.png');
      const upload = await fetch(`${small.base}/embed/image`, { method: 'POST', body: form });
      assert.equal(json.status, 413);
      assert.equal(json.body.error.code, 'INPUT_TOO_LARGE');
      assert.equal(upload.status, 413);
    } finally {
      await small.close();
    }
  });
});
