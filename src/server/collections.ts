import type { Encoder, EncoderOptions } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
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

/**
 * The collections a server has open, each kept open once opened. Collections made with the same model share
 * one encoder (so concurrent requests batch together across collections): `share` wraps each new model once.
 */
export class CollectionPool {
  /** Opens in flight or done; `create` when the open may create the collection. */
  private readonly open = new Map<string, { opening: Promise<OpenCollection>; create: boolean }>();
  private readonly encoders = new Map<string, Encoder>();

  constructor(
    readonly workspace: Workspace,
    private readonly share: (encoder: Encoder) => Encoder,
    private readonly encoderOptions: EncoderOptions = {},
  ) {}

  /** Registers an encoder already wrapped for sharing (the server's own model). */
  adopt(encoder: Encoder): void {
    this.encoders.set(specKey(encoder), encoder);
  }

  async list(): Promise<CollectionInfo[]> {
    return listWorkspaceCollections(this.workspace);
  }

  get(name: string, options: { create?: boolean; model?: string } = {}): Promise<OpenCollection> {
    checkCollectionName(name);
    const entry = this.open.get(name);
    if (entry) {
      // A lookup that may fail (no such collection yet) must not fail a create that joined it: retry creating.
      return options.create && !entry.create
        ? entry.opening.catch(() => this.get(name, options))
        : entry.opening;
    }
    const opening = this.openShared(name, options);
    const created = { opening, create: options.create === true };
    this.open.set(name, created);
    // A failed open is forgotten, so the next request tries again (unless a newer open already took its place).
    opening.catch(() => {
      if (this.open.get(name) === created) this.open.delete(name);
    });
    return opening;
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

  /** Opens a collection, creating it with `model` when there is none. */
  async getOrCreate(name: string, model: string): Promise<OpenCollection> {
    return (await this.exists(name)) ? this.get(name) : this.get(name, { create: true, model });
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
    const closeOpen = async () => {
      const entry = this.open.get(name);
      this.open.delete(name);
      if (entry) await (await entry.opening.catch(() => undefined))?.close();
    };
    if (!(await dropCollection(this.workspace, name, { beforeDrop: closeOpen, signal })))
      throw xmodalError('NOT_FOUND', `no collection "${name}"`);
  }

  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map(async (e) => (await e.opening.catch(() => undefined))?.close()));
    await Promise.all([...this.encoders.values()].map((e) => e.dispose()));
    this.encoders.clear();
  }
}
