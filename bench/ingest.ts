/**
 * Ingest throughput: `xmodal index` end to end (walk, read, hash, detect, decode, embed, store) against the
 * encoder alone embedding the same files in the same run.
 * Usage: npx tsx bench/ingest.ts [--quick] [--files N] [--model M]
 * Files are generated once under bench/.data/ (not committed): 60% images, 20% audio clips, 20% text notes.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { loadEncoder, SHIPPED_MODELS_DIR } from '../src/encoders/load.js';
import { expandPaths } from '../src/tasks/expand-paths.js';
import { ingest } from '../src/tasks/ingest.js';
import { chunkText } from '../src/tasks/text-chunks.js';
import { openCollection } from '../src/tasks/workspace.js';
import { chunk } from '../src/vectors.js';

const ROOT = resolve(import.meta.dirname, '..');
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const quick = process.argv.includes('--quick');
const FILES = Number(arg('--files') ?? (quick ? 1000 : 5000));
const MODEL =
  arg('--model') ??
  (existsSync(join(SHIPPED_MODELS_DIR, 'xmodal-mini'))
    ? 'xmodal-mini'
    : join(ROOT, 'test/fixtures/models/tiny-bundle'));
const DATA = join(ROOT, 'bench', '.data', `ingest-${FILES}`);
const WORDS = 'dog cat sea sunset piano drum guitar bird tree mountain river city night rain car train'.split(
  ' ',
);

function wav(seconds: number, frequency: number, rate = 16000): Buffer {
  const n = Math.round(seconds * rate);
  const buffer = Buffer.alloc(44 + n * 2);
  buffer.write('RIFF', 0);
  buffer.writeUInt32LE(36 + n * 2, 4);
  buffer.write('WAVEfmt ', 8);
  buffer.writeUInt32LE(16, 16);
  buffer.writeUInt16LE(1, 20);
  buffer.writeUInt16LE(1, 22);
  buffer.writeUInt32LE(rate, 24);
  buffer.writeUInt32LE(rate * 2, 28);
  buffer.writeUInt16LE(2, 32);
  buffer.writeUInt16LE(16, 34);
  buffer.write('data', 36);
  buffer.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++)
    buffer.writeInt16LE(Math.round(12000 * Math.sin((2 * Math.PI * frequency * i) / rate)), 44 + i * 2);
  return buffer;
}

async function makeFiles(): Promise<void> {
  if (existsSync(`${DATA}.done`)) return;
  mkdirSync(DATA, { recursive: true });
  for (let i = 0; i < FILES; i++) {
    const kind = i % 5;
    const base = join(DATA, `file-${String(i).padStart(5, '0')}`);
    if (kind < 3) {
      const image = sharp({
        create: {
          width: 160,
          height: 120,
          channels: 3,
          background: { r: (i * 37) % 256, g: (i * 11) % 256, b: (i * 5) % 256 },
        },
      }).composite([
        {
          input: { create: { width: 40, height: 40, channels: 3, background: '#fff' } },
          left: i % 100,
          top: 20,
        },
      ]);
      await (kind === 0 ? image.jpeg().toFile(`${base}.jpg`) : image.png().toFile(`${base}.png`));
    } else if (kind === 3) writeFileSync(`${base}.wav`, wav(1, 200 + (i % 50) * 40));
    else {
      const w = (k: number) => WORDS[(i + k) % WORDS.length];
      writeFileSync(
        `${base}.txt`,
        `A note about the ${w(0)} and the ${w(1)}.\n\nIt mentions a ${w(2)} near the ${w(3)}.\n`,
      );
    }
  }
  writeFileSync(`${DATA}.done`, '');
}

await makeFiles();
const { files } = await expandPaths([DATA]);
const byKind = (re: RegExp) => files.filter((f) => re.test(f));
const images = byKind(/\.(png|jpg)$/);
const audio = byKind(/\.wav$/);
const texts = byKind(/\.txt$/);
console.log(
  `model ${MODEL}; ${files.length} files: ${images.length} images, ${audio.length} audio, ${texts.length} text`,
);

// Encoder alone, same files, same batch size.
const encoder = await loadEncoder(MODEL, { batchSize: 16 });
await encoder.embedText(['warm-up']);
await encoder.embedImages(images.slice(0, 2));
await encoder.embedAudio(audio.slice(0, 2));
const encoderStart = performance.now();
for (const batch of chunk(images, 16)) await encoder.embedImages(batch);
for (const batch of chunk(audio, 16)) await encoder.embedAudio(batch);
const { readFileSync } = await import('node:fs');
for (const batch of chunk(texts, 16))
  await encoder.embedText(batch.flatMap((f) => chunkText(readFileSync(f, 'utf8'))));
const encoderSeconds = (performance.now() - encoderStart) / 1000;
await encoder.dispose();
const encoderRate = files.length / encoderSeconds;

const home = join(tmpdir(), `xmodal-bench-ingest-${process.pid}`);
const collection = await openCollection({ home }, 'bench', { model: MODEL, create: true });
const report = await ingest(collection, { paths: [DATA] });
await collection.close();
const rerunCollection = await openCollection({ home }, 'bench');
const rerun = await ingest(rerunCollection, { paths: [DATA] });
await rerunCollection.close();
rmSync(home, { recursive: true, force: true });

const ingestRate = report.files / report.seconds;
console.log(`encoder only   ${encoderRate.toFixed(1)} files/s (${encoderSeconds.toFixed(1)} s)`);
console.log(
  `xmodal index   ${ingestRate.toFixed(1)} files/s (${report.seconds.toFixed(1)} s, ${report.items} items, ${report.failed.length} failed)`,
);
console.log(
  `re-index (no changes) ${(rerun.files / rerun.seconds).toFixed(0)} files/s, ${rerun.unchanged} unchanged`,
);
console.log(
  `RESULT ingest ratio_vs_encoder=${(ingestRate / encoderRate).toFixed(2)} files_per_s=${ingestRate.toFixed(1)}`,
);
