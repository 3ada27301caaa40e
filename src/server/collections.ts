import type { Encoder, EncoderOptions } from '../encoders/encoder.js';
import { XmodalError, xmodalError } from '../errors.js';
import type { CollectionInfo } from '../store/store.js';
import { checkCollectionName } from '../store/validate.js';
import { dropCollection } from '../tasks/collection-lock.js';
import {
  findCollection,
  listWorkspaceCollections,
  type OpenCollection,
  openCollection,
  type Workspace,
} from '../tasks/workspace.js';

/** Collections share an encoder only when everything in its spec agrees (same model, dtype, adapter, scale, weights). */
function specKey(encoder: Encoder): string {
  const { model, dtype, adapter, logitScale, weights } = encoder.spec;
  return JSON.stringify([model, dtype, adapter ?? null, logitScale, weights ?? null]);
}

function succeeds(opening: Promise<unknown>): Promise<boolean> {
  return opening.then(
    () => true,
    () => false,
  );
}

/** A collection a request works on, open until `release()` (see `CollectionPool.acquire`). */
export interface CollectionLease {
  collection: OpenCollection;
  /** The request is done with it (again: no-op): a drop or an eviction may close it now. */
  release(): void;
}

/**
 * The collections a server has open: at most `maxOpen` idle ones are kept, the least recently used closed first,
 * so a client opening one collection after another cannot run the server out of file handles. Collections made
 * with the same model share one encoder (so concurrent requests batch together across collections): `share`
 * wraps each new model once.
 */
export class CollectionPool {
  /** Opens in flight or done, least recently used first; `create` when the open may create the collection. */
  private readonly open = new Map<
    string,
    { opening: Promise<OpenCollection>; create: boolean; opened?: OpenCollection }
  >();
  private readonly encoders = new Map<string, Encoder>();
  /** Requests working on each open collection now: a drop or an eviction closes one only once none is. */
  private readonly users = new Map<OpenCollection, { count: number; idle?: () => void }>();
  private readonly dropped = new WeakSet<OpenCollection>();
  private readonly evicted = new WeakSet<OpenCollection>();
  /** Drops under way (from when they hold the collection's lock) and closes of evicted collections: the name is not opened again until done. */
  private readonly settling = new Map<string, Promise<void>>();

  constructor(
    readonly workspace: Workspace,
    private readonly share: (encoder: Encoder) => Encoder,
    private readonly encoderOptions: EncoderOptions = {},
    private readonly maxOpen = 64,
  ) {}

  /** Registers an encoder already wrapped for sharing (the server's own model). */
  adopt(encoder: Encoder): void {
    this.encoders.set(specKey(encoder), encoder);
  }

  async list(): Promise<CollectionInfo[]> {
    return listWorkspaceCollections(this.workspace);
  }

  private get(name: string, options: { create?: boolean; model?: string } = {}): Promise<OpenCollection> {
    checkCollectionName(name);
    // Opened now it would be a second copy of one being deleted or closed: look once that is done.
    const settling = this.settling.get(name);
    if (settling) return settling.then(() => this.get(name, options));
    const entry = this.open.get(name);
    if (entry) {
      this.open.delete(name); // most recently used last
      this.open.set(name, entry);
      // A lookup that may fail (no such collection yet) must not fail a create that joined it: retry creating.
      return options.create && !entry.create
        ? entry.opening.catch(() => this.get(name, options))
        : entry.opening;
    }
    const opening = this.openShared(name, options);
    const created: { opening: Promise<OpenCollection>; create: boolean; opened?: OpenCollection } = {
      opening,
      create: options.create === true,
    };
    this.open.set(name, created);
    opening.then(
      (collection) => {
        created.opened = collection;
        this.evictIdle();
      },
      // A failed open is forgotten, so the next request tries again (unless a newer open already took its place).
      () => {
        if (this.open.get(name) === created) this.open.delete(name);
      },
    );
    return opening;
  }

  /** Closes the least recently used collections no request is working on while more than `maxOpen` are open. */
  private evictIdle(): void {
    let excess = this.open.size - this.maxOpen;
    for (const [name, entry] of this.open) {
      if (excess <= 0) return;
      const collection = entry.opened;
      if (!collection || this.users.has(collection)) continue;
      this.open.delete(name);
      this.evicted.add(collection);
      excess--;
      const closing = collection.close().catch(() => {}); // nothing to tell a client: it reopens on next use
      this.settling.set(name, closing);
      closing.then(() => {
        if (this.settling.get(name) === closing) this.settling.delete(name);
      });
    }
  }

  /**
   * Opens a collection (creating it with `options.model` when `create` is set) for a request to work on until it
   * releases it. A drop waits for the release before it closes the collection, so a request never meets a store
   * closed under it; one that comes once the drop has begun finds no collection.
   */
  async acquire(name: string, options: { create?: boolean; model?: string } = {}): Promise<CollectionLease> {
    for (;;) {
      const collection = await this.get(name, options);
      if (this.dropped.has(collection)) throw xmodalError('NOT_FOUND', `no collection "${name}"`);
      if (this.evicted.has(collection)) continue; // closed for want of room while this request waited: open it again
      const use = this.users.get(collection) ?? { count: 0 };
      this.users.set(collection, use);
      use.count++;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        if (--use.count > 0) return;
        this.users.delete(collection);
        use.idle?.();
        this.evictIdle();
      };
      return { collection, release };
    }
  }

  /** Runs `work` on a collection acquired for it (see `acquire`). */
  async use<T>(
    name: string,
    work: (collection: OpenCollection) => Promise<T>,
    options: { create?: boolean; model?: string } = {},
  ): Promise<T> {
    const { collection, release } = await this.acquire(name, options);
    try {
      return await work(collection);
    } catch (error) {
      this.forgetIfDropped(name, collection, error);
      throw error;
    } finally {
      release();
    }
  }

  /**
   * A store that answers NOT_FOUND was dropped under this server (by another process; maybe made anew since,
   * with another model): it is closed once its requests are done, and the next request opens the name afresh.
   */
  forgetIfDropped(name: string, collection: OpenCollection, error: unknown): void {
    if (!(error instanceof XmodalError && error.code === 'NOT_FOUND')) return;
    const entry = this.open.get(name);
    if (entry?.opened !== collection) return;
    this.open.delete(name);
    this.evicted.add(collection);
    const close = () => {
      collection.close().catch(() => {}); // its files or tables are gone: nothing to save
    };
    const use = this.users.get(collection);
    if (use) {
      const idle = use.idle;
      use.idle = () => {
        idle?.();
        close();
      };
    } else close();
  }

  /** Whether the collection exists: open here, or in the store (an open that fails does not count). */
  private async exists(name: string): Promise<boolean> {
    const entry = this.open.get(name);
    if (entry && (await succeeds(entry.opening))) return true;
    return (await findCollection(this.workspace, name)) !== undefined;
  }

  private async openShared(
    name: string,
    options: { create?: boolean; model?: string },
  ): Promise<OpenCollection> {
    // The server's dtype is for collections it creates; an existing one opens with its own saved spec.
    const { dtype, ...reopen } = this.encoderOptions;
    const opened = await openCollection(this.workspace, name, {
      ...options,
      encoder: options.create ? this.encoderOptions : reopen,
    });
    // Models load their towers lazily, so the collection's own copy costs nothing when the shared one is used.
    let shared = this.encoders.get(specKey(opened.encoder));
    let own: Encoder | undefined = opened.encoder;
    if (!shared) {
      shared = this.share(opened.encoder);
      this.encoders.set(specKey(shared), shared);
      own = undefined; // the shared wrapper holds it now, and the pool disposes it
    }
    return {
      encoder: shared,
      store: opened.store,
      info: opened.info,
      spaces: opened.spaces,
      async close() {
        await opened.store.close();
        await own?.dispose();
      },
    };
  }

  /** Acquires a collection (see `acquire`), creating it with `model` when there is none. */
  async acquireOrCreate(name: string, model: string): Promise<CollectionLease> {
    await this.settling.get(name);
    return (await this.exists(name)) ? this.acquire(name) : this.acquire(name, { create: true, model });
  }

  /**
   * Creates a collection, or refuses with CONFLICT when it exists. Only the request that starts the open
   * creates: any open of the name already in flight (another create, an index, a lookup) is waited for, and
   * one that succeeds means the name is taken; the store is asked only when no open is in flight.
   */
  async create(name: string, model: string): Promise<OpenCollection> {
    checkCollectionName(name);
    const taken = () => xmodalError('CONFLICT', `collection "${name}" already exists`);
    for (;;) {
      const settling = this.settling.get(name);
      if (settling) {
        await settling;
        continue;
      }
      const entry = this.open.get(name);
      if (entry) {
        if (await succeeds(entry.opening)) throw taken();
        continue; // a failed open is forgotten before this runs: look again
      }
      if (await findCollection(this.workspace, name)) throw taken();
      // Checked again after the await: another request may have started opening the name meanwhile.
      if (!this.open.has(name)) return this.get(name, { create: true, model });
    }
  }

  /** Drops a collection once no indexing run writes it (see `dropCollection`); `signal`: stop waiting. */
  async drop(name: string, signal?: AbortSignal): Promise<void> {
    checkCollectionName(name);
    let done: (() => void) | undefined;
    const closeOpen = async () => {
      this.settling.set(name, new Promise<void>((resolve) => (done = resolve)));
      const entry = this.open.get(name);
      this.open.delete(name);
      const collection = await entry?.opening.catch(() => undefined);
      if (!collection) return;
      this.dropped.add(collection);
      const use = this.users.get(collection);
      if (use) await new Promise<void>((resolve) => (use.idle = resolve));
      await collection.close();
    };
    try {
      if (!(await dropCollection(this.workspace, name, { beforeDrop: closeOpen, signal })))
        throw xmodalError('NOT_FOUND', `no collection "${name}"`);
    } finally {
      if (done) {
        this.settling.delete(name);
        done();
      }
    }
  }

  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map(async (e) => (await e.opening.catch(() => undefined))?.close()));
    await Promise.all([...this.encoders.values()].map((e) => e.dispose()));
    this.encoders.clear();
  }
}
