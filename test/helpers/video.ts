// Videos made at test time with ffmpeg (buildSceneVideo) from known pictures (OpenMoji) and the demo's clips.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findVideoTools } from '../../src/media/video.js';
import { MP4, type VideoFormat } from '../../src/tasks/demo.js';
import { ROOT } from './paths.js';

/** A `skip` reason for tests that need ffmpeg (CI installs it). */
export const NO_FFMPEG: string | false = findVideoTools() ? false : 'ffmpeg and ffprobe are not on PATH';

export const DEMO_SOUND = (name: string) => join(ROOT, 'demo', 'audio', `${name}.ogg`);

/** The containers xmodal must recognise, each with codecs it commonly holds. */
export const FORMATS: Record<'mp4' | 'mov' | 'webm' | 'mkv' | 'avi', VideoFormat> = {
  mp4: MP4,
  mov: { ...MP4, ext: 'mov', muxer: 'mov' },
  webm: {
    ext: 'webm',
    muxer: 'webm',
    video: ['-c:v', 'libvpx', '-deadline', 'realtime', '-b:v', '400k'],
    audio: ['-c:a', 'libvorbis'],
  },
  mkv: { ext: 'mkv', muxer: 'matroska', video: MP4.video, audio: ['-c:a', 'libvorbis'] },
  avi: { ext: 'avi', muxer: 'avi', video: ['-c:v', 'mpeg4', '-q:v', '3'], audio: ['-c:a', 'pcm_s16le'] },
};

/** Audio-only containers that file-type names video/*: what MediaRecorder writes, .mka, and AAC in a plain MP4. */
export const AUDIO_ONLY = {
  // Written to a pipe, as a recorder streams it: no duration, no cues, sizes unknown.
  'recorder.webm': { muxer: 'webm', codec: ['-c:a', 'libopus'], pipe: true },
  'opus.mka': { muxer: 'matroska', codec: ['-c:a', 'libopus'], pipe: false },
  'aac.mp4': { muxer: 'mp4', codec: ['-c:a', 'aac'], pipe: false },
} as const;

/** `sound` re-encoded into an audio-only container (ffmpeg required: see NO_FFMPEG). */
export function buildAudioOnly(path: string, sound: string, name: keyof typeof AUDIO_ONLY): void {
  const tools = findVideoTools();
  if (!tools) throw new Error(`ffmpeg is needed to build ${path}`);
  const { muxer, codec, pipe } = AUDIO_ONLY[name];
  const args = ['-v', 'error', '-y', '-i', sound, '-vn', '-ac', '2', ...codec, '-f', muxer];
  if (pipe) writeFileSync(path, execFileSync(tools.ffmpeg, [...args, 'pipe:1']));
  else execFileSync(tools.ffmpeg, [...args, path]);
}

/** A real video (pictures and sound) in a WebM, the container recorders also write. */
export function buildWebmVideo(path: string, sound: string): void {
  const tools = findVideoTools();
  if (!tools) throw new Error(`ffmpeg is needed to build ${path}`);
  const picture = ['-f', 'lavfi', '-i', 'testsrc=s=160x120:d=3:r=10'];
  const codecs = ['-c:v', 'libvpx', '-deadline', 'realtime', '-c:a', 'libopus', '-shortest'];
  execFileSync(tools.ffmpeg, ['-v', 'error', '-y', ...picture, '-i', sound, ...codecs, path]);
}

/**
 * A long recording as Ogg Vorbis (its header declares no length): `seconds` of quiet pink noise with `sound`
 * mixed in at `at` seconds (ffmpeg required: see NO_FFMPEG).
 */
export function buildLongRecording(
  path: string,
  options: { seconds: number; sound: string; at: number },
): void {
  const tools = findVideoTools();
  if (!tools) throw new Error(`ffmpeg is needed to build ${path}`);
  const noise = `anoisesrc=color=pink:amplitude=0.01:duration=${options.seconds}:sample_rate=16000`;
  const mix = `[1:a]aresample=16000,adelay=${options.at * 1000}:all=1[s];[0:a][s]amix=inputs=2:duration=first:normalize=0`;
  execFileSync(tools.ffmpeg, [
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', noise, '-i', options.sound, '-filter_complex', mix],
    ...['-ac', '1', '-c:a', 'libvorbis', path],
  ]);
}
