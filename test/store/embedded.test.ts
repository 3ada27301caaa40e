// What only the embedded store promises: exact answers for selective filters, and an index SQLite can always rebuild.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { ITEMS_FILE, SqliteHnswStore } from '../../src/store/embedded/sqlite-hnsw-store.js';
import { listCollections, openStore } from '../../src/store/open.js';
import type { Filter, Item, OpenStoreOptions, Store } from '../../src/store/store.js';
import { finished } from '../helpers/child.js';
import { CRASH_BATCH, CRASH_OPTIONS, crashBatch } from './crash-data.js';
import { bruteForce, dotProduct, gaussian, normalised, prng, randomVector } from './reference.js';

const DIM = 32;
const homes: string[] = [];

function newHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'xmodal-embedded-'));
  homes.push(home);
  return home;
}

after(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

/** `n` vectors around 60 cluster centres; 1% carry the tag `rare`, every fourth is audio. */
function clustered(n: number, seed = 1): Item[] {
  const random = prng(seed);
  const centres = Array.from({ length: 60 }, () => randomVector(random, DIM));
  return Array.from({ length: n }, (_, i) => {
    const centre = centres[Math.floor(random() * centres.length)];
    const vector = centre.map((x) => x + 0.35 * gaussian(random));
    return {
      id: `v${i}`,
      vector,
      modality: i % 4 === 0 ? 'audio' : 'image',
      tags: i % 100 === 7 ? ['rare'] : ['common'],
    };
  });
}

async function openAt(home: string, extra: Partial<OpenStoreOptions> = {}): Promise<SqliteHnswStore> {
  const store = await openStore(home, { collection: 'main', dim: DIM, encoderId: 'enc', ...extra });
  assert.ok(store instanceof SqliteHnswStore);
  return store;
}

/** Each probed item's own vector must come back as the best hit (a wide beam: HNSW misses ~1 in 2,000 at 64). */
async function assertFindsThemselves(store: Store, items: readonly Item[]): Promise<void> {
  for (const item of items) {
    const [top] = await store.search(item.vector, { k: 1, ef: 256 });
    assert.equal(top?.id, item.id);
  }
}

/** None of the deleted items comes back, not even for its own vector. */
async function assertGone(store: Store, deleted: readonly Item[]): Promise<void> {
  const ids = new Set(deleted.map((item) => item.id));
  for (const item of deleted) {
    const hits = await store.search(item.vector, { k: 3 });
    assert.ok(!hits.some((h) => ids.has(h.id)), 'a deleted item came back');
  }
}

describe('embedded store: filtered search', () => {
  // 6,000 items: more than the default exactScanMax (4,096), so unfiltered queries go through the graph.
  const items = clustered(6000);
  let store: SqliteHnswStore;
  const queries = Array.from({ length: 20 }, (_, i) =>
    items[i * 97 + 3].vector.map((x, j) => x + 0.1 * Math.sin(i + j)),
  );

  it('a 1% filter returns exactly the exact-search top-k', async () => {
    store = await openAt(newHome());
    await store.upsert(items);
    const filter: Filter = { tagsAny: ['rare'] };
    assert.equal(await store.count(filter), 60);
    for (const query of queries) {
      const hits = await store.search(query, { k: 10, filter });
      const expected = bruteForce(items, query, 10, filter);
      assert.deepEqual(
        hits.map((h) => h.id),
        expected.map((e) => e.id),
      );
      for (const [i, hit] of hits.entries()) assert.ok(Math.abs(hit.score - expected[i].score) < 1e-5);
    }
  });

  it('a broad filter goes through the graph and keeps only matching items', async () => {
    const filter: Filter = { modality: 'image' };
    let found = 0;
    for (const query of queries) {
      const hits = await store.search(query, { k: 10, filter });
      assert.equal(hits.length, 10);
      assert.ok(hits.every((h) => h.modality === 'image'));
      const expected = new Set(bruteForce(items, query, 10, filter).map((e) => e.id));
      found += hits.filter((h) => expected.has(h.id)).length;
    }
    assert.ok(found / (10 * queries.length) >= 0.9, `recall ${found / (10 * queries.length)}`);
  });

  it('unfiltered search reaches recall@10 >= 0.95 with the default ef', async () => {
    let found = 0;
    for (const query of queries) {
      const hits = await store.search(query, { k: 10 });
      const expected = new Set(bruteForce(items, query, 10).map((e) => e.id));
      found += hits.filter((h) => expected.has(h.id)).length;
    }
    assert.ok(found / (10 * queries.length) >= 0.95, `recall ${found / (10 * queries.length)}`);
    await store.close();
  });

  for (const quantization of ['f16', 'i8'] as const) {
    it(`a ${quantization} index ranks by exact scores from the stored vectors`, async () => {
      const quantised = await openAt(newHome(), { quantization });
      await quantised.upsert(items);
      let found = 0;
      for (const query of queries.slice(0, 10)) {
        const hits = await quantised.search(query, { k: 10 });
        const expected = bruteForce(items, query, 10);
        const exactScore = new Map(expected.map((e) => [e.id, e.score]));
        for (const hit of hits) {
          if (!exactScore.has(hit.id)) continue;
          found++;
          assert.ok(Math.abs(hit.score - exactScore.get(hit.id)!) < 1e-5);
        }
        assert.deepEqual(
          hits.map((h) => h.score),
          hits.map((h) => h.score).sort((a, b) => b - a),
        );
      }
      assert.ok(found / 100 >= 0.9, `recall ${found / 100}`);
      await quantised.close();
    });
  }
});

describe('embedded store: hits', () => {
  it("a hit is the caller's: changing it changes nothing later searches return", async () => {
    const items = clustered(50, 4).map((item, i) => ({ ...item, uri: `file:///${i}.jpg`, meta: { n: i } }));
    const store = await openAt(newHome(), { exactScanMax: 0 });
    await store.upsert(items);
    const [hit] = await store.search(items[7].vector, { k: 1, ef: 256 });
    const expected = { ...hit, tags: [...hit.tags!], meta: { ...hit.meta } };
    hit.id = 'changed';
    hit.uri = 'file:///changed.jpg';
    hit.score = -1;
    // Tags and meta are shared with the store's record cache, so they are frozen rather than copied per hit.
    assert.throws(() => hit.tags!.push('changed'), TypeError);
    assert.throws(() => {
      hit.meta!.n = -1;
    }, TypeError);
    const [again] = await store.search(items[7].vector, { k: 1, ef: 256 });
    assert.deepEqual(again, expected);
    assert.equal(again.id, items[7].id);
    await store.close();
  });
});

describe('embedded store: the index is a cache of SQLite', () => {
  const items = clustered(600, 2);
  // exactScanMax 0: every search goes through the graph, so a missing or stale graph would show.
  const options = { exactScanMax: 0 };

  it('a deleted index file is rebuilt from SQLite on open', async () => {
    const home = newHome();
    const first = await openAt(home, options);
    await first.upsert(items);
    await first.close();
    const indexFile = join(home, 'main', 'index.usearch');
    rmSync(indexFile);
    const second = await openAt(home, options);
    assert.equal(second.indexOrigin, 'rebuilt');
    assert.ok(existsSync(indexFile));
    await assertFindsThemselves(second, items.slice(0, 50));
    await second.close();
  });

  it('an index saved before later writes (as after a crash) catches up with upserts and deletes', async () => {
    const home = newHome();
    const first = await openAt(home, options);
    await first.upsert(items.slice(0, 400));
    await first.close();
    // The second handle writes and is never closed, so its graph is never saved: what a crash leaves behind.
    const crashed = await openAt(home, options);
    await crashed.upsert(items.slice(400));
    const deleted = items.slice(0, 100).map((i) => i.id);
    await crashed.delete(deleted);

    const reopened = await openAt(home, options);
    assert.equal(reopened.indexOrigin, 'caught-up');
    await assertFindsThemselves(reopened, items.slice(400, 450));
    for (const item of items.slice(0, 100)) {
      const hits = await reopened.search(item.vector, { k: 5 });
      assert.ok(!hits.some((h) => deleted.includes(h.id)));
    }
    await reopened.close();
    await crashed.close();
  });

  it('an index whose sidecar lies about its generation is detected and rebuilt', async () => {
    const home = newHome();
    const dir = join(home, 'main');
    const first = await openAt(home, options);
    await first.upsert(items.slice(0, 300));
    await first.close();
    copyFileSync(join(dir, 'index.usearch'), join(home, 'old.usearch'));
    const second = await openAt(home, options);
    await second.upsert(items.slice(300));
    await second.close();
    // The old graph under the current sidecar: nothing says it is stale except that it disagrees with SQLite.
    copyFileSync(join(home, 'old.usearch'), join(dir, 'index.usearch'));
    const third = await openAt(home, options);
    assert.equal(third.indexOrigin, 'rebuilt');
    await assertFindsThemselves(third, items.slice(300, 350));
    await third.close();
  });

  it('an index built with other settings is rebuilt, not misread', async () => {
    const home = newHome();
    const first = await openAt(home, options);
    await first.upsert(items.slice(0, 100));
    await first.close();
    const sidecar = join(home, 'main', 'index.json');
    const before = readFileSync(sidecar, 'utf8');
    const second = await openAt(home, { ...options, quantization: 'f16' });
    assert.equal(second.indexOrigin, 'rebuilt');
    await second.close();
    assert.notEqual(readFileSync(sidecar, 'utf8'), before);
    writeFileSync(sidecar, 'not json');
    const third = await openAt(home, { ...options, quantization: 'f16' });
    assert.equal(third.indexOrigin, 'rebuilt');
    await assertFindsThemselves(third, items.slice(0, 20));
    await third.close();
  });
});

describe('embedded store: two handles on one collection (as two processes)', () => {
  it("each sees the other's upserts and deletes, even after the other saved and pruned its tombstones", async () => {
    const items = clustered(300, 3);
    const home = newHome();
    const options = { exactScanMax: 0 };
    const writer = await openAt(home, options);
    await writer.upsert(items.slice(0, 200));
    const reader = await openAt(home, options);
    await assertFindsThemselves(reader, items.slice(0, 10));
    await writer.upsert(items.slice(200));
    await writer.delete(items.slice(0, 50).map((i) => i.id));
    await writer.close();
    assert.equal(await reader.count(), 250);
    await assertFindsThemselves(reader, items.slice(200, 220));
    await assertGone(reader, items.slice(0, 50));
    await reader.close();
  });

  it("a handle opened through another path to the collection sees this process's writes at once", async () => {
    const items = clustered(300, 5);
    const home = newHome();
    const link = `${home}-link`;
    symlinkSync(home, link);
    homes.push(link);
    const options = { exactScanMax: 0 };
    const writer = await openAt(home, options);
    await writer.upsert(items.slice(0, 200));
    const reader = await openAt(link, options);
    await assertFindsThemselves(reader, items.slice(0, 10));
    // Well within the poll interval for other processes: only the in-process notice can make these visible.
    await writer.upsert(items.slice(200));
    await writer.delete(items.slice(0, 20).map((i) => i.id));
    await assertFindsThemselves(reader, items.slice(200, 220));
    await assertGone(reader, items.slice(0, 20));
    await reader.close();
    await writer.close();
  });
});

describe('embedded store: a collection another process is still creating', () => {
  it('is not listed until it is stamped, and opening it then creates it', async () => {
    const home = newHome();
    mkdirSync(join(home, 'main'));
    const file = join(home, 'main', ITEMS_FILE);
    // What another process leaves for a moment between creating the file and committing its stamp.
    writeFileSync(file, '');
    assert.deepEqual(await listCollections(home), [], 'an empty database file');
    const db = new Database(file);
    db.exec('CREATE TABLE collection (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    db.close();
    assert.deepEqual(await listCollections(home), [], 'a table without its stamp');
    const store = await openAt(home);
    await store.close();
    assert.deepEqual(
      (await listCollections(home)).map((c) => c.name),
      ['main'],
    );
  });
});

describe('embedded store: another process writing', () => {
  it('two processes writing one collection at once both finish, and every write is there', async () => {
    const home = newHome();
    const run = (first: number) =>
      finished(
        spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            fileURLToPath(new URL('./writer-child.ts', import.meta.url)),
            home,
            String(first),
            '60',
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        ),
      );
    const [a, b] = await Promise.all([run(0), run(60)]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const store = await openStore(home, CRASH_OPTIONS);
    try {
      // 120 batches of 40, every tenth deleted again
      assert.equal(await store.count(), 108 * CRASH_BATCH);
    } finally {
      await store.close();
    }
  });

  it("a search sees another process's acknowledged upsert once it looks (here: at every search)", async () => {
    const home = newHome();
    // Looking at every search instead of every 100 ms: what is tested is that a look finds the write, not a clock.
    const reader = await openStore(home, { ...CRASH_OPTIONS, otherProcessPollMs: 0 });
    assert.deepEqual(await reader.search(crashBatch(0)[0].vector, { k: 1 }), []);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./upsert-child.ts', import.meta.url)), home],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => child.on('exit', resolve));
    for await (const line of createInterface({ input: child.stdout })) {
      assert.equal(line, 'ack 0');
      child.kill('SIGKILL');
      break;
    }
    await exited;
    for (const item of crashBatch(0)) {
      const [top] = await reader.search(item.vector, { k: 1, ef: 256 });
      assert.equal(top?.id, item.id);
    }
    await reader.close();
  });
});

describe('embedded store: kill -9 mid-upsert', () => {
  it('loses nothing that was acknowledged', async () => {
    const home = newHome();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./upsert-child.ts', import.meta.url)), home],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const acked: number[] = [];
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    for await (const line of createInterface({ input: child.stdout })) {
      acked.push(Number(line.split(' ')[1]));
      // Enough batches for several index saves; then kill without warning, wherever it is.
      if (acked.length === 25) child.kill('SIGKILL');
    }
    assert.equal(await exited, 'SIGKILL');
    assert.ok(acked.length >= 25);
    assert.ok(
      statSync(join(home, 'crash', 'index.json')).isFile(),
      'the child saved its index at least once',
    );

    const store = await openStore(home, CRASH_OPTIONS);
    const count = await store.count();
    assert.equal(count % CRASH_BATCH, 0, 'a batch is all there or not at all');
    assert.ok(count >= acked.length * CRASH_BATCH);
    for (const batch of acked) {
      const items = crashBatch(batch);
      for (const item of items) {
        const got = await store.get(item.id);
        assert.ok(got, `${item.id} was acknowledged`);
        assert.deepEqual(Array.from(got.vector), Array.from(normalised(item.vector)));
      }
      const [top] = await store.search(items[batch % CRASH_BATCH].vector, { k: 1, ef: 256 });
      assert.equal(top.id, items[batch % CRASH_BATCH].id);
      assert.ok(
        Math.abs(top.score - dotProduct(normalised(items[0].vector), normalised(items[0].vector))) < 1e-5,
      );
    }
    await store.close();
  });
});
