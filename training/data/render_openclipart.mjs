// Rasterise the Open Clip Art Library 0.18 drawings (Debian openclipart-svg, PNG copies from openclipart-png
// where resvg cannot read the SVG) into uint8 rows like images-*.u8, with clean English texts per drawing.
// Needs: apt-get install -y openclipart-svg openclipart-png wamerican (the word list tells English titles apart)
// Usage: node training/data/render_openclipart.mjs [outDir] [size]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { svgToPng, toRgb } from './rasterise.mjs';

const ROOT = '/usr/share/openclipart';
const SVG_DIR = join(ROOT, 'svg');
const PNG_DIR = join(ROOT, 'png');
const WORDS = '/usr/share/dict/words';
const here = dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const HELDOUT_SHARE = 0.08;
const MIN_HELDOUT = 600;
const FAMILY_CAP = 8; // 1375 near-identical "gramastar" stars, 226 playing cards...: keep a few of each
const BATCH = 400;

// ---------- worker: render a slice of the job list, one JSON line per drawing (a resvg panic kills only it)
if (process.argv[2] === '--worker') {
  const sharp = (await import('sharp')).default;
  sharp.concurrency(1);
  const { jobs, size } = JSON.parse(readFileSync(process.argv[3], 'utf8'));
  const from = Number(process.argv[4]);
  const to = Math.min(jobs.length, Number(process.argv[5]));
  for (let i = from; i < to; i++)
    process.stdout.write(`${JSON.stringify({ i, ...(await renderJob(jobs[i], size)) })}\n`);
  process.exit(0);
}

async function renderJob(job, size) {
  const errors = [];
  if (job.svg) {
    try {
      const png = svgToPng(svgForResvg(readFileSync(join(ROOT, job.svg), 'utf8')));
      const check = await pngCheck(png);
      if (check) return { skip: check };
      return { px: (await toRgb(png, size)).toString('base64'), from: job.svg };
    } catch (err) {
      errors.push(err.message);
    }
  }
  if (job.png) {
    try {
      const png = readFileSync(join(ROOT, job.png));
      const check = await pngCheck(png);
      if (check) return { skip: check };
      return { px: (await toRgb(png, size)).toString('base64'), from: job.png };
    } catch (err) {
      errors.push(err.message);
    }
  }
  return { skip: `broken: ${errors.join('; ') || 'no file'}` };
}

// resvg's XML parser is strict: the 2004-era files omit the SVG namespace; the RDF is read separately.
function svgForResvg(text) {
  let s = text.replace(/<metadata[\s\S]*?<\/metadata>/g, '');
  const root = s.match(/<svg\b[^>]*>/);
  if (root && !/\sxmlns=/.test(root[0])) s = s.replace(/<svg\b/, '<svg xmlns="http://www.w3.org/2000/svg"');
  const root2 = s.match(/<svg\b[^>]*>/);
  if (root2 && !/xmlns:xlink=/.test(root2[0]) && /xlink:/.test(s))
    s = s.replace(/<svg\b/, '<svg xmlns:xlink="http://www.w3.org/1999/xlink"');
  return s;
}

async function pngCheck(png) {
  const sharp = (await import('sharp')).default;
  const { width, height } = await sharp(png).metadata();
  if (Math.min(width, height) < 24) return `tiny ${width}x${height}`;
  if (Math.max(width, height) / Math.min(width, height) > 3) return `aspect ${width}x${height}`; // the centre crop would keep little
  return null;
}

// ---------- text cleaning
const dictionary = (() => {
  if (!existsSync(WORDS)) throw new Error(`${WORDS} missing: apt-get install -y wamerican`);
  const set = new Set();
  for (const w of readFileSync(WORDS, 'utf8').split('\n')) if (/^[a-z]+$/i.test(w)) set.add(w.toLowerCase());
  return set;
})();
const inDictionary = (w) =>
  dictionary.has(w) ||
  (w.endsWith('s') && dictionary.has(w.slice(0, -1))) ||
  (w.endsWith('es') && dictionary.has(w.slice(0, -2))) ||
  (w.endsWith('ies') && dictionary.has(`${w.slice(0, -3)}y`));
// "seagull", "piggybank", "paperbag": two dictionary words of three letters or more
const compound = (w) => {
  for (let i = 3; i <= w.length - 3; i++)
    if (dictionary.has(w.slice(0, i)) && inDictionary(w.slice(i))) return true;
  return false;
};
const isEnglishWord = (w) => w.length > 1 && (inDictionary(w) || compound(w));
// words that describe the medium, the library or the file, not the picture
const JUNK_WORDS = new Set(
  'clip art clipart cliparts clipartist icon icons iconset simple remix svg png jpg gif openclipart ocal pd cc public domain externalsource media hash theme themes collection version draft unsorted various misc untitled image file sibmission submission bw wallpaper aiga'.split(
    ' ',
  ),
);
const JUNK_KEYWORDS = new Set([
  'special',
  'examples',
  'example',
  'mapsym',
  'roadsign',
  'signs and symbols',
  'lemon theme icon',
  'education mascot',
  'united nations member',
  'gradients',
  'puntocero',
  'magick',
]);
// The library's most prolific author titled in Italian; these words cover most of his drawings.
const TRANSLATE = new Map(
  Object.entries({
    acquila: 'eagle',
    aquila: 'eagle',
    albero: 'tree',
    alberi: 'trees',
    ape: 'bee',
    arancia: 'orange',
    attenzione: 'warning',
    auto: 'car',
    barca: 'boat',
    bicicletta: 'bicycle',
    bottiglia: 'bottle',
    bussola: 'compass',
    caffe: 'coffee',
    campeggio: 'camping',
    cane: 'dog',
    cani: 'dogs',
    casa: 'house',
    cavallo: 'horse',
    cestino: 'basket',
    cesto: 'basket',
    chiave: 'key',
    cigno: 'swan',
    cinepresa: 'film camera',
    civetta: 'owl',
    coniglio: 'rabbit',
    cubo: 'cube',
    cucina: 'kitchen',
    dentata: 'toothed',
    dinosauri: 'dinosaurs',
    dinosauro: 'dinosaur',
    elefante: 'elephant',
    farfalla: 'butterfly',
    finestra: 'window',
    finestre: 'windows',
    fiore: 'flower',
    fiori: 'flowers',
    foglia: 'leaf',
    foglie: 'leaves',
    fragola: 'strawberry',
    gatto: 'cat',
    gatti: 'cats',
    giapponese: 'japanese',
    grigia: 'grey',
    grigio: 'grey',
    gufo: 'owl',
    insetto: 'insect',
    lampada: 'lamp',
    legno: 'wood',
    lente: 'lens',
    leone: 'lion',
    libro: 'book',
    limone: 'lemon',
    lucchetto: 'padlock',
    lucertola: 'lizard',
    lucertolona: 'lizard',
    mano: 'hand',
    martello: 'hammer',
    mela: 'apple',
    mondo: 'world',
    nave: 'ship',
    neve: 'snow',
    orme: 'footprints',
    orso: 'bear',
    pecora: 'sheep',
    pennuto: 'bird',
    pera: 'pear',
    pesca: 'peach',
    pesce: 'fish',
    principessa: 'princess',
    pulsante: 'button',
    rana: 'frog',
    ricette: 'recipes',
    ruota: 'wheel',
    sangue: 'blood',
    sedia: 'chair',
    simbolo: 'symbol',
    tasto: 'key',
    tavolo: 'table',
    tazza: 'cup',
    toro: 'bull',
    tramonto: 'sunset',
    treno: 'train',
    uva: 'grapes',
    viti: 'screws',
    zaino: 'backpack',
    baloon: 'balloon',
    glace: 'ice cream',
  }),
);
const ITALIAN_STOP = new Set(
  'di da del della dello dei degli delle con per al alla allo sulla sul su e ed il lo la le gli un una uno in'.split(
    ' ',
  ),
);
// one-word keywords too vague to describe a drawing on their own stay only as category words
const STOP = new Set('a an the of and or in on with for to at by from de la le di il el'.split(' '));

const tokens = (s) =>
  s
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/([a-zA-Z])(\d)|(\d)([a-zA-Z])/g, '$1$3 $2$4')
    .toLowerCase()
    .replace(/https?:\/\/\S+|www\.\S+|\S+@\S+/g, ' ')
    .replace(/&/g, ' and ')
    .split(/[^a-z0-9']+/)
    .map((t) => t.replace(/^'+|'+$/g, ''))
    .filter(Boolean);

function creatorTokens(creator) {
  return tokens(creator ?? '').filter((t) => t.length >= 2);
}

// "bat_orlando_karam_", "armadillo_architetto_fra_01", "quit_fabien_omic.ch_01": name, then creator (cut short), then a number
function fileTitleTokens(file, creator) {
  const name = file
    .split('/')
    .pop()
    .replace(/\.(svg|png)$/, '');
  // "home15", "arrow04" keep their word; "63pt05step", "70a028" are ids
  const chunks = name.split(/[._\s-]+/).map((c) => (/^[a-z]+\d+$/i.test(c) ? c.replace(/\d+$/, '') : c));
  let ts = tokens(chunks.filter((c) => !/\d/.test(c) || /^\d+$/.test(c)).join(' '));
  const ct = creatorTokens(creator);
  const isCreatorPart = (t) => ct.some((c) => c.startsWith(t) && t.length >= 2);
  while (ts.length && (/\d/.test(ts.at(-1)) || isCreatorPart(ts.at(-1)))) ts = ts.slice(0, -1);
  return translate(ts);
}

function cleanWords(ts, creator) {
  const ct = new Set(creatorTokens(creator).filter((t) => t.length >= 3));
  const out = ts.filter(
    (t) => !/\d/.test(t) && !JUNK_WORDS.has(t) && !ct.has(t) && (t.length > 1 || t === 'a'),
  );
  while (out.length && STOP.has(out[0]) && out.length > 1 && out[0] !== 'a') out.shift();
  while (out.length && STOP.has(out.at(-1))) out.pop();
  return out;
}

// titles that name a collection, not the drawing
const COLLECTION =
  /collection|theme|iconset|cliparts|gramastar|sibmission|sallite|symbol_signs|etiquette|blueberry/i;
const translate = (ts) => {
  if (!ts.some((t) => TRANSLATE.has(t))) return ts;
  return ts.filter((t) => !ITALIAN_STOP.has(t)).flatMap((t) => (TRANSLATE.get(t) ?? t).split(' '));
};
const english = (ts) =>
  ts.some((t) => t.length >= 3 && isEnglishWord(t)) && ts.filter(isEnglishWord).length * 3 >= ts.length * 2;

function cleanTitleText(raw, creator) {
  let s = raw.replace(/^clip\s*art\s+by\s+[^-]+-\s*/i, '');
  if (COLLECTION.test(s)) return []; // "Clipart by Nicu Buculei - jigsaw_red_10"
  s = s.replace(/\([^)]*\d[^)]*\)/g, ' '); // "(Wed Aug 25 23:29:46 2004)"
  s = s.replace(/\(\s*b\s+and\s+w\s*\)/gi, ' black and white ');
  s = s.replace(/\s+by\s+.*$/i, ''); // "Simple-Dog-Icon by johnny_automatic"
  return cleanWords(translate(tokens(s.replace(/[_.-]+/g, ' '))), creator);
}

function cleanKeyword(raw, creator) {
  const k = translate(tokens(raw.replace(/[_-]+/g, ' ')))
    .join(' ')
    .replace(/[_-]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!k || JUNK_KEYWORDS.has(k) || /\d|https?:|www\.|@/.test(k)) return null;
  const ts = tokens(k);
  if (!ts.length || ts.some((t) => JUNK_WORDS.has(t))) return null;
  const ct = new Set(creatorTokens(creator).filter((t) => t.length >= 3));
  if (ts.some((t) => ct.has(t))) return null;
  if (!ts.every(isEnglishWord)) return null;
  return ts.join(' ');
}

const singular = (w) =>
  w
    .replace(/ies$/, 'y')
    .replace(/(ch|sh|x|ss)es$/, '$1')
    .replace(/([^s])s$/, '$1');
const CATEGORY_JUNK = new Set(['unsorted', 'special', 'examples', 'misc', 'icons']);
function categoryWords(category) {
  const parts = category.split('/');
  const words = [];
  for (const p of [parts.at(-1), parts[0]]) {
    if (!p || CATEGORY_JUNK.has(p) || /\d|theme/.test(p)) continue;
    const w = tokens(p.replace(/[_-]+/g, ' ')).join(' ');
    if (w && !words.includes(w)) words.push(w);
  }
  return words;
}

function readRdf(text) {
  const work = text.match(/<cc:Work[\s\S]*?<\/cc:Work>/)?.[0] ?? '';
  const dec = (s) =>
    s
      .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&')
      .trim();
  const creator = dec(work.match(/<dc:creator>[\s\S]*?<dc:title>([\s\S]*?)<\/dc:title>/)?.[1] ?? '');
  const own = work.replace(/<cc:Agent[\s\S]*?<\/cc:Agent>/g, '');
  const title = dec(own.match(/<dc:title[^>]*>([\s\S]*?)<\/dc:title>/)?.[1] ?? '');
  const subject = own.match(/<dc:subject[^>]*>([\s\S]*?)<\/dc:subject>/)?.[1] ?? '';
  const li = [...subject.matchAll(/<rdf:li[^>]*>([\s\S]*?)<\/rdf:li>/g)].map((m) => dec(m[1]));
  const keywords = li.length ? li : dec(subject).split(/[,;\s]+/);
  const licence = work.match(/<cc:license[^>]*rdf:resource="([^"]*)"/)?.[1] ?? '';
  return { title, keywords, creator, licence };
}

// ---------- the drawings: one per regular SVG file; symlinks add the categories it is also filed under
function walk(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) walk(p, out);
    else out.push({ path: p, link: st.isSymbolicLink() });
  }
  return out;
}

function collectDrawings() {
  const byReal = new Map();
  for (const { path, link } of walk(SVG_DIR)) {
    if (!path.endsWith('.svg')) continue;
    let real;
    try {
      real = link ? realpathSync(path) : path;
    } catch {
      continue;
    }
    const d = byReal.get(real) ?? { real, dirs: [] };
    d.dirs.push(dirname(relative(SVG_DIR, path)));
    byReal.set(real, d);
  }
  const pngs = new Map(); // svg-relative name without extension -> png path (copies are filed like the SVGs)
  for (const { path } of walk(PNG_DIR))
    if (path.endsWith('.png')) pngs.set(relative(PNG_DIR, path).slice(0, -4), path);
  const drawings = [];
  const seenContent = new Set();
  for (const d of [...byReal.values()].sort((a, b) => (a.real < b.real ? -1 : 1))) {
    const bytes = readFileSync(d.real);
    const digest = createHash('sha1').update(bytes).digest('hex');
    if (seenContent.has(digest)) continue;
    seenContent.add(digest);
    // the deepest folder is the most specific category
    const category = d.dirs.sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : 1))[0];
    const rel = relative(SVG_DIR, d.real).slice(0, -4);
    const png = pngs.get(rel) ?? d.dirs.map((dir) => pngs.get(join(dir, rel.split('/').pop()))).find(Boolean);
    drawings.push({
      svg: relative(ROOT, d.real),
      png: png ? relative(ROOT, realpathSync(png)) : null,
      category,
      rdf: readRdf(bytes.toString('utf8')),
    });
  }
  return drawings;
}

// recreation/games/cards/<deck>/<deck>_<suit>_<rank>.svg, all titled "card"
const SUITS = { c: 'clubs', d: 'diamonds', h: 'hearts', s: 'spades' };
const RANKS = {
  a: 'ace',
  j: 'jack',
  q: 'queen',
  k: 'king',
  ...Object.fromEntries('two three four five six seven eight nine ten'.split(' ').map((w, i) => [i + 2, w])),
};
function playingCard(d) {
  const m = d.svg.match(/\/games\/cards\/[^/]+\/[a-z]+_([cdhs])_(\w+)\.svg$/);
  if (!m) return null;
  const rank = RANKS[m[2]];
  return rank ? [rank, 'of', SUITS[m[1]]] : null;
}

function describe(drawings) {
  const titleCount = new Map();
  for (const d of drawings) titleCount.set(d.rdf.title, (titleCount.get(d.rdf.title) ?? 0) + 1);
  const out = [];
  const skipped = {};
  for (const d of drawings) {
    const { title: rawTitle, keywords: rawKeywords, creator } = d.rdf;
    const keywords = [];
    const keySeen = new Set();
    for (const k of rawKeywords) {
      const c = cleanKeyword(k, creator);
      if (c && !keySeen.has(singular(c))) {
        keySeen.add(singular(c));
        keywords.push(c);
      }
    }
    const card = playingCard(d);
    if (card) keywords.unshift('playing card');
    const fromTitle = card ?? cleanTitleText(rawTitle, creator);
    const fromFile = cleanWords(fileTitleTokens(d.svg, creator), creator);
    // a title that many files share names their collection ("Lemon SVG theme", "gramastar"): the file name says more
    const shared =
      (titleCount.get(rawTitle) ?? 0) >= 5 || /^clip\s*art\s+by/i.test(rawTitle) || !rawTitle.trim();
    const candidates = card ? [card] : shared ? [fromFile, fromTitle] : [fromTitle, fromFile];
    let title = candidates.find(english)?.join(' ');
    if (!title) {
      const specific = keywords.find(
        (k) => !categoryWords(d.category).some((c) => singular(c) === singular(k)),
      );
      title = specific ?? keywords[0] ?? null;
    }
    if (!title) {
      skipped['no English title'] = (skipped['no English title'] ?? 0) + 1;
      if (process.env.CLIPART_DEBUG)
        console.log(`NOTITLE ${d.svg} ${JSON.stringify(rawTitle)} ${rawKeywords.join(',')}`);
      continue;
    }
    const texts = [title];
    const textSeen = new Set([singular(title)]);
    for (const t of [...keywords, ...categoryWords(d.category)]) {
      if (!textSeen.has(singular(t)) && !title.split(' ').map(singular).includes(singular(t))) {
        textSeen.add(singular(t));
        texts.push(t);
      }
    }
    out.push({
      ...d,
      title,
      keywords: keywords.filter((k) => k !== title).slice(0, 8),
      texts: texts.slice(0, 10),
      rawTitle,
      rawKeywords,
    });
  }
  return { described: out, skipped };
}

// ---------- rendering in child processes, in batches; a drawing that kills its batch is skipped
function renderAll(jobs, size) {
  const tmp = mkdtempSync(join(tmpdir(), 'clipart-'));
  const jobFile = join(tmp, 'jobs.json');
  writeFileSync(jobFile, JSON.stringify({ jobs, size }));
  const results = new Array(jobs.length);
  let next = 0;
  while (next < jobs.length) {
    const end = Math.min(jobs.length, next + BATCH);
    const r = spawnSync(process.execPath, [self, '--worker', jobFile, String(next), String(end)], {
      maxBuffer: 1 << 30,
      encoding: 'utf8',
    });
    let last = next - 1;
    for (const line of r.stdout.split('\n')) {
      if (!line) continue;
      const res = JSON.parse(line);
      results[res.i] = res;
      last = res.i;
    }
    if (r.status !== 0 && last + 1 < end) {
      results[last + 1] = { i: last + 1, skip: 'renderer crashed' };
      console.error(`skip ${jobs[last + 1].svg}: the renderer died (${r.signal ?? r.status})`);
    }
    next = r.status === 0 ? end : last + 2;
    process.stdout.write(`\rrendered ${next}/${jobs.length}`);
  }
  process.stdout.write('\n');
  rmSync(tmp, { recursive: true });
  return results;
}

// mostly white or a flat colour: nothing to learn
function blank(px) {
  let ink = 0;
  let sum = 0;
  let sum2 = 0;
  for (let i = 0; i < px.length; i += 3) {
    if (px[i] < 235 || px[i + 1] < 235 || px[i + 2] < 235) ink++;
    const g = (px[i] + px[i + 1] + px[i + 2]) / 3;
    sum += g;
    sum2 += g * g;
  }
  const n = px.length / 3;
  const sd = Math.sqrt(Math.max(0, sum2 / n - (sum / n) ** 2));
  return ink / n < 0.03 || sd < 4;
}

const hashOf = (s) => createHash('sha1').update(s).digest('hex');

async function main() {
  const outDir = process.argv[2] ?? join(here, '..', '.data');
  const size = Number(process.argv[3] ?? 48);
  mkdirSync(outDir, { recursive: true });
  const t0 = Date.now();
  const pkgVersion = (p) =>
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    spawnSync('dpkg-query', ['-W', '-f', '${Version}', p], { encoding: 'utf8' }).stdout.trim() || null;
  const versions = {
    'openclipart-svg': pkgVersion('openclipart-svg'),
    'openclipart-png': pkgVersion('openclipart-png'),
  };
  const copyright = readFileSync('/usr/share/doc/openclipart-svg/copyright', 'utf8');
  if (!/Public Domain Dedication/.test(copyright))
    throw new Error('openclipart-svg copyright is not the public domain dedication');

  const all = collectDrawings();
  // a few files name another licence (GPL) in their own metadata: leave those out
  const notPd = all.filter((d) => d.rdf.licence && !/publicdomain/i.test(d.rdf.licence));
  for (const d of notPd) console.log(`skip ${d.svg}: licensed ${d.rdf.licence}`);
  const drawings = all.filter((d) => !notPd.includes(d) && !d.category.startsWith('special/gradients')); // gradients: colour swatches named after fruit
  const { described, skipped } = describe(drawings);
  console.log(`${drawings.length} distinct SVG drawings, ${described.length} with an English title`, skipped);

  // before/after sample of the text cleaning
  const sample = described.filter((_, i) => i % Math.ceil(described.length / 100) === 0);
  for (const d of sample)
    console.log(
      `  ${JSON.stringify(d.rawTitle)} [${d.rawKeywords.filter(Boolean).join(', ')}]\n    -> ${JSON.stringify(d.texts)}`,
    );

  // cap near-identical families, chosen by hash so the pick is stable
  const families = new Map();
  for (const d of described) {
    const key = `${d.category.split('/')[0]}|${d.title}`;
    d.family = key;
    if (!families.has(key)) families.set(key, []);
    families.get(key).push(d);
  }
  const kept = [];
  let capped = 0;
  for (const members of families.values()) {
    members.sort((a, b) => (hashOf(a.svg) < hashOf(b.svg) ? -1 : 1));
    kept.push(...members.slice(0, FAMILY_CAP));
    capped += Math.max(0, members.length - FAMILY_CAP);
  }
  kept.sort((a, b) => (a.svg < b.svg ? -1 : 1));

  const results = renderAll(
    kept.map((d) => ({ svg: d.svg, png: d.png })),
    size,
  );
  const reasons = {};
  const seenPixels = new Set();
  const rows = [];
  let fromPng = 0;
  for (let i = 0; i < kept.length; i++) {
    const r = results[i];
    const why = !r ? 'not rendered' : r.skip;
    if (why) {
      const k = why.split(/[: ]/)[0];
      reasons[k] = (reasons[k] ?? 0) + 1;
      continue;
    }
    const px = Buffer.from(r.px, 'base64');
    if (blank(px)) {
      reasons.blank = (reasons.blank ?? 0) + 1;
      continue;
    }
    const ph = hashOf(px);
    if (seenPixels.has(ph)) {
      reasons['same pixels'] = (reasons['same pixels'] ?? 0) + 1;
      continue;
    }
    seenPixels.add(ph);
    if (r.from.startsWith('png/')) fromPng++;
    rows.push({ d: kept[i], px, from: r.from });
  }
  console.log(
    `rendered ${rows.length} of ${kept.length} (${fromPng} from the PNG copies); capped ${capped}; skipped`,
    reasons,
  );

  // held-out: whole families, picked by hash within each top-level category until it holds its share
  const share = Math.max(HELDOUT_SHARE, MIN_HELDOUT / rows.length);
  const byTop = new Map();
  for (const r of rows) {
    const top = r.d.category.split('/')[0];
    if (!byTop.has(top)) byTop.set(top, new Map());
    const fams = byTop.get(top);
    if (!fams.has(r.d.family)) fams.set(r.d.family, []);
    fams.get(r.d.family).push(r);
  }
  const heldFamilies = new Set();
  for (const fams of byTop.values()) {
    const total = [...fams.values()].reduce((n, f) => n + f.length, 0);
    let taken = 0;
    for (const [key, members] of [...fams].sort((a, b) => (hashOf(a[0]) < hashOf(b[0]) ? -1 : 1))) {
      if (taken >= Math.round(total * share)) break;
      heldFamilies.add(key);
      taken += members.length;
    }
  }
  const counts = { train: {}, heldout: {} };
  const splits = { train: [], heldout: [] };
  for (const r of rows) {
    const split = heldFamilies.has(r.d.family) ? 'heldout' : 'train';
    splits[split].push(r);
    const top = r.d.category.split('/')[0];
    counts[split][top] = (counts[split][top] ?? 0) + 1;
  }
  for (const [split, list] of Object.entries(splits)) {
    writeFileSync(join(outDir, `clipart-${split}.u8`), Buffer.concat(list.map((r) => r.px)));
    const lines = list.map((r) =>
      JSON.stringify({
        kind: 'clipart',
        source: 'openclipart',
        file: r.from,
        title: r.d.title,
        keywords: r.d.keywords,
        category: r.d.category,
        texts: r.d.texts,
      }),
    );
    writeFileSync(join(outDir, `clipart-${split}.jsonl`), `${lines.join('\n')}\n`);
    console.log(`${split}: ${list.length} rows, ${size}x${size}x3 uint8`);
  }
  const tops = [...byTop.keys()].sort();
  for (const t of tops)
    console.log(`  ${t.padEnd(20)} train ${counts.train[t] ?? 0}  heldout ${counts.heldout[t] ?? 0}`);
  const licences = {};
  for (const r of rows) licences[r.d.rdf.licence || 'none'] = (licences[r.d.rdf.licence || 'none'] ?? 0) + 1;
  writeFileSync(
    join(outDir, 'clipart.json'),
    JSON.stringify(
      {
        size,
        counts: { train: splits.train.length, heldout: splits.heldout.length, byCategory: counts },
        licence:
          'Public domain: Open Clip Art Library 0.18, Debian openclipart-svg/openclipart-png copyright "creative commons Public Domain Dedication"',
        perFileLicence: licences,
        packages: versions,
      },
      null,
      2,
    ),
  );
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

await main();
