// Every item's record (no vector) as compact JSON in memory, so a search hit costs a map lookup, not a SQLite read.
import type { ItemRecord } from '../store.js';
import type { ItemsDb } from './items-db.js';

export class RecordCache {
  readonly #json = new Map<number, string>();
  /** The SQLite generation this cache reflects. */
  #generation = -1;

  constructor(db: ItemsDb) {
    this.#reload(db);
  }

  get(rid: number): ItemRecord | undefined {
    const json = this.#json.get(rid);
    return json === undefined ? undefined : (JSON.parse(json) as ItemRecord);
  }

  /** Applies every change after the generation this cache reflects; reloads when deletions were already pruned. */
  sync(db: ItemsDb): void {
    if (db.generation() === this.#generation) return;
    db.db.transaction(() => {
      if (db.prunedThrough() > this.#generation) return this.#reload(db);
      const generation = db.generation();
      const { removed, written } = db.recordJsonSince(this.#generation);
      for (const rid of removed) this.#json.delete(rid);
      for (const [rid, json] of written) this.#json.set(rid, json);
      this.#generation = generation;
    })();
  }

  #reload(db: ItemsDb): void {
    db.db.transaction(() => {
      this.#json.clear();
      this.#generation = db.generation();
      for (const [rid, json] of db.allRecordJson()) this.#json.set(rid, json);
    })();
  }
}
