// The SQLite file that is the truth for one collection: stamp, items, every vector, and a change counter.
import Database from 'better-sqlite3';
import { errorMessage, xmodalError } from '../../errors.js';
import type { CollectionInfo, Item, ItemRecord, MetaValue, Metric } from '../store.js';
import { type NormalisedFilter, specForOlderCollection } from '../validate.js';
import { filterToSql, metaColumns } from './filter-sql.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS collection (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
  rid INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  modality TEXT NOT NULL,
  uri TEXT,
  content_hash TEXT,
  mime TEXT,
  tags TEXT,
  meta TEXT,
  gen INTEGER NOT NULL
);
-- Vectors apart from the metadata, so a metadata page holds many rows and search hits stay in the page cache.
CREATE TABLE IF NOT EXISTS vectors (rid INTEGER PRIMARY KEY, vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS items_uri ON items (uri);
CREATE INDEX IF NOT EXISTS items_modality ON items (modality);
CREATE INDEX IF NOT EXISTS items_gen ON items (gen);
CREATE TABLE IF NOT EXISTS item_tags (tag TEXT NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY (tag, rid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS item_tags_rid ON item_tags (rid);
CREATE TABLE IF NOT EXISTS item_meta (
  key TEXT NOT NULL, kind TEXT NOT NULL, value ANY, rid INTEGER NOT NULL, PRIMARY KEY (key, kind, value, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS item_meta_rid ON item_meta (rid);
-- Items removed since the ANN index was last saved, so a stale index can catch up instead of rebuilding.
CREATE TABLE IF NOT EXISTS tombstones (rid INTEGER PRIMARY KEY, gen INTEGER NOT NULL);
`;

const RECORD_COLUMNS = 'i.rid, i.id, i.modality, i.uri, i.content_hash, i.mime, i.tags, i.meta';
// An ItemRecord as JSON text; json_patch onto {} drops the null members, so JSON.parse yields the record as is.
const RECORD_JSON = `json_patch('{}', json_object('id', i.id, 'modality', i.modality, 'uri', i.uri,
  'contentHash', i.content_hash, 'mime', i.mime, 'tags', json(i.tags), 'meta', json(i.meta)))`;

/** A row of RECORD_COLUMNS in raw (array) mode, which skips building an object per row on the hot path. */
type RecordRow = [
  rid: number,
  id: string,
  modality: Item['modality'],
  uri: string | null,
  contentHash: string | null,
  mime: string | null,
  tags: string | null,
  meta: string | null,
];

export interface RidVector {
  rid: number;
  vector: Float32Array;
}

export class ItemsDb {
  readonly db: Database.Database;
  readonly info: CollectionInfo;
  readonly #statements;
  /** Statements built from filters, reused while the same filter shape repeats. */
  readonly #byShape = new Map<string, Database.Statement<unknown[], unknown>>();

  private constructor(db: Database.Database, info: CollectionInfo) {
    this.db = db;
    this.info = info;
    this.#statements = {
      generation: db.prepare<[], string>("SELECT value FROM collection WHERE key = 'generation'").pluck(),
      setGeneration: db.prepare("UPDATE collection SET value = ? WHERE key = 'generation'"),
      byId: db.prepare<[string], { rid: number; vector: Buffer }>(
        'SELECT i.rid, v.vector FROM items i JOIN vectors v ON v.rid = i.rid WHERE i.id = ?',
      ),
      insert: db.prepare(
        'INSERT INTO items (id, modality, uri, content_hash, mime, tags, meta, gen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      insertVector: db.prepare('INSERT INTO vectors (rid, vector) VALUES (?, ?)'),
      deleteVector: db.prepare('DELETE FROM vectors WHERE rid = ?'),
      updateRecord: db.prepare(
        'UPDATE items SET modality = ?, uri = ?, content_hash = ?, mime = ?, tags = ?, meta = ?, gen = ? WHERE rid = ?',
      ),
      deleteRow: db.prepare('DELETE FROM items WHERE rid = ?'),
      deleteTags: db.prepare('DELETE FROM item_tags WHERE rid = ?'),
      deleteMeta: db.prepare('DELETE FROM item_meta WHERE rid = ?'),
      insertTag: db.prepare('INSERT OR IGNORE INTO item_tags (tag, rid) VALUES (?, ?)'),
      insertMeta: db.prepare('INSERT OR IGNORE INTO item_meta (key, kind, value, rid) VALUES (?, ?, ?, ?)'),
      tombstone: db.prepare('INSERT OR REPLACE INTO tombstones (rid, gen) VALUES (?, ?)'),
      getItem: db
        .prepare<[string], [...RecordRow, Buffer]>(
          `SELECT ${RECORD_COLUMNS}, v.vector FROM items i JOIN vectors v ON v.rid = i.rid WHERE i.id = ?`,
        )
        .raw(),
      vectorsByRids: db.prepare<[string], { rid: number; vector: Buffer }>(
        'SELECT rid, vector FROM vectors WHERE rid IN (SELECT value FROM json_each(?))',
      ),
      count: db.prepare<[], number>('SELECT count(*) FROM items').pluck(),
      changedSince: db.prepare<[number], { rid: number; vector: Buffer }>(
        'SELECT i.rid, v.vector FROM items i JOIN vectors v ON v.rid = i.rid WHERE i.gen > ?',
      ),
      removedSince: db.prepare<[number], number>('SELECT rid FROM tombstones WHERE gen > ?').pluck(),
      allVectors: db.prepare<[], { rid: number; vector: Buffer }>(
        'SELECT rid, vector FROM vectors ORDER BY rid',
      ),
      pruneTombstones: db.prepare('DELETE FROM tombstones WHERE gen <= ?'),
      prunedThrough: db
        .prepare<[], string>("SELECT value FROM collection WHERE key = 'pruned_through'")
        .pluck(),
      setPrunedThrough: db.prepare(
        `INSERT INTO collection (key, value) VALUES ('pruned_through', ?) ON CONFLICT (key)
         DO UPDATE SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))`,
      ),
      allRecordJson: db.prepare<[], [number, string]>(`SELECT i.rid, ${RECORD_JSON} FROM items i`).raw(),
      recordJsonSince: db
        .prepare<[number], [number, string]>(`SELECT i.rid, ${RECORD_JSON} FROM items i WHERE i.gen > ?`)
        .raw(),
    };
  }

  /**
   * Opens or creates the file; refuses a stamp that differs from `requested`. A file made before specs were
   * saved gets the opener's once the rest of the stamp matched (migration), without its weights.
   */
  static open(path: string, requested: CollectionInfo, check: (existing: CollectionInfo) => void): ItemsDb {
    let db: Database.Database;
    let stamp: Database.Statement;
    try {
      db = new Database(path);
      // First: another process creating the same file holds its lock for a moment, and every step below waits.
      db.pragma('busy_timeout = 5000');
      // Takes effect only while the file is new: a 2 KB vector row leaves half of a 4 KB page empty, ~1/8 of 16 KB.
      db.pragma('page_size = 16384');
      db.pragma('journal_mode = WAL');
      // FULL: an acknowledged upsert survives power loss, not only a killed process.
      db.pragma('synchronous = FULL');
      // Search reads a few metadata rows per query: keep them in memory rather than paying a read() each.
      db.pragma('cache_size = -65536');
      db.pragma('mmap_size = 1073741824');
      db.exec(SCHEMA);
      stamp = db.prepare('INSERT OR IGNORE INTO collection (key, value) VALUES (?, ?)');
      db.transaction(() => {
        const created = stamp.run('name', requested.name).changes === 1;
        // A new file is stamped with the whole spec, weights included; an older one only below.
        if (created && requested.encoder) stamp.run('encoder', JSON.stringify(requested.encoder));
        stamp.run('dim', String(requested.dim));
        stamp.run('metric', requested.metric);
        stamp.run('encoder_id', requested.encoderId);
        stamp.run('generation', '0');
        stamp.run('created_at', new Date().toISOString());
      })();
    } catch (error) {
      throw xmodalError('STORE_ERROR', `cannot open ${path}: ${errorMessage(error)}`, error);
    }
    let existing: CollectionInfo;
    try {
      existing = readStamp(db);
      check(existing);
      if (requested.encoder && !existing.encoder) {
        stamp.run('encoder', JSON.stringify(specForOlderCollection(requested.encoder)));
        // Another process may have stamped it first: check against what is there now.
        existing = readStamp(db);
        check(existing);
      }
    } catch (error) {
      db.close();
      throw error;
    }
    return new ItemsDb(db, existing);
  }

  /**
   * The stamp of an existing file, opened read-only; undefined while another process is still creating it
   * (the file is there, its stamp not yet committed), so that a listing passes over it instead of failing.
   */
  static readInfo(path: string): CollectionInfo | undefined {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'collection'");
      if (!table.get()) return undefined;
      const info = readStamp(db);
      return info.name === undefined ? undefined : info;
    } finally {
      db.close();
    }
  }

  generation(): number {
    return Number(this.#statements.generation.get());
  }

  /**
   * Writes items in one transaction under a new generation. A changed vector gets a new key (the old one is
   * tombstoned) so every key's vector is immutable; an unchanged vector keeps its key and only metadata changes.
   */
  upsert(items: readonly Item[]): void {
    const s = this.#statements;
    // IMMEDIATE (here and in every write): the write lock is taken, or waited for, before the generation is read.
    // A deferred transaction that read first fails at once with "database is locked" when another process
    // committed in between (WAL cannot upgrade a stale read), and busy_timeout never gets to wait.
    this.db
      .transaction(() => {
        const gen = this.generation() + 1;
        s.setGeneration.run(String(gen));
        for (const item of items) {
          const blob = vectorToBlob(item.vector);
          const tags = item.tags && item.tags.length > 0 ? [...new Set(item.tags)] : undefined;
          const meta = item.meta && Object.keys(item.meta).length > 0 ? item.meta : undefined;
          const record = [
            item.modality,
            item.uri ?? null,
            item.contentHash ?? null,
            item.mime ?? null,
            tags ? JSON.stringify(tags) : null,
            meta ? JSON.stringify(meta) : null,
          ];
          const existing = s.byId.get(item.id);
          let rid: number;
          if (existing?.vector.equals(blob)) {
            rid = existing.rid;
            s.updateRecord.run(...record, gen, rid);
            s.deleteTags.run(rid);
            s.deleteMeta.run(rid);
          } else {
            if (existing) this.#removeRow(existing.rid, gen);
            rid = Number(s.insert.run(item.id, ...record, gen).lastInsertRowid);
            s.insertVector.run(rid, blob);
          }
          for (const tag of tags ?? []) s.insertTag.run(tag, rid);
          for (const [key, value] of Object.entries(meta ?? {}))
            s.insertMeta.run(key, ...metaColumns(value), rid);
        }
      })
      .immediate();
  }

  /** Deletes in one transaction under a new generation; returns how many ids existed. */
  delete(ids: readonly string[]): number {
    let removed = 0;
    this.db
      .transaction(() => {
        const gen = this.generation() + 1;
        this.#statements.setGeneration.run(String(gen));
        for (const id of ids) {
          const existing = this.#statements.byId.get(id);
          if (!existing) continue;
          this.#removeRow(existing.rid, gen);
          removed++;
        }
      })
      .immediate();
    return removed;
  }

  #prepare<Row>(sql: string): Database.Statement<unknown[], Row> {
    let statement = this.#byShape.get(sql);
    if (!statement) {
      if (this.#byShape.size > 512) this.#byShape.clear();
      statement = this.db.prepare(sql);
      this.#byShape.set(sql, statement);
    }
    return statement as Database.Statement<unknown[], Row>;
  }

  #prepareRaw(sql: string): Database.Statement<unknown[], RecordRow> {
    const key = `raw:${sql}`;
    let statement = this.#byShape.get(key);
    if (!statement) {
      statement = this.db.prepare(sql).raw();
      this.#byShape.set(key, statement);
    }
    return statement as Database.Statement<unknown[], RecordRow>;
  }

  #removeRow(rid: number, gen: number): void {
    this.#statements.deleteRow.run(rid);
    this.#statements.deleteVector.run(rid);
    this.#statements.deleteTags.run(rid);
    this.#statements.deleteMeta.run(rid);
    this.#statements.tombstone.run(rid, gen);
  }

  get(id: string): Item | undefined {
    const row = this.#statements.getItem.get(id);
    return row && { ...toRecord(row as unknown as RecordRow), vector: blobToVector(row[8]) };
  }

  count(filter?: NormalisedFilter): number {
    if (!filter) return this.#statements.count.get()!;
    const where = filterToSql(filter);
    return this.#prepare<{ n: number }>(`SELECT count(*) AS n FROM items i WHERE ${where.sql}`).get(
      ...where.params,
    )!.n;
  }

  /** Keys of matching items, at most `limit` of them. */
  matchingRids(filter: NormalisedFilter, limit: number): number[] {
    const where = filterToSql(filter);
    const rows = this.#prepare<{ rid: number }>(`SELECT i.rid FROM items i WHERE ${where.sql} LIMIT ?`);
    return rows.all(...where.params, limit).map((row) => row.rid);
  }

  /** Records of those `rids` that match the filter, keyed by rid. */
  matchingRecords(rids: readonly number[], filter: NormalisedFilter): Map<number, ItemRecord> {
    const where = filterToSql(filter);
    const rows = this.#prepareRaw(
      `SELECT ${RECORD_COLUMNS} FROM items i WHERE i.rid IN (SELECT value FROM json_each(?)) AND ${where.sql}`,
    ).all(JSON.stringify(rids), ...where.params);
    return new Map(rows.map((row) => [row[0], toRecord(row)]));
  }

  vectors(rids: readonly number[]): IterableIterator<RidVector> {
    return mapRows(this.#statements.vectorsByRids.iterate(JSON.stringify(rids)));
  }

  matchingVectors(filter: NormalisedFilter): IterableIterator<RidVector> {
    const where = filterToSql(filter);
    const statement = this.#prepare<{ rid: number; vector: Buffer }>(
      `SELECT i.rid, v.vector FROM items i JOIN vectors v ON v.rid = i.rid WHERE ${where.sql}`,
    );
    return mapRows(statement.iterate(...where.params));
  }

  allVectors(): IterableIterator<RidVector> {
    return mapRows(this.#statements.allVectors.iterate());
  }

  /** What changed after generation `gen`: rows written since, and keys removed since. */
  changedSince(gen: number): { removed: number[]; written: IterableIterator<RidVector> } {
    return {
      removed: this.#statements.removedSince.all(gen),
      written: mapRows(this.#statements.changedSince.iterate(gen)),
    };
  }

  /**
   * Tombstones up to `gen` are no longer needed once an index reflecting `gen` is safely on disk. The mark lets
   * another process's older in-memory state see that it can no longer catch up by tombstones.
   */
  pruneTombstones(gen: number): void {
    this.db
      .transaction(() => {
        this.#statements.pruneTombstones.run(gen);
        this.#statements.setPrunedThrough.run(gen);
      })
      .immediate();
  }

  /** Generation up to which deletions are forgotten: state older than this must reload, not catch up. */
  prunedThrough(): number {
    return Number(this.#statements.prunedThrough.get() ?? 0);
  }

  /** Every record as JSON text, keyed by rid. */
  allRecordJson(): IterableIterator<[number, string]> {
    return this.#statements.allRecordJson.iterate();
  }

  /** Records written and keys removed after generation `gen`. */
  recordJsonSince(gen: number): { removed: number[]; written: [number, string][] } {
    return {
      removed: this.#statements.removedSince.all(gen),
      written: this.#statements.recordJsonSince.all(gen),
    };
  }

  /** One page of records ordered by id, after `afterId`. */
  page(filter: NormalisedFilter | undefined, afterId: string | undefined, limit: number): ItemRecord[] {
    const where = filterToSql(filter);
    const after = afterId === undefined ? '' : 'AND i.id > ?';
    const params = afterId === undefined ? where.params : [...where.params, afterId];
    const rows = this.#prepareRaw(
      `SELECT ${RECORD_COLUMNS} FROM items i WHERE ${where.sql} ${after} ORDER BY i.id LIMIT ?`,
    ).all(...params, limit);
    return rows.map(toRecord);
  }

  close(): void {
    this.db.close();
  }
}

function readStamp(db: Database.Database): CollectionInfo {
  const rows = db.prepare<[], { key: string; value: string }>('SELECT key, value FROM collection').all();
  const kv = new Map(rows.map((r) => [r.key, r.value]));
  const info: CollectionInfo = {
    name: kv.get('name')!,
    dim: Number(kv.get('dim')),
    metric: kv.get('metric') as Metric,
    encoderId: kv.get('encoder_id')!,
  };
  const encoder = kv.get('encoder');
  if (encoder !== undefined) info.encoder = JSON.parse(encoder);
  return info;
}

function toRecord([, id, modality, uri, contentHash, mime, tags, meta]: RecordRow): ItemRecord {
  const record: ItemRecord = { id, modality };
  if (uri !== null) record.uri = uri;
  if (contentHash !== null) record.contentHash = contentHash;
  if (mime !== null) record.mime = mime;
  if (tags !== null) record.tags = JSON.parse(tags) as string[];
  if (meta !== null) record.meta = JSON.parse(meta) as Record<string, MetaValue>;
  return record;
}

function* mapRows(rows: IterableIterator<{ rid: number; vector: Buffer }>): IterableIterator<RidVector> {
  for (const row of rows) yield { rid: row.rid, vector: blobToVector(row.vector) };
}

export function vectorToBlob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

export function blobToVector(blob: Buffer): Float32Array {
  // A Float32Array view needs 4-byte alignment; copy when the driver hands back an unaligned slice.
  if (blob.byteOffset % 4 === 0) return new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4);
  return new Float32Array(Uint8Array.from(blob).buffer);
}
