// Rebuilds the inputs of the README's example outputs from the repository (OpenMoji from @iconify-json/openmoji,
// clips from demo/audio/, notes written here) and runs each block's commands with the built CLI, printing the
// console text to paste. Usage: `npm run build && npx tsx docs/readme-examples.ts [index video classify ...]`.
// Needs nothing outside the repository but ffmpeg, and only for the video block (skipped without it).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { findVideoTools } from '../src/media/video.js';
import { buildSceneVideo, DEMO_AUDIO_DIR } from '../src/tasks/demo.js';
import { openMojiNames, openMojiText, renderOpenMoji } from '../test/helpers/openmoji.js';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const WORK = '/tmp/xmodal-readme'; // fixed, like /tmp/rdata, so that printed paths read the same every run
const clip = (name: string) => join(DEMO_AUDIO_DIR, `${name}.ogg`);
const category = (name: string): string[] =>
  createRequire(import.meta.url)('@iconify-json/openmoji/metadata.json').categories[name];

/** Prints `$ command` and its output (stderr merged) for each command, as one shell session with its own home. */
function run(cwd: string, home: string, commands: string[]): void {
  const script = [`xmodal() { "${process.execPath}" "${CLI}" "$@"; }`, 's=0'];
  for (const command of commands)
    script.push(
      `printf '%s\\n' '$ ${command.replaceAll("'", "'\\''")}'; (exit $s); { ${command}; } 2>&1; s=$?`,
    );
  const env = { ...process.env, XMODAL_HOME: join(WORK, home) };
  const out = spawnSync('/bin/sh', ['-c', script.join('\n')], { cwd, env, encoding: 'utf8' });
  process.stdout.write(`${out.stdout}\n`);
}

/** A fresh folder (emptied if it exists). */
function folder(path: string): string {
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path, { recursive: true });
  return path;
}

const blocks: Record<string, () => Promise<void>> = {
  async index() {
    const data = folder('/tmp/rdata');
    for (const name of ['dog', 'guitar', 'automobile', 'cat', 'red-apple']) await renderOpenMoji(name, data);
    for (const name of ['instrument-violin', 'drum-bass-drum'])
      copyFileSync(clip(name), join(data, `${name}.ogg`));
    writeFileSync(join(data, 'dog.txt'), 'a dog\n');
    writeFileSync(join(data, 'piano.txt'), 'piano music\n');
    copyFileSync(join(ROOT, 'test', 'fixtures', 'images', 'corrupt.jpg'), join(data, 'corrupt.jpg'));
    run(WORK, 'index', [
      'xmodal index /tmp/rdata',
      'echo $?',
      'xmodal index /tmp/rdata',
      'xmodal search "a dog" -k 3',
      'xmodal search --audio /tmp/rdata/instrument-violin.ogg --modality image -k 2',
      'xmodal search --image /tmp/rdata/automobile.png --modality text -k 1 --json',
    ]);
  },
  async video() {
    const tools = findVideoTools();
    if (!tools) return void console.log('video: skipped (needs ffmpeg and ffprobe on PATH)\n');
    const data = folder('/tmp/vclips');
    await buildSceneVideo(join(data, 'scenes.mp4'), [
      { picture: 'dog', seconds: 4, sound: clip('speech-dog') },
      { picture: 'automobile', seconds: 4, sound: clip('drum-bass-drum') },
      { picture: 'musical-keyboard', seconds: 4, sound: clip('instrument-acoustic-grand-piano') },
      { picture: 'dagger', seconds: 4, sound: clip('instrument-violin') },
    ]);
    copyFileSync(join(ROOT, 'test', 'fixtures', 'images', 'photo.jpg'), join(data, 'photo.jpg'));
    const cwd = folder(join(WORK, 'video'));
    spawnSync(tools.ffmpeg, [
      '-v',
      'error',
      '-i',
      clip('instrument-acoustic-grand-piano'),
      join(cwd, 'piano.wav'),
    ]);
    run(cwd, 'video', [
      'xmodal index /tmp/vclips',
      'xmodal search "a car" -k 3',
      'xmodal search --audio piano.wav --modality video -k 2',
      'xmodal search "a dog" --modality video -k 1 --json',
      'xmodal search --like "/tmp/vclips/scenes.mp4#frame=12.000" -k 2',
      'xmodal classify /tmp/vclips/scenes.mp4 --labels dog,car,piano,knife,violin -k 2',
      'xmodal moderate /tmp/vclips/scenes.mp4',
      'PATH=/nowhere xmodal index /tmp/vclips --collection no-ffmpeg',
      'echo $?',
    ]);
  },
  async classify() {
    const cwd = folder(join(WORK, 'classify'));
    await renderOpenMoji('guitar', cwd);
    mkdirSync(join(cwd, 'demo', 'audio'), { recursive: true });
    copyFileSync(clip('instrument-oboe'), join(cwd, 'demo', 'audio', 'instrument-oboe.ogg'));
    const families =
      'piano,chromatic percussion,organ,guitar,bass,strings,ensemble,brass,reed,pipe,ethnic,percussive';
    writeFileSync(join(cwd, 'families.txt'), `# General MIDI families\n${families.replaceAll(',', '\n')}\n`);
    run(cwd, 'classify', [
      'xmodal classify guitar.png --labels dog,cat,car,apple,guitar',
      'xmodal classify demo/audio/instrument-oboe.ogg --labels-file families.txt -k 3 --json',
    ]);
  },
  async moderate() {
    const cwd = folder(join(WORK, 'moderate'));
    await renderOpenMoji('dagger', cwd);
    // OpenMoji's animals (its "Animals Nature" emoji less plants and things) against its food and drink.
    const notAnimal =
      /blossom|bouquet|cactus|coral|tree|nest|leaf|feather|clover|herb|hibiscus|hyacinth|lotus|mushroom|microbe|paw|plant|^rose|rosette|seedling|shamrock|sheaf|web|sunflower|tulip|flower|^wing$|shell/;
    const examples = [
      ...category('Animals Nature')
        .filter((name) => !notAnimal.test(name))
        .map((name) => [name, ['animals']] as const),
      ...category('Food Drink').map((name) => [name, []] as const),
    ];
    const lines: string[] = [];
    for (const [name, labels] of examples) {
      await renderOpenMoji(name, cwd);
      lines.push(JSON.stringify({ file: `${name}.png`, labels }));
    }
    writeFileSync(join(cwd, 'labelled.jsonl'), `${lines.join('\n')}\n`);
    const pets = {
      name: 'animals',
      prompts: ['dog', 'cat', 'bird', 'fish', 'insect', 'animal'],
      threshold: 0.5,
    };
    const safe = [
      { name: 'food', prompts: ['apple', 'bread', 'cake', 'pizza', 'fruit', 'vegetable', 'drink'] },
      { name: 'objects', prompts: ['house', 'car', 'book', 'phone', 'tool', 'ball'] },
    ];
    writeFileSync(
      join(cwd, 'no-pets.json'),
      JSON.stringify({ name: 'no-pets', unsafe: [pets], safe }, null, 2),
    );
    run(cwd, 'moderate', [
      'xmodal moderate dagger.png',
      'head -n 2 labelled.jsonl; wc -l < labelled.jsonl',
      'xmodal moderate calibrate --policy no-pets.json --manifest labelled.jsonl --target-precision 0.9 --out calibrated.json',
      'xmodal moderate calibrate --policy no-pets.json --manifest labelled.jsonl --target-precision 0.8',
      'xmodal moderate calibrate --policy no-pets.json --manifest labelled.jsonl --target-precision 0.8 --confidence 0.5',
    ]);
  },
  async ask() {
    // 44 emoji spread over OpenMoji, the dog among them, and two notes: dog.txt is dog.png's caption.
    const cwd = folder(join(WORK, 'ask'));
    const media = folder(join(cwd, 'media'));
    const names = openMojiNames().filter((name) => name.split('-').length <= 2);
    const picked = new Set(['dog']);
    for (let i = 0; picked.size < 44; i += 37) picked.add(names[i % names.length]);
    for (const name of picked) await renderOpenMoji(name, media);
    writeFileSync(join(media, 'dog.txt'), 'Rex is our dog. Rex loves chasing the red ball in the garden.\n');
    writeFileSync(join(media, 'piano.txt'), 'The piano in the hall was tuned last spring.\n');
    run(cwd, 'ask', ['xmodal index media/', 'xmodal ask "what does Rex love?" --sources-only --sources 3']);
  },
  async quality() {
    run(join(WORK, 'ask'), 'ask', ['xmodal quality --plot quality.svg']);
  },
  async adapt() {
    // Every third emoji is held out for the test; the rest train. Pictures in inverted colours ("dark mode").
    const cwd = folder(join(WORK, 'adapt'));
    const images = folder(join(cwd, 'img'));
    const names = openMojiNames();
    const chosen = names.filter((_, i) => i % Math.floor(names.length / 727) === 0).slice(0, 727);
    const sets: string[][] = [[], []];
    for (const [i, name] of chosen.entries()) {
      const file = await renderOpenMoji(name, images, 128, true);
      sets[i % 3 === 0 ? 1 : 0].push(
        JSON.stringify({ text: openMojiText(name), image: `img/${file.split('/').pop()}` }),
      );
    }
    writeFileSync(join(cwd, 'dark-emoji-train.jsonl'), `${sets[0].join('\n')}\n`);
    writeFileSync(join(cwd, 'dark-emoji-test.jsonl'), `${sets[1].join('\n')}\n`);
    run(cwd, 'adapt', [
      'wc -l dark-emoji-train.jsonl dark-emoji-test.jsonl',
      'xmodal adapt --pairs dark-emoji-train.jsonl --test dark-emoji-test.jsonl --out adapters/dark-emoji',
    ]);
  },
};

const wanted = process.argv.slice(2);
folder(WORK);
try {
  for (const [name, block] of Object.entries(blocks)) {
    if (wanted.length > 0 && !wanted.includes(name)) continue;
    if (name === 'quality' && wanted.length > 0 && !wanted.includes('ask')) await blocks.ask();
    console.log(`--- ${name}`);
    await block();
  }
} finally {
  rmSync(WORK, { recursive: true, force: true });
}
