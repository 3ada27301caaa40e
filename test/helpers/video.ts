// Videos made at test time with ffmpeg (buildSceneVideo) from known pictures (OpenMoji) and the demo's clips.
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
