// A server on a shared store (PostgreSQL here) while another process drops a collection it has open, and maybe
// makes it anew with another model: the server must answer 404, then serve the new collection with its own
// model, never write the old model's vectors into it.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dropCollection, openCollection } from '../../src/index.js';
import { IMAGES, TINY_SIGLIP, tempDir } from '../helpers/paths.js';
import { type PgliteServer, startPgliteServer } from '../store/pglite-server.js';
import { type RunningServer, startServer } from './harness.js';

describe('a collection dropped by another process while the server has it open', () => {
  let pg: PgliteServer;
  let server: RunningServer;
  let home: string;
  before(async () => {
    pg = await startPgliteServer();
    home = tempDir('xmodal-server-');
    server = await startServer({ workspace: { home, store: pg.url } });
  });
  after(async () => {
    await server.close();
    await pg.stop();
    rmSync(home, { recursive: true, force: true });
  });

  async function upload(file: string) {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(readFileSync(join(IMAGES, file)))]), file);
    const response = await fetch(`${server.base}/collections/shared/index`, { method: 'POST', body: form });
    return { status: response.status, body: await response.json() };
  }

  test('is 404 to the server, and made anew with another model it is searched and written with that model', async () => {
    assert.equal((await upload('photo.png')).status, 200);
    assert.equal(
      (await server.call('POST', '/search', { text: 'a photo', collection: 'shared' })).status,
      200,
    );

    assert.equal(await dropCollection('shared', { home, store: pg.url }), true);
    for (const [method, path, body] of [
      ['POST', '/search', { text: 'a photo', collection: 'shared' }],
      ['GET', '/collections/shared/stats', undefined],
    ] as const) {
      const gone = await server.call(method, path, body);
      assert.equal(gone.status, 404, `${path}: ${JSON.stringify(gone.body)}`);
      assert.equal(gone.body.error.code, 'NOT_FOUND');
    }

    const remade = await openCollection('shared', { home, store: pg.url, model: TINY_SIGLIP });
    try {
      await remade.index([join(IMAGES, 'photo.jpg')]);
      const found = await server.call('POST', '/search', { text: 'a photo', collection: 'shared' });
      assert.equal(found.status, 200, JSON.stringify(found.body));
      assert.deepEqual(
        found.body.hits.map((h: { uri: string }) => h.uri),
        [join(IMAGES, 'photo.jpg')],
      );
      const indexed = await upload('photo.webp');
      assert.equal(indexed.status, 200, JSON.stringify(indexed.body));
      // Written with the collection's own model: the new model finds it as itself.
      const { results } = await remade.search({
        image: new Uint8Array(readFileSync(join(IMAGES, 'photo.webp'))),
        k: 1,
      });
      assert.match(results[0].uri ?? '', /photo\.webp$/);
      assert.ok(results[0].score > 0.999, `score ${results[0].score}: embedded by another model`);
    } finally {
      await remade.close();
    }
  });
});
