// Build the small dev manifest the repo ships for `xmodal eval`, from held-out material only:
// OpenMoji pictures (72 px PNG), their English and Italian names, spoken names by held-out espeak voices,
// and TimGM6mb instrument clips labelled with their General MIDI family.
// Usage: node training/data/build-manifest.mjs [dataDir] [outDir=test/fixtures/heldout]
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Resvg } from '@resvg/resvg-js';
import { HELDOUT_EMOJI_STYLES } from './splits.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const dataDir = resolve(process.argv[2] ?? join(here, '..', '.data'));
const outDir = resolve(process.argv[3] ?? join(here, '..', '..', 'test', 'fixtures', 'heldout'));
const N_EMOJI = 150;
const N_SPOKEN = 40;
const CLIPS_PER_FAMILY = 2;
const SR = 16000;

const readJsonl = (p) =>
  readFileSync(p, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const corpus = JSON.parse(readFileSync(join(dataDir, 'corpus.json'), 'utf8'));
const audioMeta = JSON.parse(readFileSync(join(dataDir, 'audio.json'), 'utf8'));
const heldImages = readJsonl(join(dataDir, 'images-heldout.jsonl'));
const heldAudio = readJsonl(join(dataDir, 'audio-heldout.jsonl'));
const pcm = readFileSync(join(dataDir, 'audio-heldout.i16'));

rmSync(outDir, { recursive: true, force: true });
mkdirSync(join(outDir, 'images'), { recursive: true });
mkdirSync(join(outDir, 'audio'), { recursive: true });
const lines = [];
const slug = (s) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

// Pictures: an even spread over the held-out style, every group represented.
const [style] = HELDOUT_EMOJI_STYLES;
const set = JSON.parse(readFileSync(join(dirname(require.resolve(`@iconify-json/${style}/package.json`)), 'icons.json'), 'utf8'));
const step = heldImages.length / N_EMOJI;
const picked = Array.from({ length: N_EMOJI }, (_, i) => heldImages[Math.floor(i * step)]);
const labelOf = new Map();
for (const row of picked) {
  const e = corpus.emoji[row.hexcode];
  const label = e.texts.en.label;
  labelOf.set(row.hexcode, label);
  const icon = set.icons[row.name] ?? set.icons[set.aliases?.[row.name]?.parent];
  const w = icon.width ?? set.width;
  const h = icon.height ?? set.height;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${icon.left ?? 0} ${icon.top ?? 0} ${w} ${h}" width="${w}" height="${h}">${icon.body}</svg>`;
  const png = new Resvg(svg, { font: { loadSystemFonts: false }, fitTo: { mode: 'width', value: 72 } }).render().asPng();
  const file = `images/${row.hexcode.toLowerCase()}-${slug(label)}.png`;
  writeFileSync(join(outDir, file), png);
  lines.push({ id: `img-${row.hexcode}`, modality: 'image', path: file, label });
  lines.push({ id: `en-${row.hexcode}`, modality: 'text', text: label, label, lang: 'en' });
  if (e.texts.it) lines.push({ id: `it-${row.hexcode}`, modality: 'text', text: e.texts.it.label, label, lang: 'it' });
}

function wav(samples) {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => data.writeInt16LE(s, i * 2));
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(SR, 24);
  header.writeUInt32LE(SR * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
const clip = (r, maxS) => {
  const n = Math.min(r.length, Math.round(maxS * SR));
  return Array.from({ length: n }, (_, i) => pcm.readInt16LE((r.offset + i) * 2));
};

// Spoken names of the pictured emoji, by held-out voices: audio -> image goes through the label.
const wordHex = corpus.spoken.en;
let spoken = 0;
for (const r of heldAudio) {
  if (spoken >= N_SPOKEN) break;
  if (r.kind !== 'speech' || r.lang !== 'en' || !labelOf.has(wordHex[r.word])) continue;
  if (lines.some((l) => l.modality === 'audio' && l.label === labelOf.get(wordHex[r.word]))) continue;
  const file = `audio/speech-${slug(r.word)}.wav`;
  writeFileSync(join(outDir, file), wav(clip(r, 2)));
  lines.push({ id: `speech-${slug(r.word)}`, modality: 'audio', path: file, label: labelOf.get(wordHex[r.word]), lang: 'en' });
  spoken++;
}

// Instruments of the held-out soundfont, labelled by GM family; the family names are the texts.
const families = audioMeta.families;
for (const [f, family] of families.entries()) {
  const rows = heldAudio.filter((r) => r.kind === 'gm' && Math.floor(r.program / 8) === f && r.pitch === 60);
  for (let k = 0; k < CLIPS_PER_FAMILY && k < rows.length; k++) {
    const r = rows[Math.floor((k * rows.length) / CLIPS_PER_FAMILY)];
    const file = `audio/gm-${slug(family)}-${slug(audioMeta.programs[r.program])}.wav`;
    writeFileSync(join(outDir, file), wav(clip(r, 1.5)));
    lines.push({ id: `gm-${r.program}-${k}`, modality: 'audio', path: file, label: family });
  }
  lines.push({ id: `family-${slug(family)}`, modality: 'text', text: family, label: family, lang: 'en' });
}
writeFileSync(join(outDir, 'manifest.jsonl'), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
writeFileSync(
  join(outDir, 'README.md'),
  `# Held-out dev manifest for \`xmodal eval\`

Built by \`training/data/build-manifest.mjs\` from material xmodal-mini never trained on:

- ${N_EMOJI} OpenMoji pictures (CC BY-SA 4.0, https://openmoji.org), 72 px PNG, each with its English and Italian emojibase name (MIT) as text queries;
- ${spoken} of those names spoken by held-out espeak-ng voices (${audioMeta.heldout_en_voices.join(', ')} with held-out voice variants), labelled like the picture they name;
- General MIDI instruments rendered from the held-out TimGM6mb soundfont (GPL-2), ${CLIPS_PER_FAMILY} per family, labelled with the 16 GM family names.

\`\`\`
xmodal eval --model xmodal-mini --manifest test/fixtures/heldout/manifest.jsonl
\`\`\`
`,
);
console.log(`${lines.length} manifest lines in ${outDir}`);
