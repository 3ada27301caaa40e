import type { Command } from 'commander';
import { similarity } from '../library/model.js';
import { out } from './io.js';
import { type ModelFlags, openEncoder, printJson } from './shared.js';

export function registerSimilarity(program: Command, withModelFlags: (c: Command) => Command): void {
  withModelFlags(
    program
      .command('similarity')
      .description(
        'cosine similarity of two inputs of any modalities (text, or an image/audio file; prefix text:, image:, audio: to force)',
      )
      .argument('<a>', 'first input')
      .argument('<b>', 'second input')
      .option('--json', 'print {"model","a","b","similarity"}'),
  ).action(async (a: string, b: string, flags: ModelFlags & { json?: boolean }) => {
    const encoder = await openEncoder(flags);
    try {
      const result = await similarity(a, b, { model: encoder });
      if (flags.json) printJson(result);
      else out(`${result.similarity.toFixed(4)}\n`);
    } finally {
      await encoder.dispose();
    }
  });
}
