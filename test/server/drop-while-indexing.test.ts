// DELETE /collections/:name while the collection is being indexed: the drop waits for the run, so the run is
// answered in full (never a 500 from a store closed under it) and no half-made collection is left behind.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { withIndexLock } from '../../src/tasks/collection-lock.js';
import { tempDir } from '../helpers/paths.js';
import { type RunningServer, startServer } from './harness.js';

const NOTES = 1500;

describe('dropping a collection while it is being indexed', () => {
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
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holder = withIndexLock({ home: server.home }, 'queued', async () => {
      locked();
      await held;
    });
    await isLocked;
    // The index request first, so that it is waiting when the DELETE comes; then both wait.
    const indexing = server.call('POST', '/collections/queued/index', { paths: [notes] });
    await sleep(300);
    const deleting = server.call('DELETE', '/collections/queued');
    await sleep(300);
    release();
    await holder;
    const [indexed, deleted] = await Promise.all([indexing, deleting]);
    assert.equal(indexed.status, 200, JSON.stringify(indexed.body));
    assert.deepEqual(indexed.body.failed, []);
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    // Whichever went first, the collection is either gone or holds every note: nothing half-made.
    const stats = await server.call('GET', '/collections/queued/stats');
    if (stats.status === 200) assert.equal(stats.body.items, NOTES);
    else assert.equal(stats.status, 404);
  });
});
