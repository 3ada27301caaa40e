// Ingest spread over machines: `enqueueIngest` turns paths into queue jobs; an `IngestWorker` embeds each job's
// files with the collection's own model and writes them to the shared store with `ingest` (ids and content
// hashes make a job delivered twice write nothing twice).
import { hostname } from 'node:os';
import { type Job, UnrecoverableError } from 'bullmq';
import type { Encoder, EncoderOptions } from '../encoders/encoder.js';
import { loadEncoder, locateModel, modelId } from '../encoders/load.js';
import { asXmodalError, xmodalError } from '../errors.js';
import {
  enqueueFiles,
  type IngestJob,
  type IngestJobResult,
  openQueue,
  reachQueue,
  requeueSingly,
  startWorker,
  type WorkerOptions,
} from '../queue/ingest-queue.js';
import { isSharedLocation, listCollections, openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { checkWeights } from '../store/validate.js';
import { expandPaths } from './expand-paths.js';
import { ingest } from './ingest.js';
import { checkVideoOptions, type VideoOptions } from './video.js';
import { openCollection, storeLocation, type Workspace } from './workspace.js';

export interface EnqueueReport {
  collection: string;
  encoderId: string;
  store: string;
  files: number;
  jobs: number;
  /** Named paths that are missing or not files, with why. */
  skipped: { path: string; reason: string }[];
}

function checkShared(location: string): void {
  if (!isSharedLocation(location)) {
    throw xmodalError(
      'BAD_ARGUMENT',
      `--queue needs a store every worker can reach (--store postgres://… or milvus://…); ${location} is an embedded store on this machine`,
    );
  }
}

/** Creates the collection if needed (stamped with its model) and queues its files; workers do the rest. */
export async function enqueueIngest(
  workspace: Workspace,
  collection: string,
  options: {
    queue: string;
    paths: string[];
    model?: string;
    encoder?: EncoderOptions;
    tags?: string[];
    batchSize?: number;
    video?: VideoOptions;
  },
): Promise<EnqueueReport> {
  const location = storeLocation(workspace);
  checkShared(location);
  if (options.video) checkVideoOptions(options.video);
  await reachQueue(options.queue);
  const { files, skipped } = await expandPaths(options.paths);
  const opened = await openCollection(workspace, collection, {
    model: options.model,
    create: true,
    encoder: options.encoder,
  });
  const { encoderId } = opened.info;
  await opened.close();
  const queue = openQueue(options.queue);
  try {
    const jobs = await enqueueFiles(
      queue,
      { store: location, collection, encoderId, tags: options.tags, video: options.video },
      files,
      { batchSize: options.batchSize },
    );
    return { collection, encoderId, store: location, files: files.length, jobs, skipped };
  } finally {
    await queue.close();
  }
}

export interface IngestWorkerOptions extends WorkerOptions {
  /** Use this store instead of the one each job names (e.g. another address for the same database). */
  store?: string;
  /** Models this worker serves; a job for another model is refused. Default: any model it can load offline. */
  models?: string[];
  encoder?: EncoderOptions;
  onJob?: (event: { job: string; files: number; result?: IngestJobResult; error?: string }) => void;
  /** Queue connection trouble (BullMQ keeps retrying), told once per distinct message. */
  onWarning?: (message: string) => void;
  /** Most collections kept open between jobs (default 16), the least recently used closed first. */
  openCollections?: number;
}

/** A collection's store as a worker keeps it between jobs: `users` jobs write it now. */
interface HeldStore {
  opening: Promise<Store>;
  encoderId: string;
  users: number;
  /** Left the pool (evicted, or its collection changed): closed once no job writes it. */
  retired?: boolean;
}

/** Why this worker does not take a job for a model: the job's failure, as queue status shows it. */
function refusal(encoderId: string, why: string): Error {
  return new Error(`worker on ${hostname()} refuses model ${encoderId}: ${why}`);
}

/** Takes ingest jobs from the queue until `close()`. */
export class IngestWorker {
  readonly #queueUrl: string;
  readonly #options: IngestWorkerOptions;
  readonly #allowed: Set<string> | undefined;
  readonly #encoders = new Map<string, Promise<Encoder>>();
  /** Open stores by location and collection, least recently used first. */
  readonly #stores = new Map<string, HeldStore>();
  readonly #queue;
  readonly #worker;

  constructor(queueUrl: string, options: IngestWorkerOptions = {}) {
    this.#queueUrl = queueUrl;
    this.#options = options;
    if (options.store) checkShared(options.store);
    this.#allowed = options.models && new Set(options.models.map((m) => modelId(locateModel(m))));
    this.#queue = openQueue(queueUrl);
    this.#worker = startWorker(queueUrl, (job) => this.#process(job), options);
    this.#worker.on('failed', (job, error) =>
      options.onJob?.({ job: String(job?.id), files: job?.data.files.length ?? 0, error: error.message }),
    );
    // Connection trouble is retried by BullMQ; say it once (not at every reconnect), never crash on it.
    let last = '';
    this.#worker.on('error', (error) => {
      if (error.message !== last) options.onWarning?.(error.message);
      last = error.message;
    });
    this.#worker.on('ready', () => {
      last = '';
    });
  }

  /** Resolves once connected to the queue. */
  async ready(): Promise<void> {
    await this.#worker.waitUntilReady();
  }

  get queue(): string {
    return this.#queueUrl;
  }

  /** Finishes the jobs in hand, then releases the queue, the stores and the models. */
  async close(): Promise<void> {
    await this.#worker.close();
    await this.#queue.close();
    for (const held of this.#stores.values()) await (await held.opening.catch(() => undefined))?.close();
    this.#stores.clear();
    for (const encoder of this.#encoders.values()) await (await encoder.catch(() => undefined))?.dispose();
  }

  /** Collections this worker holds open now (at most `openCollections` idle ones). */
  get openCollections(): number {
    return this.#stores.size;
  }

  async #process(job: Job<IngestJob, IngestJobResult>): Promise<IngestJobResult> {
    const { data } = job;
    const encoder = await this.#encoderFor(data.encoderId);
    const location = this.#options.store ?? data.store;
    const report = await this.#withStore(location, data.collection, encoder, async (store) => {
      try {
        // Same id, other weights (a model retrained or upgraded on this machine): its vectors would not match.
        checkWeights(data.collection, store.info.encoder, encoder.spec);
      } catch (error) {
        throw refusal(data.encoderId, asXmodalError(error).message);
      }
      return ingest(
        { encoder, store, info: store.info, close: async () => {} },
        { paths: data.files, tags: data.tags, lookup: 'files', video: data.video },
      );
    });
    // A video this worker cannot decode (no ffmpeg) fails here, so that it is retried, maybe on another machine.
    const failed = [...report.failed, ...report.skipped];
    if (failed.length > 0 && data.single) {
      // The failed list names the file; the reason is the job's failure.
      throw new Error(failed[0].reason);
    }
    // The rest of the batch is in the store; each bad file gets its own attempts and its own failed entry.
    if (failed.length > 0)
      await requeueSingly(
        this.#queue,
        job,
        failed.map((f) => f.path),
      );
    const result = { indexed: report.indexed, unchanged: report.unchanged, retried: failed.length };
    this.#options.onJob?.({ job: String(job.id), files: data.files.length, result });
    return result;
  }

  #encoderFor(encoderId: string): Promise<Encoder> {
    let encoder = this.#encoders.get(encoderId);
    if (!encoder) {
      encoder = this.#loadEncoder(encoderId);
      this.#encoders.set(encoderId, encoder);
    }
    return encoder;
  }

  async #loadEncoder(encoderId: string): Promise<Encoder> {
    if (this.#allowed && !this.#allowed.has(encoderId)) {
      throw refusal(encoderId, `it serves only ${[...this.#allowed].join(', ')}`);
    }
    try {
      return await loadEncoder(encoderId, { offline: true, spinThreads: false, ...this.#options.encoder });
    } catch (error) {
      throw refusal(encoderId, asXmodalError(error).message);
    }
  }

  /**
   * Runs `work` on the collection's store, kept open for the next jobs. A collection that is gone is not made
   * again (the files were queued before it was dropped); one made anew under the name, with another model, is
   * opened anew; a job that fails lets the next one open the store afresh.
   */
  async #withStore<T>(
    location: string,
    collection: string,
    encoder: Encoder,
    work: (store: Store) => Promise<T>,
  ): Promise<T> {
    checkShared(location);
    const key = `${location}\n${collection}`;
    let held = this.#stores.get(key);
    if (held && held.encoderId !== encoder.id) {
      this.#retire(key, held);
      held = undefined;
    }
    if (held)
      this.#stores.delete(key); // most recently used last
    else {
      held = { opening: this.#openExisting(location, collection, encoder), encoderId: encoder.id, users: 0 };
      const opened = held;
      opened.opening.catch(() => this.#retire(key, opened));
    }
    this.#stores.set(key, held);
    held.users++;
    try {
      return await work(await held.opening);
    } catch (error) {
      this.#retire(key, held);
      throw error;
    } finally {
      held.users--;
      if (held.retired && held.users === 0) this.#close(held);
      this.#evictIdle();
    }
  }

  async #openExisting(location: string, collection: string, encoder: Encoder): Promise<Store> {
    // Opening would create it: a collection dropped while its files waited in the queue would come back.
    if (!(await listCollections(location)).some((c) => c.name === collection))
      throw new UnrecoverableError(
        `collection "${collection}" is not in the store (dropped after its files were queued); queue them again to index them`,
      );
    return openStore(location, { collection, dim: encoder.dim, encoderId: encoder.id });
  }

  /** Takes a store out of the pool; it is closed once no job writes it. */
  #retire(key: string, held: HeldStore): void {
    if (this.#stores.get(key) === held) this.#stores.delete(key);
    if (held.retired) return;
    held.retired = true;
    if (held.users === 0) this.#close(held);
  }

  #close(held: HeldStore): void {
    held.opening.then(
      (store) => store.close().catch(() => {}), // nothing to report: the next job opens it again
      () => {},
    );
  }

  /** Closes the least recently used idle stores while more than `openCollections` are open. */
  #evictIdle(): void {
    let excess = this.#stores.size - (this.#options.openCollections ?? 16);
    for (const [key, held] of this.#stores) {
      if (excess <= 0) return;
      if (held.users > 0) continue;
      this.#retire(key, held);
      excess--;
    }
  }
}
