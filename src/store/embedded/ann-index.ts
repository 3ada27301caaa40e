// The usearch HNSW index: a disposable cache of SQLite's vectors, saved atomically with the generation it reflects.
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import usearch from 'usearch';
import type { IndexQuantization, Metric } from '../store.js';
import type { ItemsDb, RidVector } from './items-db.js';

const { Index, MetricKind, ScalarKind } = usearch;

export const INDEX_FILE = 'index.usearch';
export const SIDECAR_FILE = 'index.json';
const SIDECAR_FORMAT = 1;
const ADD_BATCH = 4096;

export interface AnnConfig {
  dim: number;
  metric: Metric;
  quantization: IndexQuantization;
  m: number;
  efConstruction: number;
  /** The default beam width; a query asking for more results than this widens the beam to that many. */
  ef: number;
}

/** Written next to the index file: which SQLite generation and settings the file reflects. */
interface Sidecar {
  format: number;
  generation: number;
  dim: number;
  metric: Metric;
  quantization: IndexQuantization;
  m: number;
  efConstruction: number;
}

/** How the index came to be on open, for logs and tests. */
export type AnnOrigin = 'loaded' | 'caught-up' | 'rebuilt';

export class AnnIndex {
  readonly #dir: string;
  readonly #config: AnnConfig;
  #index: InstanceType<typeof Index>;
  /** The SQLite generation the in-memory graph reflects. */
  #generation: number;
  /** Keys added or removed since the file on disk was written. */
  #unsaved = 0;
  #origin: AnnOrigin = 'loaded';
  /** `index.size()`, kept here because a native call per search costs ~2 µs with the CPU caches full of graph. */
  #size: number;

  private constructor(dir: string, config: AnnConfig, index: InstanceType<typeof Index>, generation: number) {
    this.#dir = dir;
    this.#config = config;
    this.#index = index;
    this.#generation = generation;
    this.#size = index.size();
  }

  /** Loads the saved index and catches it up with SQLite; rebuilds from SQLite when missing, foreign or inconsistent. */
  static open(dir: string, config: AnnConfig, db: ItemsDb): AnnIndex {
    removeLeftoverTempFiles(dir);
    const loaded = loadSaved(dir, config, db.generation());
    if (loaded) {
      const ann = new AnnIndex(dir, config, loaded.index, loaded.generation);
      if (ann.sync(db) > 0) ann.#origin = 'caught-up';
      // Catching up cannot repair a file from another database; a count that disagrees means rebuild.
      if (ann.size() === db.count()) return ann;
    }
    const rebuilt = AnnIndex.#build(dir, config, db);
    rebuilt.#origin = 'rebuilt';
    rebuilt.save(db);
    return rebuilt;
  }

  static #build(dir: string, config: AnnConfig, db: ItemsDb): AnnIndex {
    const index = newIndex(config);
    let generation = 0;
    db.db.transaction(() => {
      generation = db.generation();
      for (const batch of batches(db.allVectors(), ADD_BATCH)) addBatch(index, batch, config.dim);
    })();
    return new AnnIndex(dir, config, index, generation);
  }

  /** The usearch index itself: for benchmarks that time bare HNSW calls on this very graph. */
  get native(): InstanceType<typeof Index> {
    return this.#index;
  }

  get origin(): AnnOrigin {
    return this.#origin;
  }

  get unsaved(): number {
    return this.#unsaved;
  }

  size(): number {
    return this.#size;
  }

  /**
   * Applies every SQLite change after the generation this graph reflects (our own writes and other processes').
   * Idempotent: keys already present are not re-added, absent keys are not removed. Returns keys touched.
   */
  sync(db: ItemsDb): number {
    if (db.generation() === this.#generation) return 0;
    if (db.prunedThrough() > this.#generation) {
      // Another process saved its index and forgot deletions this graph never saw: start over from SQLite.
      const fresh = AnnIndex.#build(this.#dir, this.#config, db);
      this.#index = fresh.#index;
      this.#generation = fresh.#generation;
      this.#size = fresh.size();
      this.#unsaved = fresh.size();
      return fresh.size();
    }
    let touched = 0;
    db.db.transaction(() => {
      const generation = db.generation();
      const { removed, written } = db.changedSince(this.#generation);
      for (const rid of removed) {
        const key = BigInt(rid);
        if (this.#index.contains(key)) {
          this.#index.remove(key);
          touched++;
        }
      }
      for (const batch of batches(written, ADD_BATCH)) {
        const fresh = batch.filter((row) => !this.#index.contains(BigInt(row.rid)));
        addBatch(this.#index, fresh, this.#config.dim);
        touched += fresh.length;
      }
      this.#generation = generation;
    })();
    this.#size = this.#index.size();
    this.#unsaved += touched;
    return touched;
  }

  /** The `count` nearest keys, best first; similarity = 1 - distance. The beam is max(default ef, count). */
  search(query: Float32Array, count: number): { keys: BigUint64Array; distances: Float32Array } {
    return this.#index.search(query, count, 1);
  }

  /** Writes the file (temp, fsync, rename), then the sidecar naming its generation; then drops older tombstones. */
  save(db: ItemsDb): void {
    const indexPath = join(this.#dir, INDEX_FILE);
    const temp = `${indexPath}.tmp-${process.pid}`;
    this.#index.save(temp);
    fsyncPath(temp);
    renameSync(temp, indexPath);
    const { dim, metric, quantization, m, efConstruction } = this.#config;
    const sidecar: Sidecar = {
      format: SIDECAR_FORMAT,
      generation: this.#generation,
      dim,
      metric,
      quantization,
      m,
      efConstruction,
    };
    writeFileAtomic(join(this.#dir, SIDECAR_FILE), `${JSON.stringify(sidecar)}\n`);
    fsyncPath(this.#dir);
    db.pruneTombstones(this.#generation);
    this.#unsaved = 0;
  }
}

function newIndex(config: AnnConfig): InstanceType<typeof Index> {
  return new Index({
    dimensions: config.dim,
    // Cosine vectors are stored normalised, so inner product ranks the same and skips the norms; i8 wants cos.
    metric: config.metric === 'cosine' && config.quantization === 'i8' ? MetricKind.Cos : MetricKind.IP,
    quantization: { f32: ScalarKind.F32, f16: ScalarKind.F16, i8: ScalarKind.I8 }[config.quantization],
    connectivity: config.m,
    expansion_add: config.efConstruction,
    // usearch's beam is max(expansion_search, results wanted): asking for more than ef results widens it.
    expansion_search: config.ef,
    multi: false,
  });
}

function loadSaved(
  dir: string,
  config: AnnConfig,
  dbGeneration: number,
): { index: InstanceType<typeof Index>; generation: number } | undefined {
  const indexPath = join(dir, INDEX_FILE);
  let sidecar: Sidecar;
  try {
    sidecar = JSON.parse(readFileSync(join(dir, SIDECAR_FILE), 'utf8')) as Sidecar;
  } catch {
    return undefined;
  }
  const sameSettings =
    sidecar.format === SIDECAR_FORMAT &&
    sidecar.dim === config.dim &&
    sidecar.metric === config.metric &&
    sidecar.quantization === config.quantization &&
    sidecar.m === config.m &&
    sidecar.efConstruction === config.efConstruction;
  // A sidecar ahead of SQLite means the database was replaced (a restored backup): the graph cannot be trusted.
  if (!sameSettings || !(sidecar.generation <= dbGeneration) || !existsSync(indexPath)) return undefined;
  const index = newIndex(config);
  try {
    index.load(indexPath);
  } catch {
    return undefined;
  }
  if (index.dimensions() !== config.dim) return undefined;
  return { index, generation: sidecar.generation };
}

function addBatch(index: InstanceType<typeof Index>, rows: readonly RidVector[], dim: number): void {
  if (rows.length === 0) return;
  const keys = new BigUint64Array(rows.length);
  const flat = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => {
    keys[i] = BigInt(row.rid);
    flat.set(row.vector, i * dim);
  });
  // One thread: usearch 2.25.3's concurrent inserts leave ~1 node in 2,000 unreachable even by its own vector.
  index.add(keys, flat, 1);
}

function* batches<T>(rows: Iterable<T>, size: number): Generator<T[]> {
  let batch: T[] = [];
  for (const row of rows) {
    batch.push(row);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

function writeFileAtomic(path: string, text: string): void {
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, text);
  fsyncPath(temp);
  renameSync(temp, path);
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Half-written temp files left by a save whose process died (not by one still running). */
function removeLeftoverTempFiles(dir: string): void {
  for (const name of readdirSync(dir)) {
    const match = /^index\.(?:usearch|json)\.tmp-(\d+)$/.exec(name);
    if (match && !processAlive(Number(match[1]))) rmSync(join(dir, name), { force: true });
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
