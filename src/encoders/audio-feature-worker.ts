// Runs in a worker thread: prepares clips (decode, resample, window, features) on another core while the
// main thread runs the model.
import { parentPort, workerData } from 'node:worker_threads';
import { AutoFeatureExtractor } from '@huggingface/transformers';
import { errorMessage, XmodalError } from '../errors.js';
import { clipFeatures, type FeatureReply, type FeatureRequest } from './audio-features.js';

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
