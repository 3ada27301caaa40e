import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AUDIO, IMAGES, TINY_CLAP } from '../helpers/paths.js';
import { dataUrl, type Json, type RunningServer, startServer } from './harness.js';

const IMAGE_FILES = ['photo.png', 'photo.jpg', 'photo.gif', 'exif-orientation-6.jpg'];

async function upload(server: RunningServer, collection: string, files: [string, Buffer][], tags?: string) {
  const form = new FormData();
  for (const [name, bytes] of files) form.append('file', new Blob([new Uint8Array(bytes)]), name);
  if (tags) form.append('tags', tags);
  const response = await fetch(`${server.base}/collections/${collection}/index`, {
    method: 'POST',
    body: form,
  });
  return { status: response.status, body: (await response.json()) as Json };
}

describe('collections, search and items over HTTP', () => {
  let server: RunningServer;
  let roots: string;
  before(async () => {
    server = await startServer();
    roots = join(server.home, 'library');
    mkdirSync(roots, { recursive: true });
  });
  after(() => server.close());

  test('uploading files creates and fills the default collection; stats count them', async () => {
    const files = IMAGE_FILES.map((name) => [name, readFileSync(join(IMAGES, name))] as [string, Buffer]);
    const notes: [string, Buffer][] = [['notes.txt', Buffer.from('a note about dogs and cats')]];
    const indexed = await upload(
      server,
      'default',
      [...files, ...notes, ['broken.jpg', readFileSync(join(IMAGES, 'corrupt.jpg'))]],
      'fixture',
    );
    assert.equal(indexed.status, 200, JSON.stringify(indexed.body));
    assert.equal(indexed.body.indexed, 5);
    assert.deepEqual(
      indexed.body.failed.map((f: { path: string }) => f.path),
      ['broken.jpg'],
    );
    const stats = await server.call('GET', '/collections/default/stats');
    assert.equal(stats.status, 200);
    assert.deepEqual(stats.body.modalities, { text: 1, image: 4, audio: 0 });
    const list = await server.call('GET', '/collections');
    assert.deepEqual(
      list.body.collections.map((c: { name: string }) => c.name),
      ['default'],
    );
  });

  test('an image query finds that image first; its content is the uploaded file', async () => {
    const jpeg = readFileSync(join(IMAGES, 'photo.jpg'));
    const result = await server.call('POST', '/search', { image: dataUrl('image/jpeg', jpeg), k: 3 });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.hits.length, 3);
    const top = result.body.hits[0];
    assert.match(top.id, /photo\.jpg$/);
    assert.ok(top.score > 0.999);
    assert.deepEqual(top.tags, ['fixture']);
    const content = await fetch(server.base + top.content);
    assert.equal(content.status, 200);
    assert.equal(content.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual(new Uint8Array(await content.arrayBuffer()), new Uint8Array(jpeg));
    const item = await server.call('GET', `/items/${encodeURIComponent(top.id)}`);
    assert.equal(item.status, 200);
    assert.equal(item.body.modality, 'image');
    assert.equal(item.body.vector, undefined);
  });

  test('like, negative weights, filters and k shape the results', async () => {
    const first = await server.call('POST', '/search', { text: 'a photo', k: 10 });
    const png = first.body.hits.find((h: { id: string }) => h.id.endsWith('photo.png')).id;
    const like = await server.call('POST', '/search', { like: png, k: 10 });
    assert.ok(
      like.body.hits.every((h: { id: string }) => h.id !== png),
      'the example itself is left out',
    );
    const images = await server.call('POST', '/search', {
      text: 'dogs',
      filter: { modality: 'image' },
      k: 10,
    });
    assert.equal(images.body.hits.length, 4);
    assert.ok(images.body.hits.every((h: { modality: string }) => h.modality === 'image'));
    const texts = await server.call('POST', '/search', { text: 'dogs', filter: { modality: 'text' } });
    assert.equal(texts.body.hits.length, 1);
    assert.equal(texts.body.hits[0].meta.text, 'a note about dogs and cats');
    const weighted = await server.call('POST', '/search', {
      parts: [
        { kind: 'text', value: 'dogs' },
        { kind: 'like', value: png, weight: -1 },
      ],
      k: 2,
    });
    assert.equal(weighted.status, 200);
    assert.equal(weighted.body.hits.length, 2);
    assert.ok(weighted.body.hits[0].score >= weighted.body.hits[1].score);
  });

  test('a model-made collection for audio: upload clips, an audio query finds its clip', async () => {
    const created = await server.call('POST', '/collections', { name: 'sounds', model: TINY_CLAP });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.modalitiesSupported, ['text', 'audio']);
    const clips: [string, Buffer][] = ['sine.flac', 'sine-s16.wav', 'long-25s-16k.wav'].map((n) => [
      n,
      readFileSync(join(AUDIO, n)),
    ]);
    assert.equal((await upload(server, 'sounds', clips)).body.indexed, 3);
    const result = await server.call('POST', '/search', {
      collection: 'sounds',
      audio: dataUrl('audio/wav', readFileSync(join(AUDIO, 'long-25s-16k.wav'))),
      k: 1,
    });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.match(result.body.hits[0].id, /long-25s-16k\.wav$/);
    const again = await server.call('POST', '/collections', { name: 'sounds' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'CONFLICT');
    const deleted = await server.call('DELETE', '/collections/sounds');
    assert.equal(deleted.status, 200);
    assert.equal((await server.call('GET', '/collections/sounds/stats')).status, 404);
    assert.equal((await server.call('DELETE', '/collections/sounds')).status, 404);
  });

  test('indexing server paths needs an index root, and stays inside it', async () => {
    const refused = await server.call('POST', '/collections/default/index', { paths: [IMAGES] });
    assert.equal(refused.status, 400);
    const rooted = await startServer({ indexRoots: [IMAGES] });
    try {
      const inside = await rooted.call('POST', '/collections/pics/index', {
        paths: [join(IMAGES, 'photo.png')],
      });
      assert.equal(inside.status, 200, JSON.stringify(inside.body));
      assert.equal(inside.body.indexed, 1);
      const outside = await rooted.call('POST', '/collections/pics/index', {
        paths: [join(IMAGES, '..', 'audio')],
      });
      assert.equal(outside.status, 400);
      assert.match(outside.body.error.message, /outside/);
    } finally {
      await rooted.close();
    }
  });

  test('content is served only for indexed items, never by path', async () => {
    const secret = join(roots, 'secret.txt');
    writeFileSync(secret, 'not indexed');
    const byPath = await server.call('GET', `/items/${encodeURIComponent(secret)}/content`);
    assert.equal(byPath.status, 404);
    assert.equal(byPath.body.error.code, 'NOT_FOUND');
    const traversal = await fetch(`${server.base}/items/..%2F..%2F..%2Fetc%2Fpasswd/content`);
    assert.equal(traversal.status, 404);
  });

  const bad: [string, string, string, unknown, number, string][] = [
    ['empty query', 'POST', '/search', {}, 400, 'BAD_ARGUMENT'],
    ['k of zero', 'POST', '/search', { text: 'x', k: 0 }, 400, 'BAD_ARGUMENT'],
    ['unknown field', 'POST', '/search', { text: 'x', kk: 3 }, 400, 'BAD_ARGUMENT'],
    [
      'bad filter modality',
      'POST',
      '/search',
      { text: 'x', filter: { modality: 'video' } },
      400,
      'BAD_ARGUMENT',
    ],
    ['like an unknown id', 'POST', '/search', { like: 'nope' }, 404, 'NOT_FOUND'],
    ['missing collection', 'POST', '/search', { text: 'x', collection: 'nope' }, 404, 'NOT_FOUND'],
    ['bad collection name', 'POST', '/search', { text: 'x', collection: '../etc' }, 400, 'BAD_ARGUMENT'],
    ['unknown item', 'GET', '/items/nope', undefined, 404, 'NOT_FOUND'],
    ['bad name on create', 'POST', '/collections', { name: 'a/b' }, 400, 'BAD_ARGUMENT'],
    [
      'create with a missing model',
      'POST',
      '/collections',
      { name: 'm', model: '/no/such/model' },
      404,
      'MODEL_NOT_FOUND',
    ],
    ['index with no body', 'POST', '/collections/default/index', {}, 400, 'BAD_ARGUMENT'],
  ];
  for (const [name, method, path, body, status, code] of bad) {
    test(`${method} ${path}: ${name} → ${status} ${code}`, async () => {
      const result = await server.call(method, path, body);
      assert.equal(result.status, status, JSON.stringify(result.body));
      assert.equal(result.body.error.code, code);
    });
  }
});

describe('the server applies the shared rules', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  test('collection names: 48 characters are fine, 49 are refused like the store refuses them', async () => {
    const ok = await server.call('POST', '/collections', { name: 'n'.repeat(48) });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const long = await server.call('POST', '/collections', { name: 'n'.repeat(49) });
    assert.equal(long.status, 400);
    assert.equal(long.body.error.code, 'BAD_ARGUMENT');
  });

  test('k: up to 1000, as on the command line', async () => {
    const over = await server.call('POST', '/search', { collection: 'n'.repeat(48), text: 'x', k: 1001 });
    assert.equal(over.status, 400);
    const fine = await server.call('POST', '/search', { collection: 'n'.repeat(48), text: 'x', k: 1000 });
    assert.equal(fine.status, 200, JSON.stringify(fine.body));
    assert.deepEqual(fine.body.hits, []);
  });

  test('every route reads inputs the same way: two kinds in one input are refused', async () => {
    const png = dataUrl('image/png', readFileSync(join(IMAGES, 'photo.png')));
    const both = { text: 'a dog', image: png };
    for (const [path, body] of [
      ['/classify', { ...both, labels: ['a', 'b'] }],
      ['/moderate', both],
      ['/similarity', { a: both, b: { text: 'x' } }],
      ['/v1/embeddings', { input: [both] }],
    ] as const) {
      const result = await server.call('POST', path, body);
      assert.equal(result.status, 400, `${path}: ${JSON.stringify(result.body)}`);
    }
  });
});
