// Rasterise emoji styles and line icons into one uint8 array per split, plus a JSONL of what each row is.
// Preprocessing mirrors the runtime: alpha flattened over white, antialiased bicubic (sharp 'cubic') to S x S.
// Usage: node training/data/render-images.mjs [outDir] [size]
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RENDER, svgToPng, toRgb } from './rasterise.mjs';
import { HELDOUT_EMOJI_STYLES, PERMISSIVE_LICENCES, TRAIN_EMOJI_STYLES } from './splits.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const outDir = process.argv[2] ?? join(here, '..', '.data');
const S = Number(process.argv[3] ?? 48);
// resvg 2.6.2 aborts the process (uncatchable panic in geom.rs) on these icons
const RESVG_PANICS = new Set(['noto:package', 'noto:rainbow-flag']);
mkdirSync(outDir, { recursive: true });

const pkgDir = (name) => dirname(require.resolve(`${name}/package.json`));
const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));

// Emojibase: normalised hexcode -> { base, skin }
const norm = (hex) =>
  hex
    .toLowerCase()
    .split('-')
    .filter((c) => c !== 'fe0f')
    .join('-');
const slug = (s) =>
  s
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
const emojibase = readJson(join(pkgDir('emojibase-data'), 'en', 'data.json'));
const hexInfo = new Map();
const nameToHex = new Map();
for (const e of emojibase) {
  if (e.group === undefined || e.group === 2) continue; // regional indicators, components
  hexInfo.set(norm(e.hexcode), { base: e.hexcode, skin: false });
  nameToHex.set(slug(e.label), norm(e.hexcode));
  for (const s of e.skins ?? []) {
    hexInfo.set(norm(s.hexcode), { base: e.hexcode, skin: true });
    nameToHex.set(slug(s.label), norm(s.hexcode));
  }
}
// Icon names of the training styles that carry chars.json help resolve the styles that do not.
for (const style of ['noto', 'twemoji', 'fluent-emoji-flat']) {
  const chars = readJson(join(pkgDir(`@iconify-json/${style}`), 'chars.json'));
  for (const [hex, name] of Object.entries(chars)) if (!nameToHex.has(name)) nameToHex.set(name, norm(hex));
}
const squashed = new Map([...nameToHex].map(([k, v]) => [k.replace(/-/g, ''), v]));
const fluentSkin = { light: 'light-skin-tone', 'medium-light': 'medium-light-skin-tone', medium: 'medium-skin-tone', 'medium-dark': 'medium-dark-skin-tone', dark: 'dark-skin-tone' };

function hexForIcon(style, name, chars) {
  if (chars) return chars.get(name);
  if (nameToHex.has(name)) return nameToHex.get(name);
  if (style === 'fluent-emoji') {
    const m = name.match(/^(.*)-(light|medium-light|medium|medium-dark|dark)$/);
    if (m && nameToHex.has(`${m[1]}-${fluentSkin[m[2]]}`)) return nameToHex.get(`${m[1]}-${fluentSkin[m[2]]}`);
    if (m) return undefined;
  }
  if (style === 'fxemoji') return squashed.get(name);
  return undefined;
}

function iconSvg(set, name) {
  let icon = set.icons[name];
  let hFlip = false;
  if (!icon) {
    const alias = set.aliases?.[name];
    if (!alias) return null;
    icon = set.icons[alias.parent];
    hFlip = Boolean(alias.hFlip);
  }
  const w = icon.width ?? set.width ?? 16;
  const h = icon.height ?? set.height ?? 16;
  const l = icon.left ?? 0;
  const t = icon.top ?? 0;
  const body = hFlip ? `<g transform="translate(${2 * l + w} 0) scale(-1 1)">${icon.body}</g>` : icon.body;
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="${l} ${t} ${w} ${h}" width="${w}" height="${h}">${body}</svg>`;
}

function rasterise(svg) {
  return toRgb(svgToPng(svg), S);
}

async function renderEmojiStyle(style, rows, pixels, maxSkinsPerBase) {
  const set = readJson(join(pkgDir(`@iconify-json/${style}`), 'icons.json'));
  let chars = null;
  try {
    const c = readJson(join(pkgDir(`@iconify-json/${style}`), 'chars.json'));
    if (Object.keys(c).length) chars = new Map(Object.entries(c).map(([hex, name]) => [name, norm(hex)]));
  } catch {}
  const seen = new Map(); // base -> skins taken
  const names = [...Object.keys(set.icons), ...Object.keys(set.aliases ?? {})].sort();
  let n = 0;
  for (const name of names) {
    const hex = hexForIcon(style, name, chars);
    const info = hex && hexInfo.get(hex);
    if (!info) continue;
    const key = `${info.base}`;
    const taken = seen.get(key) ?? { base: false, skins: 0 };
    if (info.skin ? taken.skins >= maxSkinsPerBase : taken.base) continue;
    if (info.skin) taken.skins++;
    else taken.base = true;
    seen.set(key, taken);
    const svg = iconSvg(set, name);
    if (!svg || RESVG_PANICS.has(`${style}:${name}`)) continue;
    if (process.env.DEBUG_RENDER) process.stderr.write(`render ${style}:${name}\n`);
    try {
      pixels.push(await rasterise(svg));
    } catch (err) {
      console.error(`skip ${style}:${name}: ${err.message}`);
      continue;
    }
    rows.push({ kind: 'emoji', style, name, hexcode: info.base, skin: info.skin });
    n++;
  }
  console.log(`${style}: ${n} images (${[...seen.values()].filter((v) => v.base).length} base emoji)`);
}

function iconSources() {
  const out = [];
  const tablerDir = pkgDir('@tabler/icons');
  const tabler = readJson(join(tablerDir, 'icons.json'));
  for (const [name, meta] of Object.entries(tabler)) {
    for (const variant of Object.keys(meta.styles ?? {})) {
      const file = join(tablerDir, 'icons', variant, `${name}.svg`);
      out.push({ source: 'tabler', name, variant, file, tags: meta.tags ?? [], category: meta.category ?? '' });
    }
  }
  const lucideDir = pkgDir('lucide-static');
  const lucideTags = readJson(join(lucideDir, 'tags.json'));
  for (const f of readdirSync(join(lucideDir, 'icons'))) {
    if (!f.endsWith('.svg')) continue;
    const name = f.slice(0, -4);
    out.push({ source: 'lucide', name, file: join(lucideDir, 'icons', f), tags: lucideTags[name] ?? [], category: '' });
  }
  const mdiDir = pkgDir('@mdi/svg');
  for (const m of readJson(join(mdiDir, 'meta.json'))) {
    if (m.deprecated) continue;
    out.push({ source: 'mdi', name: m.name, file: join(mdiDir, 'svg', `${m.name}.svg`), tags: [...m.aliases, ...m.tags], category: '' });
  }
  return out;
}

async function renderIcons(rows, pixels) {
  let n = 0;
  for (const src of iconSources()) {
    let svg;
    try {
      svg = readFileSync(src.file, 'utf8');
      pixels.push(await rasterise(svg));
    } catch (err) {
      continue;
    }
    const { file, ...meta } = src;
    rows.push({ kind: 'icon', style: src.source, ...meta });
    n++;
  }
  console.log(`icons: ${n} images`);
}

function save(split, rows, pixels) {
  writeFileSync(join(outDir, `images-${split}.u8`), Buffer.concat(pixels));
  writeFileSync(join(outDir, `images-${split}.jsonl`), `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  console.log(`${split}: ${rows.length} rows, ${S}x${S}x3 uint8`);
}

const t0 = Date.now();
{
  const rows = [];
  const pixels = [];
  for (const style of TRAIN_EMOJI_STYLES) {
    if (HELDOUT_EMOJI_STYLES.includes(style)) throw new Error(`held-out style ${style} in training`);
    const { license } = readJson(join(pkgDir(`@iconify-json/${style}`), 'info.json'));
    if (!PERMISSIVE_LICENCES.includes(license.spdx)) throw new Error(`${style} is ${license.spdx}: not a permissive licence`);
    await renderEmojiStyle(style, rows, pixels, 2);
  }
  await renderIcons(rows, pixels);
  save('train', rows, pixels);
}
{
  const rows = [];
  const pixels = [];
  for (const style of HELDOUT_EMOJI_STYLES) await renderEmojiStyle(style, rows, pixels, 0);
  save('heldout', rows, pixels);
}
writeFileSync(join(outDir, 'images.json'), JSON.stringify({ size: S, render: RENDER }));
console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
