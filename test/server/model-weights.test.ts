// The server on a collection whose model got other weights in place (same folder, new files) since it was indexed.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { changeWeights, copyModel } from '../helpers/model-copy.js';
import { IMAGES, tempDir } from '../helpers/paths.js';
import { type RunningServer, startServer } from './harness.js';

async function upload(server: RunningServer, collection: string, name: string) {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(readFileSync(join(IMAGES, name)))]), name);
  const response = await fetch(`${server.base}/collections/${collection}/index`, {
    method: 'POST',
    body: form,
  });
  return { status: response.status, body: await response.json() };
}

describe('a collection indexed with weights its model no longer has, over HTTP', {
  skip: MINI_MISSING,
}, () => {
  const home = tempDir();
  const model = copyModel(MINI);
  after(() => {
    rmSync(home, { recursive: true, force: true });
    rmSync(model, { recursive: true, force: true });
  });

  test('search and upload answer 409 ENCODER_MISMATCH saying what happened and what to do', async () => {
    const before = await startServer({ model, workspace: { home } });
    try {
      const indexed = await upload(before, 'photos', 'photo.png');
      assert.equal(indexed.status, 200, JSON.stringify(indexed.body));
      const found = await before.call('POST', '/search', { collection: 'photos', text: 'a photo' });
      assert.equal(found.status, 200, JSON.stringify(found.body));
      assert.equal(found.body.hits.length, 1);
    } finally {
      await before.close();
    }

    changeWeights(join(model, 'clip'), 'vision_model');
    const server = await startServer({ model, workspace: { home } });
    try {
      const refusal =
        /^collection "photos" was indexed with other weights of .+ \([0-9a-f]{16}, now [0-9a-f]{16}\); re-index it into a new collection, or drop it \(xmodal collections drop photos --yes\)$/;
      const searched = await server.call('POST', '/search', { collection: 'photos', text: 'a photo' });
      assert.equal(searched.status, 409, JSON.stringify(searched.body));
      assert.equal(searched.body.error.code, 'ENCODER_MISMATCH');
      assert.match(searched.body.error.message, refusal);
      // Nothing is added next to the old vectors either.
      const added = await upload(server, 'photos', 'photo.jpg');
      assert.equal(added.status, 409, JSON.stringify(added.body));
      assert.equal(added.body.error.code, 'ENCODER_MISMATCH');
      assert.match(added.body.error.message, refusal);
    } finally {
      await server.close();
    }
  });
});
