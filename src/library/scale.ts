// The library's scale-out and bundle calls: queue an index for workers, run a worker, read the queue, bind
// two parts of a bundle. The options of `xmodal index --queue`, `worker`, `queue status` and `bind`, and the
// results they print with --json.
import type { Dtype } from '../encoders/encoder.js';
import type { QueueStatus } from '../queue/ingest-queue.js';
import { type BindMap, type BindOptions, type BindReport, bindBundle, corpusOf } from '../tasks/bind.js';
import { readLabelsFile } from '../tasks/classify.js';
import type { EnqueueReport, IngestWorker, IngestWorkerOptions } from '../tasks/distributed-ingest.js';
import type { VideoOptions } from '../tasks/video.js';
import type { StoreOptions } from './collection.js';

/** The queue's modules (BullMQ, Redis), loaded on first use: every CLI command would pay for them at start-up. */
function queueModules() {
  return import('../tasks/distributed-ingest.js');
}

/** `xmodal index PATHS --queue URL`'s options. */
export interface QueueIndexOptions extends StoreOptions {
  /** The queue: `redis://host:6379` (`--queue`). The store (`store`) must be one every worker can reach. */
  queue: string;
  /** The model a new collection is made with (`--model`); an existing one keeps its own. */
  model?: string;
  dtype?: Dtype;
  offline?: boolean;
  cacheDir?: string;
  tags?: string[];
  /** Files per queued job (`--job-size`, default 8). */
  jobSize?: number;
  /** How the workers sample videos (`--frame-every`, `--scene-threshold`, `--max-frames`, `--audio-window`). */
  video?: VideoOptions;
}

/**
 * Queues files (paths, folders, globs) of a collection for `xmodal worker`s instead of indexing them here
 * (`xmodal index --queue`). The collection is created and stamped with its model first.
 */
export async function queueIndex(
  collection: string,
  paths: string | readonly string[],
  options: QueueIndexOptions,
): Promise<EnqueueReport> {
  const { enqueueIngest } = await queueModules();
  return enqueueIngest({ home: options.home, store: options.store }, collection, {
    queue: options.queue,
    paths: typeof paths === 'string' ? [paths] : [...paths],
    model: options.model,
    encoder: { dtype: options.dtype, offline: options.offline, cacheDir: options.cacheDir },
    tags: options.tags,
    batchSize: options.jobSize,
    video: options.video,
  });
}

/** `xmodal worker`'s options. */
export interface WorkerRequest extends Omit<IngestWorkerOptions, 'encoder'> {
  dtype?: Dtype;
  /** Inference threads per model call and audio-preparation threads (`--threads`; default one per core). */
  threads?: number;
}

/**
 * Starts a worker that takes index jobs from the queue until you `close()` it (`xmodal worker`); resolves
 * once it is connected.
 */
export async function startIngestWorker(queue: string, request: WorkerRequest = {}): Promise<IngestWorker> {
  const { dtype, threads, ...options } = request;
  const { IngestWorker } = await queueModules();
  const worker = new IngestWorker(queue, {
    ...options,
    encoder: { dtype, threads, audioWorkers: threads },
  });
  try {
    await worker.ready();
  } catch (error) {
    await worker.close();
    throw error;
  }
  return worker;
}

/** Files done, pending, running and failed, with rate, ETA and the failures' reasons (`xmodal queue status`). */
export async function queueStatus(queue: string): Promise<QueueStatus> {
  const { openQueue, queueStatus: readQueueStatus, reachQueue } = await import('../queue/ingest-queue.js');
  await reachQueue(queue);
  const handle = openQueue(queue);
  try {
    return await readQueueStatus(handle, queue);
  } finally {
    await handle.close();
  }
}

/** `xmodal bind`'s options. */
export interface BindRequest extends BindOptions {
  /** The bundle folder (`--model`). */
  model: string;
  /** The part to map and the part whose space is kept (`--from`, `--to`: folder names in xmodal.json). */
  from: string;
  to: string;
  /** Text corpora (`--texts`): files of one text a line or a JSON array, or the texts themselves. */
  texts: readonly string[] | { files: readonly string[] };
  /** Folder the bridged bundle is written to (`--out`). */
  out: string;
  map?: BindMap;
  dtype?: Dtype;
  offline?: boolean;
  cacheDir?: string;
}

/** Joins two parts of a bundle into one space through a learned map and writes the bridged bundle (`xmodal bind`). */
export async function bind(request: BindRequest): Promise<BindReport & { bundle: string }> {
  const { model, from, to, texts, out, dtype, offline, cacheDir, ...options } = request;
  const corpus =
    'files' in texts
      ? corpusOf(await Promise.all(texts.files.map((file) => readLabelsFile(file))))
      : corpusOf([texts]);
  return bindBundle(model, { from, to }, corpus, out, { ...options, encoder: { dtype, offline, cacheDir } });
}
