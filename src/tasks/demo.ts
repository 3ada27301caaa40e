import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { locateModel, modelId, SHIPPED_MODELS_DIR } from '../encoders/load.js';
import { xmodalError } from '../errors.js';
import { dropCollection } from '../store/open.js';
import { type IngestReport, ingest } from './ingest.js';
import {
  findCollection,
  type OpenCollection,
  openCollection,
  storeLocation,
  type Workspace,
} from './workspace.js';

export const DEMO_COLLECTION = 'demo';
/** Clips rendered once from held-out sound sources and committed (demo/build_demo_audio.py). */
export const DEMO_AUDIO_DIR = resolve(SHIPPED_MODELS_DIR, '..', 'demo', 'audio');
const DEMO_IMAGE_COUNT = 320;
const SKIP =
  /(^|-)(tone|flag|button|sign|symbol|keycap|family|couple|kiss|holding-hands|light-skin|dark-skin|medium)(-|$)/;

interface IconSet {
  icons: Record<string, { body: string; width?: number; height?: number }>;
  width?: number;
  height?: number;
}

let openMojiSet: IconSet | undefined;

/** The OpenMoji icon set from its npm package (a style xmodal-mini never trained on), loaded once. */
export function openMojiIcons(): IconSet {
  openMojiSet ??= createRequire(import.meta.url)('@iconify-json/openmoji/icons.json') as IconSet;
  return openMojiSet;
}

/** One OpenMoji emoji as a standalone SVG document of `size` pixels. */
export function openMojiSvg(name: string, size = 256): string {
  const set = openMojiIcons();
  const icon = set.icons[name];
  if (!icon) throw xmodalError('NOT_FOUND', `no OpenMoji icon ${name}`);
  const [w, h] = [icon.width ?? set.width ?? 72, icon.height ?? set.height ?? 72];
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${size}" height="${size}">${icon.body}</svg>`;
}

/** A spread of OpenMoji emoji, named by what they show. */
function demoIcons(): [string, string][] {
  const set = openMojiIcons();
  const names = Object.keys(set.icons)
    .filter((name) => !SKIP.test(name) && name.split('-').length <= 3)
    .sort();
  const step = Math.max(1, names.length / DEMO_IMAGE_COUNT);
  const picked = new Set<string>();
  for (let i = 0; i < names.length && picked.size < DEMO_IMAGE_COUNT; i += step)
    picked.add(names[Math.floor(i)]);
  for (const must of ['dog', 'cat', 'red-apple', 'automobile', 'piano', 'sun', 'house', 'guitar'])
    if (set.icons[must]) picked.add(must);
  return [...picked].map((name) => [name, openMojiSvg(name)]);
}

/** Renders the demo emoji to PNG files once (they are what search results show and serve). */
async function renderDemoImages(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const [name, svg] of demoIcons()) {
    const file = join(dir, `${name}.png`);
    if (!existsSync(file)) await sharp(Buffer.from(svg)).png().toFile(file);
  }
  writeFileSync(
    join(dir, 'SOURCE.txt'),
    'OpenMoji (CC BY-SA 4.0, openmoji.org) via @iconify-json/openmoji\n',
  );
}

/**
 * Builds (or brings up to date) the demo collection from media that ship with xmodal: OpenMoji emoji and
 * the committed instrument, drum and speech clips. Unchanged files are skipped, so later runs are instant.
 */
export async function buildDemoCollection(
  workspace: Workspace,
  options: { model?: string; onProgress?: (stage: string, report?: IngestReport) => void } = {},
): Promise<OpenCollection> {
  const mediaDir = join(resolve(storeLocation({ home: workspace.home })), '..', 'demo-media');
  options.onProgress?.('rendering demo images');
  await renderDemoImages(join(mediaDir, 'emoji'));
  // The demo collection is xmodal's own: when the model changes, it is rebuilt rather than refused.
  const existing = await findCollection(workspace, DEMO_COLLECTION);
  if (existing && existing.encoderId !== modelId(locateModel(options.model)))
    await dropCollection(storeLocation(workspace), DEMO_COLLECTION);
  const collection = await openCollection(workspace, DEMO_COLLECTION, { model: options.model, create: true });
  try {
    const images = await ingest(collection, { paths: [join(mediaDir, 'emoji', '*.png')], tags: ['emoji'] });
    options.onProgress?.('emoji indexed', images);
    const sounds = await ingest(collection, { paths: [join(DEMO_AUDIO_DIR, '*.ogg')], tags: ['sound'] });
    options.onProgress?.('sounds indexed', sounds);
  } catch (error) {
    await collection.close();
    throw error;
  }
  return collection;
}
