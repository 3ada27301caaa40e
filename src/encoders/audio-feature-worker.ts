// Runs in a worker thread: prepares clips (decode, resample, window, features) on another core while the
// main thread runs the model.
import { parentPort, workerData } from 'node:worker_threads';
import { AutoFeatureExtractor } from '@huggingface/transformers';
import { errorMessage, XmodalError } from '../errors.js';
import { clipFeatures, type FeatureReply, type FeatureRequest } from './audio-features.js';

const { source, loadOptions } = workerData as { source: string; loadOptions: Record<string, unknown> };
const extractor = AutoFeatureExtractor.from_pretrained(source, loadOptions);

parentPort?.on('message', async ({ id, input }: FeatureRequest) => {
  try {
    const windows = await clipFeatures(await extractor, input);
    const transfer = windows.map((w) => w.data.buffer as ArrayBuffer);
    parentPort?.postMessage({ id, windows } satisfies FeatureReply, transfer);
  } catch (error) {
    const code = error instanceof XmodalError ? error.code : undefined;
    const message = errorMessage(error);
    parentPort?.postMessage({ id, error: { code, message } } satisfies FeatureReply);
  }
});
