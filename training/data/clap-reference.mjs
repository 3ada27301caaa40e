// Dump transformers.js's ClapFeatureExtractor internals (mel filters, window) and its features for a few
// clips, so the torch reimplementation used in training can be checked against it number for number.
// Usage: node training/data/clap-reference.mjs preprocessor_config.json clips.f32 lengths.json out.json
import { readFileSync, writeFileSync } from 'node:fs';
import { ClapFeatureExtractor } from '@huggingface/transformers';

const [configPath, clipsPath, lengthsPath, outPath] = process.argv.slice(2);
const fe = new ClapFeatureExtractor(JSON.parse(readFileSync(configPath, 'utf8')));
const buf = readFileSync(clipsPath);
const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
const lengths = JSON.parse(readFileSync(lengthsPath, 'utf8'));
const features = [];
let offset = 0;
for (const n of lengths) {
  const { input_features } = await fe(all.slice(offset, offset + n));
  offset += n;
  features.push({ dims: input_features.dims, data: Array.from(input_features.data) });
}
writeFileSync(outPath, JSON.stringify({ mel_filters: fe.mel_filters_slaney, window: Array.from(fe.window), features }));
