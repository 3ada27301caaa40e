import { copyFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './paths.js';

/** A copy of a model folder in a temporary folder, whose weights a test may change as a retrain or a release would. */
export function copyModel(folder: string): string {
  const copy = tempDir('xmodal-model-');
  cpSync(folder, copy, { recursive: true });
  return copy;
}

/**
 * Gives a tower of a model folder other weights: its quantised ONNX file (a real model of the same shape,
 * `onnx/<tower>_quantized.onnx`) takes the place of the fp32 one the encoder loads.
 */
export function changeWeights(folder: string, tower: 'text_model' | 'vision_model' | 'audio_model'): void {
  copyFileSync(join(folder, 'onnx', `${tower}_quantized.onnx`), join(folder, 'onnx', `${tower}.onnx`));
}
