// Videos made at test time with ffmpeg from known pictures (OpenMoji) and known sounds (the demo's clips).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findVideoTools } from '../../src/media/video.js';
import { renderOpenMoji } from './openmoji.js';
import { ROOT } from './paths.js';

const run = promisify(execFile);

export const VIDEO_TOOLS = findVideoTools();
/** A `skip` reason for tests that need ffmpeg (CI installs it). */
export const NO_FFMPEG: string | false = VIDEO_TOOLS ? false : 'ffmpeg and ffprobe are not on PATH';

export const DEMO_SOUND = (name: string) => join(ROOT, 'demo', 'audio', `${name}.ogg`);

export interface Scene {
  /** An OpenMoji name. */
  picture: string;
  seconds: number;
  /** A clip looped under the scene; none leaves it silent. */
  sound?: string;
}

export interface VideoFormat {
  ext: string;
  /** ffmpeg's muxer. */
  muxer: string;
  video: string[];
  audio: string[];
}

export const FORMATS: Record<'mp4' | 'mov' | 'webm' | 'mkv' | 'avi', VideoFormat> = {
  mp4: {
    ext: 'mp4',
    muxer: 'mp4',
    video: ['-c:v', 'libx264', '-preset', 'veryfast'],
    audio: ['-c:a', 'aac'],
  },
  mov: {
    ext: 'mov',
    muxer: 'mov',
    video: ['-c:v', 'libx264', '-preset', 'veryfast'],
    audio: ['-c:a', 'aac'],
  },
  webm: {
    ext: 'webm',
    muxer: 'webm',
    video: ['-c:v', 'libvpx', '-deadline', 'realtime', '-b:v', '400k'],
    audio: ['-c:a', 'libvorbis'],
  },
  mkv: {
    ext: 'mkv',
    muxer: 'matroska',
    video: ['-c:v', 'libx264', '-preset', 'veryfast'],
    audio: ['-c:a', 'libvorbis'],
  },
  avi: { ext: 'avi', muxer: 'avi', video: ['-c:v', 'mpeg4', '-q:v', '3'], audio: ['-c:a', 'pcm_s16le'] },
};

/**
 * Builds a video of still scenes (each picture on white for its seconds) with each scene's sound looped under
 * it (silence where a scene has none); `withAudio: false` leaves out the sound track.
 */
export async function makeSceneVideo(
  out: string,
  scenes: Scene[],
  options: { format?: VideoFormat; withAudio?: boolean; size?: number; fps?: number } = {},
): Promise<string> {
  if (!VIDEO_TOOLS) throw new Error('no ffmpeg');
  const { format = FORMATS.mp4, withAudio = true, size = 256, fps = 10 } = options;
  // The pictures are rendered elsewhere, so the video's folder holds only what the test puts there.
  const dir = mkdtempSync(join(tmpdir(), 'xmodal-scenes-'));
  const inputs: string[] = [];
  const graph: string[] = [];
  for (const [i, scene] of scenes.entries()) {
    const png = await renderOpenMoji(scene.picture, dir, size);
    inputs.push('-loop', '1', '-framerate', String(fps), '-t', String(scene.seconds), '-i', png);
    graph.push(`[${i}:v]scale=${size}:${size},setsar=1,format=yuv420p[v${i}]`);
  }
  const videoLabels = scenes.map((_, i) => `[v${i}]`).join('');
  graph.push(`${videoLabels}concat=n=${scenes.length}:v=1:a=0[v]`);
  if (withAudio) {
    for (const [i, scene] of scenes.entries()) {
      const n = scenes.length + i;
      if (scene.sound) inputs.push('-stream_loop', '-1', '-t', String(scene.seconds), '-i', scene.sound);
      else inputs.push('-f', 'lavfi', '-t', String(scene.seconds), '-i', 'anullsrc=r=48000:cl=mono');
      graph.push(
        `[${n}:a]aformat=sample_rates=48000:channel_layouts=mono,apad,atrim=0:${scene.seconds},asetpts=N/SR/TB[a${i}]`,
      );
    }
    const audioLabels = scenes.map((_, i) => `[a${i}]`).join('');
    graph.push(`${audioLabels}concat=n=${scenes.length}:v=0:a=1[a]`);
  }
  try {
    await run(VIDEO_TOOLS.ffmpeg, [
      '-v',
      'error',
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
      out,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
