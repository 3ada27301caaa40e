// Vector store benchmark: embedded store vs raw usearch HNSW (same M / efConstruction / ef) vs exact scan,
// plus pgvector through PGlite. Usage: npx tsx bench/store.ts [--quick]
// The last line is `RESULT store recall10=<x> qps_ratio=<embedded store QPS / raw HNSW QPS at the same ef>`, the
// raw QPS being bare usearch calls on the store's own graph (see below).
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import usearch, { type BatchMatches, type Matches } from 'usearch';
import type { SqliteHnswStore } from '../src/store/embedded/sqlite-hnsw-store.js';
import { openStore } from '../src/store/open.js';
import type { Filter, Item, Store } from '../src/store/store.js';
import { efForRecall } from '../src/store/validate.js';
import { startPgliteServer } from '../test/store/pglite-server.js';
import { gaussian, prng } from '../test/store/reference.js';

const quick = process.argv.includes('--quick');
const N = quick ? 20_000 : 100_000;
const DIM = 512;
const CLUSTERS = quick ? 200 : 1000;
const QUERIES = 1000;
const K = 10;
const M = 16;
const EF_CONSTRUCTION = 200;
const EF = efForRecall(0.95);
const EF_SWEEP = [EF, 128];
const PG_N = quick ? 2000 : 10_000;
const PG_QUERIES = quick ? 100 : 200;

interface Row {
  method: string;
  n: number;
  ef: number | '';
  buildS: number | '';
  diskMB: number | '';
  rssMB: number | '';
  qps: number;
  recall: number;
}
const rows: Row[] = [];
const log = (message: string) => process.stderr.write(`${message}\n`);

function normaliseInPlace(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < v.length; i++) v[i] *= scale;
  return v;
}

/** `count` L2-normalised vectors drawn around `centres`, as one flat array. */
function clustered(
  random: () => number,
  centres: Float32Array[],
  count: number,
  spread: number,
): Float32Array {
  const flat = new Float32Array(count * DIM);
  for (let i = 0; i < count; i++) {
    const centre = centres[Math.floor(random() * centres.length)];
    const row = flat.subarray(i * DIM, (i + 1) * DIM);
    for (let j = 0; j < DIM; j++) row[j] = centre[j] + spread * gaussian(random);
    normaliseInPlace(row);
  }
  return flat;
}

const row = (flat: Float32Array, i: number) => flat.subarray(i * DIM, (i + 1) * DIM);

/** Exact top-k ids per query (usearch's brute force, all cores). */
function groundTruth(data: Float32Array, queries: Float32Array, k: number): BigUint64Array[] {
  const nq = queries.length / DIM;
  const result = usearch.exactSearch(data, queries, DIM, k, usearch.MetricKind.IP, 0) as BatchMatches;
  return Array.from({ length: nq }, (_, q) => result.get(q).keys);
}

function recallAt(found: readonly (readonly bigint[])[], truth: readonly BigUint64Array[]): number {
  let hit = 0;
  found.forEach((ids, q) => {
    const expected = new Set(truth[q]);
    hit += ids.filter((id) => expected.has(id)).length;
  });
  return hit / (found.length * K);
}

const rssMB = () => Math.round(process.memoryUsage().rss / 2 ** 20);

function dirBytes(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, entry.name);
    total += entry.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}

function itemFor(flat: Float32Array, i: number): Item {
  return {
    id: String(i),
    vector: row(flat, i),
    modality: i % 3 === 0 ? 'image' : 'text',
    uri: `file:///corpus/${i % 100}/${i}.jpg`,
    contentHash: `sha256:${i.toString(16).padStart(16, '0')}`,
    tags: i % 100 === 0 ? ['rare', 'photo'] : ['photo'],
    meta: { width: 640, source: 'bench' },
  };
}

async function timeQueries(nq: number, search: (q: number) => Promise<bigint[]> | bigint[]) {
  const found: bigint[][] = [];
  const start = performance.now();
  for (let q = 0; q < nq; q++) found.push(await search(q));
  return { qps: nq / ((performance.now() - start) / 1000), found };
}

/** A method's own call, timed, and how to read ids from its answer, untimed: the bench's bookkeeping is no one's cost. */
interface Searcher<T = unknown> {
  search: (q: number) => Promise<T> | T;
  ids: (answer: T) => bigint[];
}
const searcher = <T>(search: (q: number) => Promise<T> | T, ids: (answer: T) => bigint[]): Searcher =>
  ({ search, ids }) as Searcher;

/** Every order of 0..n-1. */
function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((order) =>
    Array.from({ length: n }, (_, at) => [...order.slice(0, at), n - 1, ...order.slice(at)]),
  );
}

/**
 * QPS of searchers over the same queries, taking turns on blocks; each block's best of one round per turn order.
 * Every order, not a rotation: a searcher running a block right after another on the same graph finds it in the CPU
 * caches (~7% faster), and a rotation always puts the same searcher second.
 */
async function alternate(searchers: Searcher[]): Promise<{ qps: number; found: bigint[][] }[]> {
  const BLOCK = 50;
  const blocks = Math.ceil(QUERIES / BLOCK);
  const orders = permutations(searchers.length);
  const best = searchers.map(() => new Array<number>(blocks).fill(Number.POSITIVE_INFINITY));
  const answers = searchers.map(() => [] as unknown[]);
  for (let round = 0; round < orders.length; round++) {
    for (let block = 0; block < blocks; block++) {
      for (const which of orders[(round + block) % orders.length]) {
        const start = performance.now();
        for (let q = block * BLOCK; q < Math.min(QUERIES, (block + 1) * BLOCK); q++) {
          const answer = await searchers[which].search(q);
          if (round === 0) answers[which][q] = answer;
        }
        best[which][block] = Math.min(best[which][block], performance.now() - start);
      }
    }
  }
  return best.map((times, i) => ({
    qps: QUERIES / (times.reduce((x, y) => x + y, 0) / 1000),
    found: answers[i].map(searchers[i].ids),
  }));
}

async function main(): Promise<void> {
  const random = prng(2024);
  const centres = Array.from({ length: CLUSTERS }, () =>
    normaliseInPlace(Float32Array.from({ length: DIM }, () => gaussian(random))),
  );
  const spread = 1.2 / Math.sqrt(DIM);
  let t = performance.now();
  const data = clustered(random, centres, N, spread);
  const queries = clustered(random, centres, QUERIES, spread);
  const truth = groundTruth(data, queries, K);
  log(
    `data ${N}x${DIM}, ${CLUSTERS} clusters, ${QUERIES} queries, ground truth in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  const home = mkdtempSync(join(tmpdir(), 'xmodal-bench-store-'));
  try {
    // Exact scan: one query at a time, one thread.
    const exactQueries = quick ? 100 : 50;
    const exact = await timeQueries(exactQueries, (q) => [
      // exactSearch reads a subarray from the start of its buffer, so the query gets its own copy.
      ...(usearch.exactSearch(data, row(queries, q).slice(), DIM, K, usearch.MetricKind.IP, 1) as Matches)
        .keys,
    ]);
    rows.push({
      method: 'exact scan (usearch SIMD, 1 thread)',
      n: N,
      ef: '',
      buildS: '',
      diskMB: '',
      rssMB: rssMB(),
      qps: exact.qps,
      recall: recallAt(exact.found, truth),
    });

    // Raw usearch with the store's settings.
    let rss0 = rssMB();
    t = performance.now();
    const raw = new usearch.Index({
      dimensions: DIM,
      metric: usearch.MetricKind.IP,
      quantization: usearch.ScalarKind.F32,
      connectivity: M,
      expansion_add: EF_CONSTRUCTION,
      expansion_search: EF,
      multi: false,
    });
    const keys = BigUint64Array.from({ length: N }, (_, i) => BigInt(i));
    const BATCH = 1000;
    for (let start = 0; start < N; start += BATCH) {
      raw.add(keys.subarray(start, start + BATCH), data.subarray(start * DIM, (start + BATCH) * DIM), 1);
    }
    const rawBuild = (performance.now() - t) / 1000;
    raw.save(join(home, 'raw.usearch'));
    const rawDisk = statSync(join(home, 'raw.usearch')).size;
    const rawRss = rssMB() - rss0;
    log(`raw usearch built in ${rawBuild.toFixed(1)} s`);

    // Embedded store, same M / efConstruction, same items with metadata.
    rss0 = rssMB();
    t = performance.now();
    let store: Store = await openStore(home, {
      collection: 'bench',
      dim: DIM,
      encoderId: 'bench',
      hnsw: { m: M, efConstruction: EF_CONSTRUCTION },
    });
    for (let start = 0; start < N; start += BATCH) {
      await store.upsert(
        Array.from({ length: Math.min(BATCH, N - start) }, (_, j) => itemFor(data, start + j)),
      );
    }
    await store.close();
    const storeBuild = (performance.now() - t) / 1000;
    t = performance.now();
    store = await openStore(home, {
      collection: 'bench',
      dim: DIM,
      encoderId: 'bench',
      hnsw: { m: M, efConstruction: EF_CONSTRUCTION },
    });
    const reopenS = (performance.now() - t) / 1000;
    const storeDisk = dirBytes(join(home, 'bench'));
    const storeRss = rssMB() - rss0;
    log(
      `embedded store built in ${storeBuild.toFixed(1)} s (upsert + sqlite + index save), reopened in ${reopenS.toFixed(2)} s`,
    );

    // Three searchers take turns on blocks of 50 queries so a busy neighbour slows all alike: the raw index built
    // here with the same M / efConstruction / ef, the store, and bare usearch calls on the store's own graph. Two
    // copies of one index file differ by up to ~15% in QPS on a busy box (memory placement), which swamps what
    // metadata costs; so the RESULT ratio is the conservative one, store vs bare calls on the very same graph.
    const sameGraph = (store as SqliteHnswStore).hnswIndex;
    let ratioAtEf = 0;
    let storeRecallAtEf = 0;
    for (const ef of EF_SWEEP) {
      // At the index's own expansion (EF) ask for K; otherwise ask for ef results, which widens the beam to ef.
      const wanted = ef === EF ? K : ef;
      const rawSearch = searcher(
        (q) => raw.search(row(queries, q), wanted, 1),
        (m) => [...m.keys.subarray(0, K)],
      );
      // The store's keys are SQLite rowids: 1-based in insertion order here, so key - 1 is the vector's index.
      const sameGraphSearch = searcher(
        (q) => sameGraph.search(row(queries, q), wanted, 1),
        (m) => Array.from(m.keys.subarray(0, K), (key) => key - 1n),
      );
      const storeSearch = searcher(
        (q) => store.search(row(queries, q), { k: K, ef }),
        (hits) => hits.map((h) => BigInt(h.id)),
      );
      const [rawTimed, storeTimed, sameTimed] = await alternate([rawSearch, storeSearch, sameGraphSearch]);
      const common = { n: N, ef };
      rows.push({
        method: 'raw usearch HNSW (own build)',
        ...common,
        buildS: rawBuild,
        diskMB: rawDisk / 2 ** 20,
        rssMB: rawRss,
        qps: rawTimed.qps,
        recall: recallAt(rawTimed.found, truth),
      });
      rows.push({
        method: "raw usearch on the store's graph",
        ...common,
        buildS: '',
        diskMB: '',
        rssMB: '',
        qps: sameTimed.qps,
        recall: recallAt(sameTimed.found, truth),
      });
      const storeRecall = recallAt(storeTimed.found, truth);
      rows.push({
        method: 'embedded store (sqlite + usearch)',
        ...common,
        buildS: storeBuild,
        diskMB: storeDisk / 2 ** 20,
        rssMB: storeRss,
        qps: storeTimed.qps,
        recall: storeRecall,
      });
      log(
        `ef ${ef}: store/raw same graph ${(storeTimed.qps / sameTimed.qps).toFixed(3)}, store/raw own build ${(storeTimed.qps / rawTimed.qps).toFixed(3)}`,
      );
      if (ef === EF) {
        ratioAtEf = storeTimed.qps / sameTimed.qps;
        storeRecallAtEf = storeRecall;
      }
    }

    // A 1% filter (tag `rare`): answered by exact scan over the matching rows; recall against filtered brute force.
    const filter: Filter = { tagsAll: ['rare'] };
    const rareIds = Array.from({ length: Math.ceil(N / 100) }, (_, i) => i * 100);
    const rare = new Float32Array(rareIds.length * DIM);
    for (const [i, id] of rareIds.entries()) rare.set(row(data, id), i * DIM);
    const filteredQueries = 200;
    const rareTruth = groundTruth(rare, queries.subarray(0, filteredQueries * DIM), K).map((ks) =>
      BigUint64Array.from(ks, (k) => BigInt(rareIds[Number(k)])),
    );
    const filtered = await timeQueries(filteredQueries, async (q) =>
      (await store.search(row(queries, q), { k: K, filter })).map((h) => BigInt(h.id)),
    );
    rows.push({
      method: 'embedded store, 1% filter',
      n: N,
      ef: '',
      buildS: '',
      diskMB: '',
      rssMB: rssMB(),
      qps: filtered.qps,
      recall: recallAt(filtered.found, rareTruth),
    });
    await store.close();

    await benchPgvector(data, queries);

    printTable();
    console.log(`RESULT store recall10=${storeRecallAtEf.toFixed(4)} qps_ratio=${ratioAtEf.toFixed(3)}`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** pgvector through PGlite's socket server and the ordinary `pg` client, on the first PG_N vectors. */
async function benchPgvector(data: Float32Array, queries: Float32Array): Promise<void> {
  const server = await startPgliteServer();
  try {
    const subset = data.subarray(0, PG_N * DIM);
    const truth = groundTruth(subset, queries.subarray(0, PG_QUERIES * DIM), K);
    const rss0 = rssMB();
    const options = {
      collection: 'bench',
      dim: DIM,
      encoderId: 'bench',
      exactScanMax: 0,
      hnsw: { m: M, efConstruction: EF_CONSTRUCTION },
    };
    let t = performance.now();
    const store = await openStore(server.url, options);
    for (let start = 0; start < PG_N; start += 500) {
      await store.upsert(
        Array.from({ length: Math.min(500, PG_N - start) }, (_, j) => itemFor(subset, start + j)),
      );
    }
    const build = (performance.now() - t) / 1000;
    log(`pgvector (PGlite) built ${PG_N} in ${build.toFixed(1)} s`);
    t = performance.now();
    const result = await timeQueries(PG_QUERIES, async (q) =>
      (await store.search(row(queries, q), { k: K, ef: EF })).map((h) => BigInt(h.id)),
    );
    const sizes = await server.db.query<{ bytes: number }>(
      "SELECT pg_total_relation_size('xm_bench') AS bytes",
    );
    rows.push({
      method: 'pgvector via PGlite (wire protocol)',
      n: PG_N,
      ef: EF,
      buildS: build,
      diskMB: Number(sizes.rows[0].bytes) / 2 ** 20,
      rssMB: rssMB() - rss0,
      qps: result.qps,
      recall: recallAt(result.found, truth),
    });
    await store.close();
  } finally {
    await server.stop();
  }
}

function printTable(): void {
  const header = ['method', 'n', 'ef', 'build s', 'disk MB', 'RSS +MB', 'QPS', 'recall@10'];
  const cells = rows.map((r) => [
    r.method,
    String(r.n),
    String(r.ef),
    r.buildS === '' ? '' : r.buildS.toFixed(1),
    r.diskMB === '' ? '' : r.diskMB.toFixed(1),
    String(r.rssMB),
    r.qps.toFixed(0),
    r.recall.toFixed(4),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
  console.log(line(header));
  for (const c of cells) console.log(line(c));
  console.log(
    `(${quick ? 'quick' : 'full'} run; queries one at a time on one thread; builds on one thread, as the store does; RSS +MB: process growth while building)`,
  );
}

await main();
