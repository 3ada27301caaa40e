// A database made before collections saved their encoder spec: it lists, opens and is migrated in place.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { listCollections, openStore } from '../../../src/store/open.js';
import type { EncoderSpec } from '../../../src/types.js';
import { type PgliteServer, startPgliteServer } from '../pglite-server.js';

let server: PgliteServer;
before(async () => {
  server = await startPgliteServer();
});
after(() => server.stop());

test('a collections table without the encoder column gains it, and the old collection its spec', async () => {
  const old = await openStore(server.url, { collection: 'old', dim: 4, encoderId: 'tiny' });
  await old.upsert([{ id: 'a', vector: Float32Array.of(1, 0, 0, 0), modality: 'text' }]);
  await old.close();
  // What the table looked like before specs were saved.
  await server.db.exec('ALTER TABLE xmodal_collections DROP COLUMN encoder');

  assert.deepEqual(await listCollections(server.url), [
    { name: 'old', dim: 4, metric: 'cosine', encoderId: 'tiny' },
  ]);
  const spec: EncoderSpec = { model: 'tiny', dtype: 'q8', logitScale: 50, dim: 4 };
  const reopened = await openStore(server.url, {
    collection: 'old',
    dim: 4,
    encoderId: 'tiny',
    encoder: spec,
  });
  assert.deepEqual(reopened.info.encoder, spec);
  assert.equal((await reopened.search(Float32Array.of(1, 0, 0, 0), { k: 1 }))[0].id, 'a');
  await reopened.close();
  assert.deepEqual((await listCollections(server.url))[0].encoder, spec);
});
