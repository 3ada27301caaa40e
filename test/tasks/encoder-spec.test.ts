import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadEncoder } from '../../src/encoders/load.js';
import { listCollections, openStore } from '../../src/store/open.js';
import { openCollection, storeLocation } from '../../src/tasks/workspace.js';
import { IMAGES, TINY_CLIP, tempDir } from '../helpers/paths.js';

const home = tempDir();
after(() => rmSync(home, { recursive: true, force: true }));
const photo = join(IMAGES, 'photo.png');

test('a collection made before specs were saved opens, and is stamped with the spec it was searched with', async () => {
  // What an older xmodal wrote: a collection stamped with the model id only.
  const encoder = await loadEncoder(TINY_CLIP);
  const [vector] = await encoder.embedImages([photo]);
  const legacy = await openStore(storeLocation({ home }), {
    collection: 'legacy',
    dim: encoder.dim,
    encoderId: encoder.id,
  });
  await legacy.upsert([{ id: photo, vector, modality: 'image', uri: photo }]);
  await legacy.close();
  await encoder.dispose();

  const opened = await openCollection({ home }, 'legacy');
  try {
    assert.deepEqual(opened.info.encoder, { model: TINY_CLIP, dtype: 'fp32', logitScale: 100, dim: 32 });
    const [hit] = await opened.store.search((await opened.encoder.embedImages([photo]))[0], { k: 1 });
    assert.equal(hit.id, photo);
    assert.ok(hit.score > 0.99999);
  } finally {
    await opened.close();
  }
  const [listed] = await listCollections(storeLocation({ home }));
  assert.equal(listed.encoder?.dtype, 'fp32');
});

test('the saved spec is what reopens: dtype and logit scale come from the collection, not the model files', async () => {
  const created = await openCollection({ home }, 'q8', {
    model: TINY_CLIP,
    create: true,
    encoder: { dtype: 'q8', logitScale: 33 },
  });
  await created.close();
  const reopened = await openCollection({ home }, 'q8');
  try {
    const { weights, ...spec } = reopened.encoder.spec;
    assert.deepEqual(spec, { model: TINY_CLIP, dtype: 'q8', logitScale: 33, dim: 32 });
    assert.equal(weights, created.info.encoder?.weights);
  } finally {
    await reopened.close();
  }
  await assert.rejects(openCollection({ home }, 'q8', { encoder: { dtype: 'fp16' } }), {
    code: 'ENCODER_MISMATCH',
    message: /indexed with q8 weights, not fp16/,
  });
});
