/**
 * Ingest throughput: `xmodal index` end to end (walk, read, hash, detect, decode, embed, store) against the
 * encoder alone embedding the same files in the same run.
 * Usage: npx tsx bench/ingest.ts [--quick] [--files N] [--model M]
 * Files are generated once under bench/.data/ (not committed): 60% images, 20% audio clips, 20% text notes.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEncoder } from '../src/encoders/load.js';
import { expandPaths } from '../src/tasks/expand-paths.js';
import { ingest } from '../src/tasks/ingest.js';
import { chunkText } from '../src/tasks/text-chunks.js';
import { openCollection } from '../src/tasks/workspace.js';
import { chunk } from '../src/vectors.js';
import { benchModel, flag, quick, ROOT } from './flags.js';
import { makeMixedFiles } from './mixed-files.js';

const FILES = Number(flag('--files') ?? (quick ? 1000 : 5000));
const MODEL = benchModel();
const DATA = join(ROOT, 'bench', '.data', `ingest-${FILES}`);
await makeMixedFiles(DATA, FILES);
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
