/**
 * Video indexing against plain decoding: the built `xmodal index --json` (what users run) on a generated 60 s
 * 1280x720 30 fps video with sound (frames sampled, sound windowed, both embedded and stored) compared with
 * `ffmpeg -i video -f null -` decoding the same file, in alternating rounds of the same run. The index time
 * is the one xmodal reports (the video's indexing, without starting Node and loading the model, which the
 * CLI's wall time adds and the bench prints too). Memory of xmodal with its ffmpeg children is sampled from /proc.
 * Usage: npx tsx bench/video.ts [--quick] [--model M]   (builds dist/ first)
 * Last line: RESULT video index_vs_decode=<decode s / index s> peak_rss_mb=<xmodal + ffmpeg processes>
 * The video is generated once under bench/.data/ (not committed).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireVideoTools } from '../src/media/video.js';
import { benchModel, quick, ROOT } from './flags.js';

const run = promisify(execFile);
const ROUNDS = quick ? 2 : 5;
const MODEL = benchModel();
const DATA = join(ROOT, 'bench', '.data', 'video');
const VIDEO = join(DATA, 'moving-60s-720p30.mp4');

/** Moving test pictures with a demo clip sequence as sound: decoding it is real work on every frame. */
async function makeVideo(): Promise<void> {
  if (existsSync(VIDEO)) return;
  const tools = requireVideoTools();
  mkdirSync(DATA, { recursive: true });
  const clips = ['instrument-acoustic-grand-piano', 'drum-bass-drum', 'instrument-violin', 'speech-dog'];
  await run(tools.ffmpeg, [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=1280x720:rate=30:duration=60',
    ...clips.flatMap((c) => [
      '-stream_loop',
      '-1',
      '-t',
      '15',
      '-i',
      join(ROOT, 'demo', 'audio', `${c}.ogg`),
    ]),
    '-filter_complex',
    `${clips.map((_, i) => `[${i + 1}:a]aformat=sample_rates=48000:channel_layouts=stereo,apad,atrim=0:15,asetpts=N/SR/TB[a${i}]`).join(';')};${clips.map((_, i) => `[a${i}]`).join('')}concat=n=${clips.length}:v=0:a=1[a]`,
    '-map',
    '0:v',
    '-map',
    '[a]',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    `${VIDEO}.part.mp4`,
  ]);
  await run('mv', [`${VIDEO}.part.mp4`, VIDEO]);
}

/** Resident memory of a process and all its descendants, from /proc (MB). */
function treeRssMb(root: number): number {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(entry), Number(fields[1]));
      rss.set(Number(entry), (Number(fields[21]) * 4096) / 1048576);
    } catch {}
  }
  let total = 0;
  for (const [pid, mb] of rss) {
    for (let p: number | undefined = pid; p && p > 1; p = parent.get(p))
      if (p === root) {
        total += mb;
        break;
      }
  }
  return total;
}

async function timeDecode(): Promise<number> {
  const tools = requireVideoTools();
  const started = performance.now();
  await run(tools.ffmpeg, ['-v', 'error', '-nostdin', '-i', VIDEO, '-f', 'null', '-']);
  return (performance.now() - started) / 1000;
}

async function timeIndex(): Promise<{ seconds: number; wall: number; items: number; peakMb: number }> {
  const home = join(tmpdir(), `xmodal-bench-video-${process.pid}-${Date.now()}`);
  const started = performance.now();
  const cli = join(ROOT, 'dist', 'cli', 'main.js');
  const child = spawn(process.execPath, [cli, '--home', home, 'index', VIDEO, '--model', MODEL, '--json'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  let peakMb = 0;
  const sampler = setInterval(() => {
    peakMb = Math.max(peakMb, treeRssMb(child.pid!));
  }, 25);
  const code = await new Promise((resolve) => child.on('close', resolve));
  const wall = (performance.now() - started) / 1000;
  clearInterval(sampler);
  rmSync(home, { recursive: true, force: true });
  if (code !== 0) throw new Error(`xmodal index exited ${code}`);
  const report = JSON.parse(out.trim().split('\n').at(-1)!);
  return { seconds: report.seconds, wall, items: report.items, peakMb };
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

{
  await makeVideo();
  // The user's path: the compiled CLI, not the TypeScript loader (which alone doubles the memory).
  await run(process.execPath, [
    join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    join(ROOT, 'tsconfig.build.json'),
  ]);
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  console.log(`model ${MODEL}; ${VIDEO}; ${ROUNDS} rounds; load average ${load()} (1/5/15 min)`);
  const decode: number[] = [];
  const index: number[] = [];
  let peak = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so neither side always runs on a warmer (or busier) machine.
    const order = round % 2 === 0 ? ['decode', 'index'] : ['index', 'decode'];
    for (const what of order) {
      if (what === 'decode') decode.push(await timeDecode());
      else {
        const r = await timeIndex();
        index.push(r.seconds);
        peak = Math.max(peak, r.peakMb);
        console.log(
          `  index ${r.seconds.toFixed(2)} s (CLI wall ${r.wall.toFixed(2)} s with Node start and model load), ${r.items} items, peak ${r.peakMb.toFixed(0)} MB`,
        );
      }
    }
    console.log(
      `round ${round + 1}: decode ${decode.at(-1)!.toFixed(2)} s, index ${index.at(-1)!.toFixed(2)} s`,
    );
  }
  const ratio = median(decode) / median(index);
  console.log(
    `median: ffmpeg decode alone ${median(decode).toFixed(2)} s, xmodal index ${median(index).toFixed(2)} s; load average now ${load()}`,
  );
  console.log(`RESULT video index_vs_decode=${ratio.toFixed(2)} peak_rss_mb=${peak.toFixed(0)}`);
}
