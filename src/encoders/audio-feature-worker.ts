// Runs in a worker thread: prepares clips (decode, resample, window, features) on another core while the
// main thread runs the model.
import { parentPort, workerData } from 'node:worker_threads';
import { AutoFeatureExtractor } from '@huggingface/transformers';
import { InferenceSession } from 'onnxruntime-node';
import { errorMessage, XmodalError } from '../errors.js';
import { clipFeatures, type FeatureReply, type FeatureRequest } from './audio-features.js';

/**
 * transformers.js runs part of the feature maths (the mel filter bank's matrix product) in small ONNX sessions
 * made with onnxruntime's defaults: a pool of one thread per core, each thread pinned to its own core. Every
 * feature worker of every process on the machine then piled that work onto the same core, and a process held
 * to some cores (taskset, a container's cpuset) still ran on another. In this thread every session gets one
 * thread, unpinned; the pool of feature workers is the parallelism.
 */
function oneThreadPerSession(): void {
  const create = InferenceSession.create.bind(InferenceSession) as (
    ...args: unknown[]
  ) => Promise<InferenceSession>;
  const defaults = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const isOptions = (value: unknown) =>
    typeof value === 'object' &&
    value !== null &&
    !ArrayBuffer.isView(value) &&
    !(value instanceof ArrayBuffer);
  (InferenceSession as { create: unknown }).create = (...args: unknown[]) => {
    const last = args.at(-1);
    if (args.length > 1 && isOptions(last))
      return create(...args.slice(0, -1), { ...defaults, ...(last as object) });
    return create(...args, defaults);
  };
}
oneThreadPerSession();

const { source, loadOptions } = workerData as { source: string; loadOptions: Record<string, unknown> };
const extractor = AutoFeatureExtractor.from_pretrained(source, loadOptions);

// One clip at a time: clips overlapping inside one worker would each hold their decoded audio at once.
let queue: Promise<void> = Promise.resolve();

parentPort?.on('message', (request: FeatureRequest) => {
  queue = queue.then(() => prepare(request));
});

async function prepare({ id, input }: FeatureRequest): Promise<void> {
  try {
    const windows = await clipFeatures(await extractor, input);
    const transfer = windows.map((w) => w.data.buffer as ArrayBuffer);
    parentPort?.postMessage({ id, windows } satisfies FeatureReply, transfer);
  } catch (error) {
    const code = error instanceof XmodalError ? error.code : undefined;
    const message = errorMessage(error);
    parentPort?.postMessage({ id, error: { code, message } } satisfies FeatureReply);
  }
}
