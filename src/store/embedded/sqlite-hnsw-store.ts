// The embedded Store: SQLite (WAL) holds the truth, a usearch HNSW graph answers nearest-neighbour queries.
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, xmodalError } from '../../errors.js';
import type {
  CollectionInfo,
  Filter,
  Item,
  ItemRecord,
  IterateOptions,
  SearchHit,
  SearchOptions,
  Store,
} from '../store.js';
import {
  checkIds,
  checkSearchOptions,
  checkStamp,
  type NormalisedFilter,
  normaliseFilter,
  prepareItems,
  prepareVector,
  type ResolvedOptions,
} from '../validate.js';
import { AnnIndex, type AnnOrigin } from './ann-index.js';
import { exactTopK, type ScoredKey } from './exact-scan.js';
import { ItemsDb } from './items-db.js';
import { RecordCache } from './record-cache.js';

export const ITEMS_FILE = 'items.sqlite';
/**
 * Searches look at SQLite for other processes' writes at most this often. A look is a read transaction (lock
 * syscalls): ~10-15 µs right after a search has filled the CPU caches, ~4% of a 20k-item query if done every time.
 */
export const OTHER_PROCESS_POLL_MS = 100;
/** Writes by any handle in this process, per collection file (`fileKey`: every path to it agrees). */
const writesInProcess = new Map<string, number>();
/**
 * Which file a path holds: device, inode and birth time. A file made once another is deleted and closed often gets
 * its inode (ext4: every time), never its birth time (0 where the file system keeps none), so a collection made
 * anew is never taken for a dropped one.
 */
function fileKey(info: { dev: bigint; ino: bigint; birthtimeNs: bigint }): string {
  return `${info.dev}:${info.ino}:${info.birthtimeNs}`;
}

/** Collection files dropped by this process (`fileKey`): its open handles know at once, others on their poll. */
const droppedInProcess = new Set<string>();

/** Called before a collection's files are deleted, so that handles open in this process refuse it at once. */
export function markDropped(itemsFile: string): void {
  const info = statSync(itemsFile, { bigint: true, throwIfNoEntry: false });
  if (info) droppedInProcess.add(fileKey(info));
}

export interface EmbeddedOptions {
  /** Save the ANN index after this many changed keys; default a fifth of the index, at least 10,000. */
  indexSaveEvery?: number;
  /** How often searches look for other processes' writes, in milliseconds; default OTHER_PROCESS_POLL_MS, 0 = every search. */
  otherProcessPollMs?: number;
}

export class SqliteHnswStore implements Store {
  readonly info: CollectionInfo;
  readonly #db: ItemsDb;
  readonly #ann: AnnIndex;
  readonly #records: RecordCache;
  readonly #options: ResolvedOptions & EmbeddedOptions;
  #closed = false;
  /** The SQLite generation the graph and record cache were last brought up to. */
  #synced = -1;
  /** The items file's key in writesInProcess (see `fileKey`). */
  readonly #file: string;
  readonly #path: string;
  #seenWrites = -1;
  #polledAt = 0;
  #storedCheckedAt = 0;
  /** Scratch space for the normalised query: search runs synchronously, so one per store is enough. */
  readonly #query: Float32Array;

  private constructor(file: string, db: ItemsDb, ann: AnnIndex, options: ResolvedOptions & EmbeddedOptions) {
    this.#file = fileKey(statSync(file, { bigint: true }));
    this.#path = file;
    this.info = db.info;
    this.#db = db;
    this.#ann = ann;
    this.#records = new RecordCache(db);
    this.#query = new Float32Array(db.info.dim);
    this.#options = options;
  }

  /** Opens `<home>/<collection>/`, creating it when new; the index is loaded, caught up or rebuilt from SQLite. */
  static open(home: string, options: ResolvedOptions & EmbeddedOptions): SqliteHnswStore {
    const dir = join(home, options.info.name);
    mkdirSync(dir, { recursive: true });
    const db = ItemsDb.open(join(dir, ITEMS_FILE), options.info, (existing) =>
      checkStamp(existing, options.info),
    );
    try {
      const ann = AnnIndex.open(
        dir,
        {
          dim: db.info.dim,
          metric: db.info.metric,
          quantization: options.quantization,
          m: options.m,
          efConstruction: options.efConstruction,
          ef: options.defaultEf,
        },
        db,
      );
      return new SqliteHnswStore(join(dir, ITEMS_FILE), db, ann, options);
    } catch (error) {
      db.close();
      throw xmodalError('STORE_ERROR', `cannot open the index in ${dir}: ${errorMessage(error)}`, error);
    }
  }

  /** The usearch graph behind search, for benchmarks timing bare HNSW calls against the store on one graph. */
  get hnswIndex() {
    return this.#ann.native;
  }

  /** How the ANN index was obtained on open. */
  get indexOrigin(): AnnOrigin {
    return this.#ann.origin;
  }

  async upsert(items: readonly Item[]): Promise<void> {
    this.#checkOpen();
    this.#checkStored();
    const prepared = prepareItems(items, this.info);
    if (prepared.length === 0) return;
    this.#db.upsert(prepared);
    this.#afterWrite();
  }

  async delete(ids: readonly string[]): Promise<number> {
    this.#checkOpen();
    this.#checkStored();
    const removed = this.#db.delete(checkIds(ids));
    this.#afterWrite();
    return removed;
  }

  async get(id: string): Promise<Item | undefined> {
    this.#checkOpen();
    return this.#db.get(id);
  }

  async count(filter?: Filter): Promise<number> {
    this.#checkOpen();
    return this.#db.count(normaliseFilter(filter));
  }

  async *iterate(options: IterateOptions = {}): AsyncIterable<ItemRecord> {
    this.#checkOpen();
    const filter = normaliseFilter(options.filter);
    const batchSize = options.batchSize ?? 1000;
    let after: string | undefined;
    for (;;) {
      const page = this.#db.page(filter, after, batchSize);
      yield* page;
      if (page.length < batchSize) return;
      after = page[page.length - 1].id;
    }
  }

  async search(vector: Float32Array, options: SearchOptions): Promise<SearchHit[]> {
    this.#checkOpen();
    // Dropped, or made anew: its answers would be a dropped collection's, or another model's. Another process's
    // drop is seen on the same poll as its writes (a stat per search cost 5 % of the throughput).
    const now = performance.now();
    if (droppedInProcess.has(this.#file) || now - this.#storedCheckedAt >= this.#pollMs()) {
      this.#checkStored();
      this.#storedCheckedAt = now;
    }
    const query = prepareVector(vector, this.info, 'query', this.#query);
    const { k, ef } = checkSearchOptions(options, this.#options.defaultEf);
    const filter = normaliseFilter(options.filter);
    this.#syncIfChanged();
    if (!filter) {
      // A collection this small is scanned exactly: cheap, and it makes small answers deterministic.
      if (this.#ann.size() <= this.#options.exactScanMax)
        return this.#hits(exactTopK(query, this.#db.allVectors(), k));
      return this.#searchAll(query, k, ef);
    }
    const matching = this.#db.matchingRids(filter, this.#options.exactScanMax + 1);
    if (matching.length <= this.#options.exactScanMax) {
      return this.#hits(exactTopK(query, this.#db.vectors(matching), k));
    }
    return this.#searchFiltered(query, k, ef, filter, matching.length);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      // Dropped while open: there is nothing left to save to, and a collection made anew under the name must not
      // get this one's index.
      if (!this.#stored()) return;
      this.#sync();
      if (this.#ann.unsaved > 0) this.#ann.save(this.#db);
    } finally {
      this.#db.close();
    }
  }

  /**
   * Asks the graph for exactly k when the default beam suffices (as a bare usearch query would), for ef when the
   * query wants a wider beam. Records come from memory; a key with no record is skipped and more are fetched.
   */
  #searchAll(query: Float32Array, k: number, ef: number): SearchHit[] {
    let count = this.#quantised ? Math.max(2 * k, ef) : ef > this.#options.defaultEf ? ef : k;
    for (;;) {
      const { keys, distances } = this.#ann.search(query, count);
      if (this.#quantised)
        return this.#hits(this.#rescore(query, Array.from(keys, Number), 2 * k).slice(0, k));
      const hits: SearchHit[] = [];
      for (let i = 0; i < keys.length && hits.length < k; i++) {
        const hit = this.#records.hit(Number(keys[i]), 1 - distances[i]);
        if (hit) hits.push(hit);
      }
      if (hits.length === k || keys.length < count) return hits;
      count *= 2;
    }
  }

  /**
   * A filter too broad for an exact scan: ask the graph for more neighbours than needed, keep those that match,
   * widen until k survive; a filter the graph cannot satisfy ends in an exact scan of every matching row.
   */
  #searchFiltered(
    query: Float32Array,
    k: number,
    ef: number,
    filter: NormalisedFilter,
    atLeast: number,
  ): SearchHit[] {
    const total = this.#ann.size();
    let wanted = Math.max(ef, Math.ceil((2 * k * total) / atLeast));
    while (wanted < total / 2) {
      const { keys, distances } = this.#ann.search(query, wanted);
      const records = this.#db.matchingRecords(Array.from(keys, Number), filter);
      const kept: ScoredKey[] = [];
      for (let i = 0; i < keys.length; i++) {
        const rid = Number(keys[i]);
        if (records.has(rid)) kept.push({ rid, score: 1 - distances[i] });
      }
      if (kept.length >= k) {
        const best = this.#quantised
          ? this.#rescore(
              query,
              kept.map((s) => s.rid),
              2 * k,
            )
          : kept;
        return best.slice(0, k).map(({ rid, score }) => ({ ...records.get(rid)!, score }));
      }
      wanted *= 4;
    }
    return this.#hits(exactTopK(query, this.#db.matchingVectors(filter), k));
  }

  get #quantised(): boolean {
    return this.#options.quantization !== 'f32';
  }

  /** Exact scores from the stored f32 vectors for the graph's first `count` candidates, best first. */
  #rescore(query: Float32Array, rids: readonly number[], count: number): ScoredKey[] {
    return exactTopK(query, this.#db.vectors(rids.slice(0, count)), count);
  }

  #hits(scored: readonly ScoredKey[]): SearchHit[] {
    const hits: SearchHit[] = [];
    for (const { rid, score } of scored) {
      const hit = this.#records.hit(rid, score);
      if (hit) hits.push(hit);
    }
    return hits;
  }

  /** Brings the graph and the record cache up to SQLite's generation (our writes and other processes'). */
  #sync(): void {
    const generation = this.#db.generation();
    if (generation === this.#synced) return;
    this.#ann.sync(this.#db);
    this.#records.sync(this.#db);
    this.#synced = generation;
  }

  /**
   * Syncs after a write by any handle in this process at once, and after other processes' within the poll interval.
   * Marked done only once the sync succeeded, so a failed one is retried by the next search rather than skipped.
   */
  #syncIfChanged(): void {
    const writes = writesInProcess.get(this.#file) ?? 0;
    const now = performance.now();
    if (writes === this.#seenWrites && now - this.#polledAt < this.#pollMs()) return;
    this.#sync();
    this.#seenWrites = writes;
    this.#polledAt = now;
  }

  #pollMs(): number {
    return this.#options.otherProcessPollMs ?? OTHER_PROCESS_POLL_MS;
  }

  #afterWrite(): void {
    writesInProcess.set(this.#file, (writesInProcess.get(this.#file) ?? 0) + 1);
    this.#sync();
    const every = this.#options.indexSaveEvery ?? Math.max(10_000, Math.floor(this.#ann.size() / 5));
    if (this.#ann.unsaved >= every) this.#ann.save(this.#db);
  }

  #checkOpen(): void {
    if (this.#closed) throw xmodalError('STORE_ERROR', `collection ${this.info.name} is closed`);
  }

  /** Whether the items file this store opened is still the one at its path (not dropped, nor dropped and made anew). */
  #stored(): boolean {
    try {
      return fileKey(statSync(this.#path, { bigint: true })) === this.#file;
    } catch {
      return false;
    }
  }

  /** Writes to a dropped collection would go to deleted files and be lost without a word: refused instead. */
  #checkStored(): void {
    if (!this.#stored())
      throw xmodalError('NOT_FOUND', `collection ${this.info.name} was dropped while it was open`);
  }
}
