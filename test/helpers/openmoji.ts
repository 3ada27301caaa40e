import { createRequire } from 'node:module';
import { join } from 'node:path';
import sharp from 'sharp';

interface IconSet {
  icons: Record<string, { body: string; width?: number; height?: number }>;
  width?: number;
  height?: number;
}

let cached: IconSet | undefined;

/** The OpenMoji icon set (a style xmodal-mini never trained on). */
export function openMoji(): IconSet {
  cached ??= createRequire(import.meta.url)('@iconify-json/openmoji/icons.json') as IconSet;
  return cached;
}

/** Names of OpenMoji emoji without skin-tone, flag or keycap variants, sorted. */
export function openMojiNames(): string[] {
  const skip = /(^|-)(tone|flag|keycap|light-skin|dark-skin|medium)(-|$)/;
  return Object.keys(openMoji().icons)
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
  const set = openMoji();
  const icon = set.icons[name];
  if (!icon) throw new Error(`no OpenMoji icon ${name}`);
  const [w, h] = [icon.width ?? set.width ?? 72, icon.height ?? set.height ?? 72];
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${size}" height="${size}">${icon.body}</svg>`;
  const file = join(dir, `${name}${negative ? '-negative' : ''}.png`);
  const image = sharp(Buffer.from(svg)).flatten({ background: '#ffffff' });
  await (negative ? image.negate({ alpha: false }) : image).png().toFile(file);
  return file;
}

/** What an OpenMoji name says, as text: `red-apple` → `red apple`. */
export function openMojiText(name: string): string {
  return name.replace(/[-_]+/g, ' ').replace(/\d+$/, '').trim();
}
