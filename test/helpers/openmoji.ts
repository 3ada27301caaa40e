import { join } from 'node:path';
import sharp from 'sharp';
import { openMojiIcons, openMojiSvg } from '../../src/tasks/demo.js';

/** Names of OpenMoji emoji without skin-tone, flag or keycap variants, sorted. */
export function openMojiNames(): string[] {
  const skip = /(^|-)(tone|flag|keycap|light-skin|dark-skin|medium)(-|$)/;
  return Object.keys(openMojiIcons().icons)
    .filter((name) => !skip.test(name))
    .sort();
}

/**
 * Renders one OpenMoji emoji to a PNG file in `dir`; resolves to its path. `negative` inverts the colours
 * (white lines on black, a "dark mode" emoji style no training set had).
 */
export async function renderOpenMoji(
  name: string,
  dir: string,
  size = 128,
  negative = false,
): Promise<string> {
  const svg = openMojiSvg(name, size);
  const file = join(dir, `${name}${negative ? '-negative' : ''}.png`);
  const image = sharp(Buffer.from(svg)).flatten({ background: '#ffffff' });
  await (negative ? image.negate({ alpha: false }) : image).png().toFile(file);
  return file;
}

/** What an OpenMoji name says, as text: `red-apple` → `red apple`. */
export function openMojiText(name: string): string {
  return name.replace(/[-_]+/g, ' ').replace(/\d+$/, '').trim();
}
