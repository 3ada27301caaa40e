/**
 * Does `xmodal eval` score audio as the model's training pipeline does, however the clips were rendered?
 * xmodal-mini on held-out material made several ways (training/data/render_eval_sets.py):
 *   slots    — TimGM6mb GM programs cut exactly as training cuts its clips (2 s slots, 16 kHz), GM family of 16;
 *   arpeggio — one arpeggio and one chord per program as a user renders them (44.1 kHz stereo, reverb tails);
 *   words    — the demo's spoken words rendered the training way (16 kHz, 50 ms kept around the sound);
 *   demo     — the demo's own clips of those words (sox-trimmed tight, Vorbis 22 kHz), the word among all 20.
 * Columns: `reference` is the training pipeline (training/reference_audio_eval.py: evaluate.py's features, the
 * ONNX towers; WAV only), `plain` the product's earlier audio path (every 2 s window of the whole file averaged
 * alike), `xmodal` today's path through `evaluate` (what `xmodal eval` runs).
 * Usage: npx tsx bench/audio-renderings.ts [--quick]   (--quick: 2 slot clips per program instead of 15)
 * Needs Debian fluidsynth, timgm6mb-soundfont, espeak-ng; the reference column also python3-torch, and builds
 * a venv with onnxruntime + tokenizers under .cache/ (training/eval-venv.sh); without them it says so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AutoFeatureExtractor, ClapAudioModelWithProjection, type Tensor } from '@huggingface/transformers';
import { loadEncoder, locateModel } from '../src/encoders/load.js';
import { loadAudio, splitIntoWindows } from '../src/media/audio.js';
import { embedManifest, evaluateEmbeddings, readManifest } from '../src/tasks/eval.js';
import { meanDirection, normalizedRows } from '../src/vectors.js';
import { benchModel, quick, ROOT } from './flags.js';

const SLOTS = quick ? 2 : 15;
const DATA = join(ROOT, '.cache', 'bench', `audio-renderings-${SLOTS}`);
const SETS = ['slots', 'arpeggio', 'words', 'demo-words'] as const;

function render(): void {
  if (existsSync(join(DATA, 'demo-words', 'manifest.jsonl'))) return;
  console.log(`rendering the clips into ${DATA} (once) ...`);
  execFileSync(
    '/usr/bin/python3',
    [join(ROOT, 'training/data/render_eval_sets.py'), DATA, '--slots', String(SLOTS)],
    {
      stdio: 'inherit',
    },
  );
}

/** The training pipeline's accuracy per set, or why there is none. */
function reference(model: string): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  let python: string;
  try {
    python = execFileSync('sh', [join(ROOT, 'training/eval-venv.sh')], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .at(-1)!;
  } catch (error) {
    for (const set of SETS) out[set] = `no reference (${(error as Error).message.split('\n')[0]})`;
    return out;
  }
  const filters = join(DATA, 'clap-reference.json');
  if (!existsSync(filters)) {
    // The JS extractor's own mel filters and window, dumped as training does (training/data/check_audio_features.py).
    const config = join(DATA, 'clap-preprocessor.json');
    execFileSync(
      python,
      [
        '-c',
        `import json,sys; sys.path.insert(0, "training"); from xmodal.clap_config import PREPROCESSOR_CONFIG as c; json.dump(c, open(${JSON.stringify(config)}, "w"))`,
      ],
      { cwd: ROOT },
    );
    writeFileSync(join(DATA, 'probe.f32'), Buffer.from(new Float32Array(16000).fill(0.1).buffer));
    writeFileSync(join(DATA, 'probe.json'), '[16000]');
    execFileSync('node', [
      join(ROOT, 'training/data/clap-reference.mjs'),
      config,
      join(DATA, 'probe.f32'),
      join(DATA, 'probe.json'),
      filters,
    ]);
  }
  for (const set of SETS) {
    if (set === 'demo-words') {
      out[set] = 'n/a (Vorbis: training reads WAV)';
      continue;
    }
    const line = execFileSync(
      python,
      [
        join(ROOT, 'training/reference_audio_eval.py'),
        join(DATA, set, 'manifest.jsonl'),
        '--model',
        model,
        '--filters',
        filters,
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
      },
    );
    out[set] = JSON.parse(line.trim().split('\n').at(-1)!).accuracy;
  }
  return out;
}

/** The earlier audio path: every 2 s window of the whole file through the model, averaged alike. */
async function plainAudio(source: string, paths: string[]): Promise<Float32Array[]> {
  const extractor = await AutoFeatureExtractor.from_pretrained(source);
  const model = await ClapAudioModelWithProjection.from_pretrained(source, { dtype: 'fp32', device: 'cpu' });
  const rate: number = extractor.config.sampling_rate;
  const out: Float32Array[] = [];
  for (const path of paths) {
    const rows: Float32Array[] = [];
    for (const window of splitIntoWindows(await loadAudio(path, rate), extractor.config.nb_max_samples)) {
      const features = (await extractor(window)).input_features as Tensor;
      const { audio_embeds } = await model({ input_features: features });
      rows.push(...normalizedRows(audio_embeds.data as Float32Array, 1, audio_embeds.dims.at(-1)));
    }
    out.push(meanDirection(rows));
  }
  await model.dispose();
  return out;
}

render();
const modelName = benchModel();
const location = locateModel(modelName);
const clap = join(location.source, 'clap');
const encoder = await loadEncoder(modelName);
const ref = reference(location.source);
const rows: Record<string, { reference: number | string; plain: number; xmodal: number; items: number }> = {};
try {
  for (const set of SETS) {
    const manifest = join(DATA, set, 'manifest.jsonl');
    const items = await readManifest(manifest);
    const now = evaluateEmbeddings(await embedManifest(encoder, items)).zero_shot[0];
    const texts = items.filter((i) => i.modality === 'text');
    const audio = items.filter((i) => i.modality === 'audio');
    const textRows = await encoder.embed(
      'text',
      texts.map((t) => t.text!),
    );
    const plainRows = await plainAudio(
      existsSync(clap) ? clap : location.source,
      audio.map((a) => a.path!),
    );
    const before = evaluateEmbeddings([
      ...texts.map((t, i) => ({ id: t.id, modality: 'text' as const, label: t.label, vector: textRows[i] })),
      ...audio.map((a, i) => ({
        id: a.id,
        modality: 'audio' as const,
        label: a.label,
        vector: plainRows[i],
      })),
    ]).zero_shot[0];
    rows[set] = { reference: ref[set], plain: before.accuracy, xmodal: now.accuracy, items: now.items };
  }
} finally {
  await encoder.dispose();
}

const fmt = (x: number | string) => (typeof x === 'number' ? x.toFixed(3) : x);
console.log(`\nzero-shot accuracy (${modelName}; GM family of 16, or the word among the demo's 20)`);
console.log('set          items  reference  plain  xmodal  xmodal/plain  xmodal-reference');
for (const [set, r] of Object.entries(rows))
  console.log(
    `${set.padEnd(12)} ${String(r.items).padStart(5)} ${fmt(r.reference).padStart(10)} ${fmt(r.plain).padStart(6)} ${fmt(r.xmodal).padStart(7)} ${(r.xmodal / r.plain).toFixed(2).padStart(13)} ${typeof r.reference === 'number' ? (r.xmodal - r.reference).toFixed(3).padStart(17) : ''}`,
  );
const key = (set: string) => set.replace('-', '_');
console.log(
  `RESULT audio-renderings ${Object.entries(rows)
    .map(
      ([set, r]) =>
        `${key(set)}_plain=${r.plain.toFixed(3)} ${key(set)}_xmodal=${r.xmodal.toFixed(3)}${typeof r.reference === 'number' ? ` ${key(set)}_reference=${r.reference.toFixed(3)}` : ''} ${key(set)}_ratio=${(r.xmodal / r.plain).toFixed(2)}`,
    )
    .join(' ')}`,
);
