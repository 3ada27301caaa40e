import type { Command } from 'commander';
import { xmodalError } from '../errors.js';
import { embed, type InputLike } from '../library/model.js';
import { out } from './io.js';
import { type ModelFlags, openEncoder, printJson } from './shared.js';

interface EmbedFlags extends ModelFlags {
  text?: string[];
  image?: string[];
  audio?: string[];
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerEmbed(program: Command, withModelFlags: (c: Command) => Command): void {
  withModelFlags(
    program
      .command('embed')
      .description('print the embedding of texts, images or audio clips')
      .option('--text <text>', 'a text to embed (repeatable)', collect)
      .option('--image <path>', 'an image file to embed (repeatable)', collect)
      .option('--audio <path>', 'an audio file to embed (repeatable)', collect)
      .option('--json', 'print {"model","dim","embeddings":[{"input","modality","embedding"}]}'),
  ).action(async (flags: EmbedFlags) => {
    const inputs: InputLike[] = [
      ...(flags.text ?? []).map((text) => ({ text })),
      ...(flags.image ?? []).map((image) => ({ image })),
      ...(flags.audio ?? []).map((audio) => ({ audio })),
    ];
    if (inputs.length === 0)
      throw xmodalError('BAD_ARGUMENT', 'nothing to embed: give --text, --image or --audio');
    const encoder = await openEncoder(flags);
    try {
      const result = await embed(inputs, { model: encoder });
      if (flags.json) {
        printJson(result);
        return;
      }
      for (const item of result.embeddings) {
        const head = item.embedding
          .slice(0, 6)
          .map((x) => x.toFixed(4))
          .join(', ');
        out(`${item.modality}\t${item.input}\t[${head}, ...] (${result.dim} dims)\n`);
      }
    } finally {
      await encoder.dispose();
    }
  });
}
