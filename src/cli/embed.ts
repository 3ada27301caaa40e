import type { Command } from 'commander';
import { xmodalError } from '../errors.js';
import { embedInputs, type Input } from '../tasks/embed.js';
import { out, printJson } from './io.js';
import { type ModelFlags, openEncoder } from './shared.js';

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
    const inputs: { label: string; input: Input }[] = [
      ...(flags.text ?? []).map((text) => ({ label: text, input: { modality: 'text', text } as Input })),
      ...(flags.image ?? []).map((source) => ({
        label: source,
        input: { modality: 'image', source } as Input,
      })),
      ...(flags.audio ?? []).map((source) => ({
        label: source,
        input: { modality: 'audio', source } as Input,
      })),
    ];
    if (inputs.length === 0)
      throw xmodalError('BAD_ARGUMENT', 'nothing to embed: give --text, --image or --audio');
    const encoder = await openEncoder(flags);
    try {
      const vectors = await embedInputs(
        encoder,
        inputs.map((i) => i.input),
      );
      if (flags.json) {
        printJson({
          model: encoder.id,
          dim: encoder.dim,
          embeddings: inputs.map((item, i) => ({
            input: item.label,
            modality: item.input.modality,
            embedding: Array.from(vectors[i]),
          })),
        });
        return;
      }
      inputs.forEach((item, i) => {
        const head = Array.from(vectors[i].slice(0, 6), (x) => x.toFixed(4)).join(', ');
        out(`${item.input.modality}\t${item.label}\t[${head}, ...] (${encoder.dim} dims)\n`);
      });
    } finally {
      await encoder.dispose();
    }
  });
}
