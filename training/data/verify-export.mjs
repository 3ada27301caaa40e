// Load an exported xmodal-mini through transformers.js exactly as a user would (offline, absolute path) and
// compare every ONNX output (fp32 and q8) with the torch outputs export.py recorded.
// Usage: node training/data/verify-export.mjs models/xmodal-mini training/.data/run/export-check.json
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  AutoFeatureExtractor,
  AutoTokenizer,
  CLIPTextModelWithProjection,
  CLIPVisionModelWithProjection,
  ClapAudioModelWithProjection,
  ClapTextModelWithProjection,
  Tensor,
  env,
} from '@huggingface/transformers';

env.allowRemoteModels = false;
const root = resolve(process.argv[2] ?? 'models/xmodal-mini');
const check = JSON.parse(readFileSync(process.argv[3] ?? 'training/.data/run/export-check.json', 'utf8'));
const bundle = JSON.parse(readFileSync(join(root, 'xmodal.json'), 'utf8'));
const clip = join(root, 'clip');
const clap = join(root, 'clap');
const failures = [];

const cos = (a, b) => {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return d / Math.sqrt(na * nb);
};
const rows = (t) => {
  const [n, d] = t.dims;
  return Array.from({ length: n }, (_, i) => Array.from(t.data.slice(i * d, (i + 1) * d)));
};
function compare(name, got, want, minCos, maxAbs = Number.POSITIVE_INFINITY) {
  let worstCos = 1;
  let worstAbs = 0;
  for (let i = 0; i < want.length; i++) {
    worstCos = Math.min(worstCos, cos(got[i], want[i]));
    for (let j = 0; j < want[i].length; j++) worstAbs = Math.max(worstAbs, Math.abs(got[i][j] - want[i][j]));
  }
  const ok = worstCos >= minCos && worstAbs <= maxAbs;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: min cos ${worstCos.toFixed(6)}, max |diff| ${worstAbs.toExponential(2)}`);
  if (!ok) failures.push(name);
}

console.log(`bundle ${bundle.name}: parts ${bundle.parts.join(', ')}`);
const tokenizer = await AutoTokenizer.from_pretrained(clip);
const clapTokenizer = await AutoTokenizer.from_pretrained(clap);
const maxLength = JSON.parse(readFileSync(join(clip, 'config.json'), 'utf8')).text_config.max_position_embeddings;
for (let i = 0; i < check.texts.length; i++) {
  const ids = tokenizer.encode(check.texts[i]);
  if (JSON.stringify(ids) !== JSON.stringify(check.token_ids[i][0])) failures.push(`token ids of ${check.texts[i]}`);
}
const inputs = tokenizer(check.texts, { padding: true, truncation: true, max_length: maxLength });
const clapInputs = clapTokenizer(check.texts, { padding: true, truncation: true, max_length: maxLength });
if (inputs.input_ids.data.join() !== clapInputs.input_ids.data.join()) failures.push('clip and clap tokenizers differ');

for (const dtype of ['fp32', 'q8']) {
  const tol = dtype === 'fp32' ? [0.99999, 1e-3] : [0.99, Number.POSITIVE_INFINITY];
  const clipText = await CLIPTextModelWithProjection.from_pretrained(clip, { dtype });
  const clapText = await ClapTextModelWithProjection.from_pretrained(clap, { dtype });
  const { text_embeds } = await clipText(inputs);
  compare(`clip text ${dtype} (padded batch)`, rows(text_embeds), check.text_embeds, ...tol);
  const clapOut = await clapText(clapInputs);
  compare(`clap text ${dtype} = clip text`, rows(clapOut.text_embeds), rows(text_embeds), 0.999999);
  // padding must not change an embedding: each text alone vs inside the padded batch
  const alone = [];
  for (const t of check.texts) alone.push(rows((await clipText(tokenizer([t], { padding: true, truncation: true, max_length: maxLength }))).text_embeds)[0]);
  compare(`clip text ${dtype} alone = padded`, alone, rows(text_embeds), dtype === 'fp32' ? 0.99999 : 0.999);

  const vision = await CLIPVisionModelWithProjection.from_pretrained(clip, { dtype });
  const pixel_values = new Tensor('float32', Float32Array.from(check.pixel_values), check.pixel_dims);
  compare(`clip vision ${dtype}`, rows((await vision({ pixel_values })).image_embeds), check.image_embeds, ...tol);

  const audio = await ClapAudioModelWithProjection.from_pretrained(clap, { dtype });
  const input_features = new Tensor('float32', Float32Array.from(check.input_features), check.feature_dims);
  compare(`clap audio ${dtype}`, rows((await audio({ input_features })).audio_embeds), check.audio_embeds, ...tol);
}

// The feature extractor must produce exactly the audio model's input shape for short and long clips.
const fe = await AutoFeatureExtractor.from_pretrained(clap);
for (const seconds of [0.3, 2, 5]) {
  const wave = Float32Array.from({ length: Math.round(seconds * fe.config.sampling_rate) }, (_, i) => Math.sin(i / 10) * 0.3);
  const { input_features } = await fe(wave);
  const want = JSON.stringify(check.feature_dims.slice(1));
  const ok = JSON.stringify(input_features.dims.slice(1)) === want;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ClapFeatureExtractor ${seconds} s -> ${JSON.stringify(input_features.dims)}`);
  if (!ok) failures.push(`features ${seconds}s`);
}
if (failures.length) {
  console.error(`FAILED: ${failures.join('; ')}`);
  process.exit(1);
}
console.log('all transformers.js checks passed');
