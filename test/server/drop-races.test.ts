// DELETE /collections/:name while the collection is in use: the drop waits for an indexing run and for requests
// working on it, so each is answered in full (never a 500 from a store closed under it), later ones find no
// collection, and no half-made collection is left behind.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectionSummaries } from '../../src/tasks/collection-summaries.js';
import { holdCollectionLock } from '../helpers/held-lock.js';
import { tempDir } from '../helpers/paths.js';
import { type RunningServer, startServer } from './harness.js';

const NOTES = 1500;

describe('dropping a collection while it is in use', () => {
  const root = tempDir('xmodal-drop-race-');
  const notes = join(root, 'notes');
  let server: RunningServer;
  before(async () => {
    mkdirSync(notes);
    for (let i = 0; i < NOTES; i++)
      writeFileSync(join(notes, `note-${i}.txt`), `note ${i}: a cat, a dog and ${i * 7} apples\n`);
    server = await startServer({ indexRoots: [root] });
  });
  after(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('DELETE during an index run waits for it: the run indexes every file, then the collection is gone', async () => {
    const indexing = server.call('POST', '/collections/busy/index', { paths: [notes] });
    // Drop once the run has written some items, i.e. while it is still going.
    for (;;) {
      const stats = await server.call('GET', '/collections/busy/stats');
      if (stats.status === 200 && stats.body.items > 0) break;
      await sleep(10);
    }
    const deleted = await server.call('DELETE', '/collections/busy');
    const indexed = await indexing;
    assert.equal(indexed.status, 200, JSON.stringify(indexed.body));
    assert.equal(indexed.body.indexed, NOTES);
    assert.deepEqual(indexed.body.failed, []);
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.equal((await server.call('GET', '/collections/busy/stats')).status, 404);
  });

  test('an index and a DELETE both waiting on a run elsewhere: each is answered, and the result is whole', async () => {
    const first = await server.call('POST', '/collections/queued/index', {
      paths: [join(notes, 'note-0.txt')],
    });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    // Another process indexing 'queued' holds its lock until released.
    const lock = await holdCollectionLock({ home: server.home }, 'queued');
    // The index request first, so that it is waiting when the DELETE comes; then both wait.
    const indexing = server.call('POST', '/collections/queued/index', { paths: [notes] });
    await sleep(300);
    const deleting = server.call('DELETE', '/collections/queued');
    await sleep(300);
    await lock.release();
    const [indexed, deleted] = await Promise.all([indexing, deleting]);
    assert.equal(indexed.status, 200, JSON.stringify(indexed.body));
    assert.deepEqual(indexed.body.failed, []);
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    // Whichever went first, the collection is either gone or holds every note: nothing half-made.
    const stats = await server.call('GET', '/collections/queued/stats');
    if (stats.status === 200) assert.equal(stats.body.items, NOTES);
    else assert.equal(stats.status, 404);
  });

  test('searches running while a DELETE comes are answered 200 or 404, never with a closed store', async () => {
    const some = Array.from({ length: 50 }, (_, i) => join(notes, `note-${i}.txt`));
    const answers = new Map<string, number>();
    for (let round = 0; round < 5; round++) {
      const indexed = await server.call('POST', '/collections/searched/index', { paths: some });
      assert.equal(indexed.status, 200, JSON.stringify(indexed.body));
      let dropped = false;
      const searching = (async () => {
        for (let n = 0; !dropped || n < 1; n++) {
          const found = await Promise.all(
            Array.from({ length: 4 }, () =>
              server.call('POST', '/search', { collection: 'searched', text: 'a cat', k: 5 }),
            ),
          );
          for (const r of found) {
            const key = `${r.status} ${r.body?.error?.code ?? ''}`;
            answers.set(key, (answers.get(key) ?? 0) + 1);
          }
        }
      })();
      await sleep(30);
      const deleted = await server.call('DELETE', '/collections/searched');
      dropped = true;
      await searching;
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    }
    const statuses = [...answers.keys()].sort();
    assert.ok(
      statuses.every((s) => s === '200 ' || s === '404 NOT_FOUND'),
      JSON.stringify(Object.fromEntries(answers)),
    );
    assert.ok(
      answers.has('200 ') && answers.has('404 NOT_FOUND'),
      JSON.stringify(Object.fromEntries(answers)),
    );
    // Indexed again, the collection is written where it is stored (not into a copy a search reopened mid-drop).
    const again = await server.call('POST', '/collections/searched/index', { paths: some });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const onDisk = (await collectionSummaries({ home: server.home })).find((c) => c.name === 'searched');
    assert.equal(onDisk?.items, some.length);
  });

  test('an upload waiting to be indexed while a DELETE also waits is never lost: indexed, then dropped or kept', async () => {
    for (let round = 0; round < 6; round++) {
      const name = `uploaded-${round}`;
      const first = await server.call('POST', `/collections/${name}/index`, {
        paths: [join(notes, 'note-1.txt')],
      });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const lock = await holdCollectionLock({ home: server.home }, name);
      const form = new FormData();
      form.append('file', new Blob([`an uploaded note, round ${round}`]), 'upload.txt');
      const uploading = fetch(`${server.base}/collections/${name}/index`, {
        method: 'POST',
        body: form,
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
      await sleep(200);
      const deleting = server.call('DELETE', `/collections/${name}`);
      // Released at a different point of the waiting runs' polling each round, so either may go first.
      await sleep(200 + round * 45);
      await lock.release();
      const [uploaded, deleted] = await Promise.all([uploading, deleting]);
      assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
      assert.deepEqual(uploaded.body.failed, [], 'the uploaded file was there to index');
      assert.equal(uploaded.body.indexed, 1);
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
      const stats = await server.call('GET', `/collections/${name}/stats`);
      // 404: dropped after the upload was indexed; else indexed again after the drop.
      if (stats.status !== 404) {
        assert.equal(stats.body.items, 1, 'only the upload, indexed after the drop');
        const found = await server.call('POST', '/search', {
          collection: name,
          text: 'an uploaded note',
          k: 1,
        });
        const content = await fetch(`${server.base}${found.body.hits[0].content}`);
        assert.equal(await content.text(), `an uploaded note, round ${round}`);
      }
    }
  });
});
