import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { locateModel, modelId, SHIPPED_MODELS_DIR } from '../encoders/load.js';
import { XmodalError, xmodalError } from '../errors.js';
import { FFMPEG_HINT, findVideoTools } from '../media/video.js';
import { dropCollection } from './collection-lock.js';
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

/** A still scene of a video: an OpenMoji picture on white for some seconds, a sound clip looped under it. */
export interface Scene {
  picture: string;
  seconds: number;
  /** A sound file; none leaves the scene silent. */
  sound?: string;
}

/** How ffmpeg writes a video: the muxer and its codec arguments. */
export interface VideoFormat {
  ext: string;
  muxer: string;
  video: string[];
  audio: string[];
}

export const MP4: VideoFormat = {
  ext: 'mp4',
  muxer: 'mp4',
  video: ['-c:v', 'libx264', '-preset', 'veryfast'],
  audio: ['-c:a', 'aac'],
};

/**
 * Encodes still scenes into a video with ffmpeg (each picture on white, each scene's sound looped under it);
 * `withAudio: false` leaves out the sound track. Written under a temporary name, then renamed.
 */
export async function buildSceneVideo(
  out: string,
  scenes: readonly Scene[],
  options: { format?: VideoFormat; withAudio?: boolean; size?: number; fps?: number } = {},
): Promise<string> {
  const tools = findVideoTools();
  if (!tools) throw xmodalError('UNSUPPORTED_FORMAT', `building a video needs ffmpeg: ${FFMPEG_HINT}`);
  const { format = MP4, withAudio = true, size = 256, fps = 10 } = options;
  const pictures = mkdtempSync(join(tmpdir(), 'xmodal-scenes-'));
  const inputs: string[] = [];
  const graph: string[] = [];
  try {
    for (const [i, scene] of scenes.entries()) {
      const png = join(pictures, `${i}.png`);
      await sharp(Buffer.from(openMojiSvg(scene.picture, size)))
        .flatten({ background: '#ffffff' })
        .png()
        .toFile(png);
      inputs.push('-loop', '1', '-framerate', String(fps), '-t', String(scene.seconds), '-i', png);
      graph.push(`[${i}:v]scale=${size}:${size},setsar=1,format=yuv420p[v${i}]`);
    }
    graph.push(`${scenes.map((_, i) => `[v${i}]`).join('')}concat=n=${scenes.length}:v=1:a=0[v]`);
    if (withAudio) {
      for (const [i, scene] of scenes.entries()) {
        if (scene.sound) inputs.push('-stream_loop', '-1', '-i', scene.sound);
        else inputs.push('-f', 'lavfi', '-t', String(scene.seconds), '-i', 'anullsrc=r=48000:cl=mono');
        // Counted in samples: a looped clip's timestamps drift, and trimming by time would cut it short.
        graph.push(
          `[${scenes.length + i}:a]aformat=sample_rates=48000:channel_layouts=mono,asetpts=N/SR/TB,atrim=end_sample=${Math.round(scene.seconds * 48_000)}[a${i}]`,
        );
      }
      graph.push(`${scenes.map((_, i) => `[a${i}]`).join('')}concat=n=${scenes.length}:v=0:a=1[a]`);
    }
    const partial = join(dirname(out), `.${process.pid}.partial.${format.ext}`);
    await promisify(execFile)(tools.ffmpeg, [
      '-v',
      'error',
      '-nostdin',
      '-y',
      ...inputs,
      '-filter_complex',
      graph.join(';'),
      '-map',
      '[v]',
      ...(withAudio ? ['-map', '[a]', ...format.audio] : []),
      ...format.video,
      '-pix_fmt',
      'yuv420p',
      '-f',
      format.muxer,
      partial,
    ]);
    renameSync(partial, out);
  } finally {
    rmSync(pictures, { recursive: true, force: true });
  }
  return out;
}

/** The demo's video: OpenMoji scenes, each with a demo clip that fits it. */
const DEMO_SCENES: Scene[] = [
  { picture: 'dog', seconds: 4, sound: join(DEMO_AUDIO_DIR, 'speech-dog.ogg') },
  { picture: 'automobile', seconds: 4, sound: join(DEMO_AUDIO_DIR, 'speech-car.ogg') },
  {
    picture: 'musical-keyboard',
    seconds: 4,
    sound: join(DEMO_AUDIO_DIR, 'instrument-acoustic-grand-piano.ogg'),
  },
  { picture: 'guitar', seconds: 4, sound: join(DEMO_AUDIO_DIR, 'instrument-acoustic-guitar-nylon.ogg') },
  { picture: 'bird', seconds: 4, sound: join(DEMO_AUDIO_DIR, 'instrument-bird-tweet.ogg') },
];

/** Indexes the demo video, building it first with ffmpeg; without ffmpeg the demo goes on without it. */
async function addDemoVideo(
  collection: OpenCollection,
  dir: string,
  onProgress?: (stage: string, report?: IngestReport) => void,
): Promise<void> {
  if (!findVideoTools()) {
    onProgress?.(`demo video skipped: ${FFMPEG_HINT}`);
    return;
  }
  mkdirSync(dir, { recursive: true });
  const video = join(dir, 'emoji-scenes.mp4');
  if (!existsSync(video)) {
    onProgress?.('building the demo video with ffmpeg');
    await buildSceneVideo(video, DEMO_SCENES);
  }
  onProgress?.('video indexed', await ingest(collection, { paths: [video], tags: ['video'] }));
}

/**
 * The demo collection, opened with `model` as it is now. The demo is xmodal's own, so one made with another model
 * or other weights (a new release of xmodal-mini) is dropped and made again rather than refused: its ingest skips
 * unchanged files and would keep showing the old vectors. One indexed before weights were recorded cannot say
 * which weights its vectors are from, so it is made again too.
 */
export async function openCurrentDemo(workspace: Workspace, model?: string): Promise<OpenCollection> {
  const open = () => openCollection(workspace, DEMO_COLLECTION, { model, create: true });
  const existing = await findCollection(workspace, DEMO_COLLECTION);
  if (existing?.encoderId === modelId(locateModel(model))) {
    const collection = await open().catch((error) => {
      if (error instanceof XmodalError && error.code === 'ENCODER_MISMATCH') return undefined; // other weights
      throw error;
    });
    // Current only when stamped with the weights loaded now; an unstamped one cannot say, so it is made again.
    if (collection && collection.info.encoder?.weights === collection.encoder.spec.weights) return collection;
    await collection?.close();
  }
  if (existing) await dropCollection(workspace, DEMO_COLLECTION);
  return open();
}

/**
 * Builds (or brings up to date) the demo collection from media that ship with xmodal: OpenMoji emoji, the
 * committed instrument, drum and speech clips, and a short video made of both (when ffmpeg is on PATH).
 * Unchanged files are skipped, so later runs are instant.
 */
export async function buildDemoCollection(
  workspace: Workspace,
  options: { model?: string; onProgress?: (stage: string, report?: IngestReport) => void } = {},
): Promise<OpenCollection> {
  const mediaDir = join(resolve(storeLocation({ home: workspace.home })), '..', 'demo-media');
  options.onProgress?.('rendering demo images');
  await renderDemoImages(join(mediaDir, 'emoji'));
  const collection = await openCurrentDemo(workspace, options.model);
  try {
    const images = await ingest(collection, { paths: [join(mediaDir, 'emoji', '*.png')], tags: ['emoji'] });
    options.onProgress?.('emoji indexed', images);
    const sounds = await ingest(collection, { paths: [join(DEMO_AUDIO_DIR, '*.ogg')], tags: ['sound'] });
    options.onProgress?.('sounds indexed', sounds);
    await addDemoVideo(collection, join(mediaDir, 'video'), options.onProgress);
  } catch (error) {
    await collection.close();
    throw error;
  }
  return collection;
}
