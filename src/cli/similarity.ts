import type { Command } from 'commander';
import { parseInput, similarity } from '../tasks/embed.js';
import { out, printJson } from './io.js';
import { type ModelFlags, openEncoder } from './shared.js';

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
    const [inputA, inputB] = await Promise.all([parseInput(a), parseInput(b)]);
    const encoder = await openEncoder(flags);
    try {
      const score = await similarity(encoder, inputA, inputB);
      if (flags.json)
        printJson({ model: encoder.id, a: inputA.modality, b: inputB.modality, similarity: score });
      else out(`${score.toFixed(4)}\n`);
    } finally {
      await encoder.dispose();
    }
  });
}
