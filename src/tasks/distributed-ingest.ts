// Ingest spread over machines: `enqueueIngest` turns paths into queue jobs; an `IngestWorker` embeds each job's
// files with the collection's own model and writes them to the shared store with `ingest` (ids and content
// hashes make a job delivered twice write nothing twice).
import { hostname } from 'node:os';
import type { Job } from 'bullmq';
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
import { isSharedLocation, openStore } from '../store/open.js';
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
  readonly #stores = new Map<string, Promise<Store>>();
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
    for (const store of this.#stores.values()) await (await store.catch(() => undefined))?.close();
    for (const encoder of this.#encoders.values()) await (await encoder.catch(() => undefined))?.dispose();
  }

  async #process(job: Job<IngestJob, IngestJobResult>): Promise<IngestJobResult> {
    const { data } = job;
    const encoder = await this.#encoderFor(data.encoderId);
    const store = await this.#storeFor(this.#options.store ?? data.store, data.collection, encoder);
    try {
      // Same id, other weights (a model retrained or upgraded on this machine): its vectors would not match.
      checkWeights(data.collection, store.info.encoder, encoder.spec);
    } catch (error) {
      throw refusal(data.encoderId, asXmodalError(error).message);
    }
    const report = await ingest(
      { encoder, store, info: store.info, close: async () => {} },
      { paths: data.files, tags: data.tags, lookup: 'files', video: data.video },
    );
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

  async #storeFor(location: string, collection: string, encoder: Encoder): Promise<Store> {
    checkShared(location);
    const key = `${location}\n${collection}`;
    let store = this.#stores.get(key);
    if (!store) {
      store = openStore(location, { collection, dim: encoder.dim, encoderId: encoder.id });
      this.#stores.set(key, store);
      // A store that failed to open (server down) is tried again by the next job.
      store.catch(() => this.#stores.delete(key));
    }
    return store;
  }
}
