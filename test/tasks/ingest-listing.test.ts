// Before indexing, ingest lists what the collection already holds. The embedded store hands out whole pages
// without a turn of the event loop, so on a large collection that listing must give turns itself (a server
// keeps answering) and heed its signal (a server-side run whose client is gone stops there, not after it).
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ItemRecord, Store } from '../../src/store/store.js';
import { ingest } from '../../src/tasks/ingest.js';
import { type OpenCollection, openCollection } from '../../src/tasks/workspace.js';
import { TINY_CLIP, tempDir } from '../helpers/paths.js';

const HELD = 5_000;

/** The collection's real store, counting the records ingest pulls from its listing and telling each one. */
function countingStore(store: Store, onRecord: (pulled: number) => void): Store & { pulled: number } {
  const counted = {
    info: store.info,
    pulled: 0,
    upsert: (items) => store.upsert(items),
    delete: (ids) => store.delete(ids),
    get: (id) => store.get(id),
    search: (vector, options) => store.search(vector, options),
    count: (filter) => store.count(filter),
    close: () => store.close(),
    async *iterate(options) {
      for await (const record of store.iterate(options)) {
        counted.pulled++;
        onRecord(counted.pulled);
        yield record as ItemRecord;
      }
    },
  } satisfies Store & { pulled: number };
  return counted;
}

describe('listing a collection that already holds many items', () => {
  const home = tempDir('xmodal-listing-');
  const note = join(home, 'note.txt');
  let collection: OpenCollection;
  before(async () => {
    collection = await openCollection({ home }, 'big', { model: TINY_CLIP, create: true });
    const { dim } = collection.store.info;
    const items = Array.from({ length: HELD }, (_, i) => {
      const vector = new Float32Array(dim);
      vector[i % dim] = 1;
      vector[(i * 7 + 1) % dim] += 0.5;
      return { id: `/elsewhere/f${i}.txt#0`, uri: `/elsewhere/f${i}.txt`, modality: 'text' as const, vector };
    });
    await collection.store.upsert(items);
    writeFileSync(note, 'a short note about rivers');
  });
  after(async () => {
    await collection.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('other work gets turns of the event loop while the records are read', async () => {
    const store = countingStore(collection.store, () => {});
    const turnsAt: number[] = [];
    let running = true;
    const tick = () => {
      turnsAt.push(store.pulled);
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const report = await ingest({ ...collection, store }, { paths: [note] }).finally(() => {
      running = false;
    });
    assert.equal(report.indexed, 1);
    assert.ok(store.pulled >= HELD, `listed ${store.pulled} records`);
    const during = turnsAt.filter((pulled) => pulled > 0 && pulled < HELD);
    assert.ok(during.length > 0, `no turn between the first and the last of ${store.pulled} records`);
  });

  test('an aborted run stops during the listing and writes nothing', async () => {
    const controller = new AbortController();
    const store = countingStore(collection.store, (pulled) => {
      if (pulled === 100) controller.abort(new Error('client gone'));
    });
    const before = await collection.store.count();
    await assert.rejects(
      ingest({ ...collection, store }, { paths: [note], signal: controller.signal }),
      /client gone/,
    );
    assert.ok(
      store.pulled < HELD,
      `the listing went on to record ${store.pulled} of ${HELD} after the abort`,
    );
    assert.equal(await collection.store.count(), before);
  });
});
