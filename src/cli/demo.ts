import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_MODEL, SHIPPED_MODELS_DIR } from '../encoders/load.js';
import { dot } from '../encoders/vectors.js';
import { type ModelFlags, openEncoder } from './shared.js';

/** Until search lands, the demo embeds a few shipped images and texts and prints how they match. */
export function registerDemo(program: Command, withModelFlags: (c: Command) => Command): void {
  withModelFlags(program.command('demo').description('a small offline demo on shipped media')).action(
    async (flags: ModelFlags) => {
      const imageDir = resolve(SHIPPED_MODELS_DIR, '..', 'test', 'fixtures', 'images');
      const images = readdirSync(imageDir)
        .filter((f) => /\.(png|jpe?g|webp)$/i.test(f))
        .slice(0, 4)
        .map((f) => join(imageDir, f));
      const texts = ['a red circle', 'a blue square', 'a photo of a dog'];
      // Until xmodal-mini ships, the demo runs on the random-weight fixture model: the plumbing, not the quality.
      const fallback = existsSync(join(SHIPPED_MODELS_DIR, DEFAULT_MODEL))
        ? undefined
        : join(imageDir, '..', 'models', 'tiny-clip');
      const encoder = await openEncoder({
        ...flags,
        model: flags.model ?? process.env.XMODAL_MODEL ?? fallback,
      });
      try {
        const [imageVectors, textVectors] = [
          await encoder.embedImages(images),
          await encoder.embedText(texts),
        ];
        process.stdout.write(`model ${encoder.id} (${encoder.dim} dims)\n`);
        images.forEach((image, i) => {
          const scores = texts.map((t, j) => `${t}: ${dot(imageVectors[i], textVectors[j]).toFixed(3)}`);
          process.stdout.write(`${image.split('/').pop()}\t${scores.join('\t')}\n`);
        });
      } finally {
        await encoder.dispose();
      }
    },
  );
}
