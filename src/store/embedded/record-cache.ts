// Every item's record (no vector) in memory, so a search hit costs an array lookup, not a SQLite read.
import type { ItemRecord, SearchHit } from '../store.js';
import type { ItemsDb } from './items-db.js';

export class RecordCache {
  /**
   * By rid: compact JSON until a record is first asked for, then the parsed record. An array rather than a Map:
   * right after a search the graph fills the CPU caches, and a hash lookup then costs several cache misses.
   */
  #records: (string | ItemRecord | undefined)[] = [];
  /** The SQLite generation this cache reflects. */
  #generation = -1;

  constructor(db: ItemsDb) {
    this.#reload(db);
  }

  /**
   * A fresh hit for `rid`, or undefined when there is no such item. Its tags and meta are frozen and shared with the
   * cache: right after a search the graph fills the CPU caches, and parsing or deep-copying ten records then costs
   * ~10% of the query. Built field by field, since spreading the cached record takes V8's slow clone path.
   */
  hit(rid: number, score: number): SearchHit | undefined {
    let record = this.#records[rid];
    if (record === undefined) return undefined;
    if (typeof record === 'string') record = this.#parse(rid, record);
    const hit = { id: record.id, modality: record.modality } as SearchHit;
    if (record.uri !== undefined) hit.uri = record.uri;
    if (record.contentHash !== undefined) hit.contentHash = record.contentHash;
    if (record.mime !== undefined) hit.mime = record.mime;
    if (record.tags !== undefined) hit.tags = record.tags;
    if (record.meta !== undefined) hit.meta = record.meta;
    hit.score = score;
    return hit;
  }

  /** Applies every change after the generation this cache reflects; reloads when deletions were already pruned. */
  sync(db: ItemsDb): void {
    if (db.generation() === this.#generation) return;
    db.db.transaction(() => {
      if (db.prunedThrough() > this.#generation) return this.#reload(db);
      const generation = db.generation();
      const { removed, written } = db.recordJsonSince(this.#generation);
      for (const rid of removed) this.#records[rid] = undefined;
      for (const [rid, json] of written) this.#records[rid] = json;
      this.#generation = generation;
    })();
  }

  #parse(rid: number, json: string): ItemRecord {
    const record = JSON.parse(json) as ItemRecord;
    if (record.tags) Object.freeze(record.tags);
    if (record.meta) Object.freeze(record.meta);
    this.#records[rid] = record;
    return record;
  }

  #reload(db: ItemsDb): void {
    db.db.transaction(() => {
      this.#records = [];
      this.#generation = db.generation();
      for (const [rid, json] of db.allRecordJson()) this.#records[rid] = json;
    })();
  }
}
