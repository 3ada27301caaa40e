import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { type RunningServer, startServer } from './harness.js';

describe('POST /collections/:name/index by server path', () => {
  const data = tempDir('xmodal-roots-');
  const root = join(data, 'root');
  const elsewhere = join(data, 'elsewhere');
  let server: RunningServer;

  before(async () => {
    mkdirSync(join(root, 'notes'), { recursive: true });
    mkdirSync(elsewhere);
    writeFileSync(join(root, 'notes', 'dogs.txt'), 'Dogs love long walks.\n');
    writeFileSync(join(elsewhere, 'secret.txt'), 'the password is swordfish\n');
    symlinkSync(elsewhere, join(root, 'secret-link'));
    symlinkSync('.', join(root, 'notes', 'loop'));
    for (let i = 0; i < 600; i++) writeFileSync(join(root, 'notes', `note-${i}.txt`), `note number ${i}\n`);
    server = await startServer({ indexRoots: [root] });
  });
  after(async () => {
    await server.close();
    rmSync(data, { recursive: true, force: true });
  });

  test('globs and walks through a link never index or serve a file outside the roots', async () => {
    for (const paths of [[`${root}/secret-link/*`], [`${root}/**`], [root]]) {
      const result = await server.call('POST', '/collections/c/index', { paths });
      assert.equal(result.status, 200, JSON.stringify(result.body));
      assert.ok(
        result.body.failed.every((f: { path: string }) => !f.path.startsWith(elsewhere)),
        'the outside file is not even named by its real path',
      );
    }
    const secretId = join(root, 'secret-link', 'secret.txt');
    const item = await server.call('GET', `/items/${encodeURIComponent(secretId)}?collection=c`);
    assert.equal(item.status, 404);
    const content = await server.call('GET', `/items/${encodeURIComponent(secretId)}/content?collection=c`);
    assert.equal(content.status, 404);
    const hits = await server.call('POST', '/search', { text: 'password', collection: 'c', k: 1000 });
    assert.ok(!JSON.stringify(hits.body).includes('swordfish'));
    // Each note once, however many loop/loop/... names lead to it.
    const stats = await server.call('GET', '/collections/c/stats');
    assert.equal(stats.body.items, 601);
  });

  test('an ingest stops when its client goes away', async () => {
    assert.equal((await server.call('POST', '/collections', { name: 'gone' })).status, 201);
    const controller = new AbortController();
    const request = fetch(`${server.base}/collections/gone/index`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ paths: [join(root, 'notes')] }),
      signal: controller.signal,
    }).catch((error: Error) => error);
    // Leave as soon as the first batch is written.
    for (;;) {
      const stats = await server.call('GET', '/collections/gone/stats');
      if (stats.body.items > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    controller.abort();
    assert.ok((await request) instanceof Error);
    // The server is free for other work, and the collection stopped growing short of all 601 notes.
    let last = -1;
    for (;;) {
      const { body } = await server.call('GET', '/collections/gone/stats');
      if (body.items === last) break;
      last = body.items;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(last < 601, `stopped at ${last} of 601`);
  });
});
