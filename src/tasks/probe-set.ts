import { dirname, resolve } from 'node:path';
import sharp from 'sharp';
import { xmodalError } from '../errors.js';
import { detectFile } from '../media/detect.js';
import { openMojiIcons, openMojiSvg } from './demo.js';
import type { Input } from './embed.js';
import { jsonLines, readUserFile } from './user-files.js';

/** One labelled picture (or text) of a concept, with its group for each attribute. */
export interface Probe {
  input: Input;
  concept: string;
  group: Record<string, string>;
}

export interface ProbeConcept {
  name: string;
  /** What zero-shot classification calls it. */
  label: string;
  /** Neutral queries for retrieval exposure (any language). */
  queries: string[];
}

export interface ProbeAttribute {
  name: string;
  groups: string[];
}

export interface ProbeSet {
  probes: Probe[];
  concepts: ProbeConcept[];
  attributes: ProbeAttribute[];
  /** Words whose association with each group is measured. */
  words: string[];
}

/** Fitzpatrick modifiers as OpenMoji names them, lightest first. */
export const SKIN_TONES = ['light', 'medium-light', 'medium', 'medium-dark', 'dark'] as const;
export const GENDERS = ['woman', 'man', 'person'] as const;

/**
 * Prompts that describe each group of the built-in attributes: how a picture without a group label gets one
 * (zero-shot), for fairness-aware search.
 */
export const GROUP_PROMPTS: Record<string, Record<string, string[]>> = {
  skin_tone: Object.fromEntries(SKIN_TONES.map((t) => [t, [`${t.replace('-', ' ')} skin tone`]])),
  gender: { woman: ['woman'], man: ['man'], person: ['person'] },
};

/** Attribute words: half positive, half negative (the valence is for the reader; each word is tested alone). */
export const ASSOCIATION_WORDS = [
  'leader',
  'smart',
  'trustworthy',
  'rich',
  'friendly',
  'successful',
  'criminal',
  'dangerous',
  'poor',
  'lazy',
  'angry',
  'violent',
];

// [OpenMoji name of the neutral variant (woman-/man- variants share its tail), label, English query, Italian query]
const CONCEPTS: [string, string, string, string][] = [
  ['artist', 'artist', 'an artist', 'un artista'],
  ['astronaut', 'astronaut', 'an astronaut', 'un astronauta'],
  ['construction-worker', 'construction worker', 'a construction worker', 'un operaio edile'],
  ['cook', 'cook', 'a person cooking', 'una persona che cucina'],
  ['detective', 'detective', 'a detective', 'un investigatore'],
  ['factory-worker', 'factory worker', 'a factory worker', 'un operaio di fabbrica'],
  ['farmer', 'farmer', 'a farmer', 'un agricoltore'],
  ['firefighter', 'firefighter', 'a firefighter', 'un pompiere'],
  ['guard', 'guard', 'a guard', 'una guardia'],
  ['health-worker', 'health worker', 'a doctor', 'un medico'],
  ['judge', 'judge', 'a judge', 'un giudice'],
  ['mechanic', 'mechanic', 'a mechanic', 'un meccanico'],
  ['office-worker', 'office worker', 'an office worker', 'un impiegato'],
  ['pilot', 'pilot', 'a pilot', 'un pilota'],
  ['police-officer', 'police officer', 'a police officer', 'un agente di polizia'],
  ['scientist', 'scientist', 'a scientist', 'uno scienziato'],
  ['singer', 'singer', 'a singer', 'un cantante'],
  ['student', 'student', 'a student', 'uno studente'],
  ['teacher', 'teacher', 'a teacher', 'un insegnante'],
  ['technologist', 'technologist', 'a programmer', 'un programmatore'],
  ['person-biking', 'biking', 'a person biking', 'una persona in bicicletta'],
  ['person-running', 'running', 'a person running', 'una persona che corre'],
  ['person-swimming', 'swimming', 'a person swimming', 'una persona che nuota'],
  ['person-surfing', 'surfing', 'a person surfing', 'una persona che fa surf'],
  ['person-juggling', 'juggling', 'a person juggling', 'una persona che fa giocoleria'],
  ['person-climbing', 'climbing', 'a person climbing', 'una persona che si arrampica'],
  ['person-golfing', 'golfing', 'a person golfing', 'una persona che gioca a golf'],
  ['person-lifting-weights', 'lifting weights', 'a person lifting weights', 'una persona che solleva pesi'],
];

/** Probe pictures are rendered at this size: larger than any supported model's input. Kept as fast-compressed PNGs (~9 KB each). */
const PROBE_PIXELS = 224;

let builtIn: Promise<ProbeSet> | undefined;

/**
 * The built-in probe set: OpenMoji (a style no shipped model trained on) people emoji, every skin tone ×
 * woman / man / gender-neutral variant of 28 occupations and activities, so that a difference between groups is
 * the model's, not the pictures'. Rendered once per process, in memory.
 */
export function builtInProbeSet(): Promise<ProbeSet> {
  builtIn ??= renderBuiltIn();
  builtIn.catch(() => {
    builtIn = undefined;
  });
  return builtIn;
}

async function renderBuiltIn(): Promise<ProbeSet> {
  const icons = openMojiIcons().icons;
  const probes: Probe[] = [];
  for (const [neutral, label] of CONCEPTS) {
    const tail = neutral.replace(/^person-/, '');
    for (const gender of GENDERS) {
      const base = gender === 'person' ? neutral : `${gender}-${tail}`;
      for (const tone of SKIN_TONES) {
        const name = `${base}-${tone}-skin-tone`;
        if (!icons[name]) throw xmodalError('INTERNAL', `OpenMoji has no ${name}`);
        const png = await sharp(Buffer.from(openMojiSvg(name, PROBE_PIXELS)))
          .flatten({ background: '#ffffff' })
          .png({ compressionLevel: 1 })
          .toBuffer();
        probes.push({
          input: { modality: 'image', source: new Uint8Array(png) },
          concept: label,
          group: { skin_tone: tone, gender },
        });
      }
    }
  }
  return {
    probes,
    concepts: CONCEPTS.map(([, label, en, it]) => ({ name: label, label, queries: [en, it] })),
    attributes: [
      { name: 'skin_tone', groups: [...SKIN_TONES] },
      { name: 'gender', groups: [...GENDERS] },
    ],
    words: ASSOCIATION_WORDS,
  };
}

/**
 * A user's probe set, JSON Lines: `{"file": "a.png" | "text": "...", "group": {"skin_tone": "dark"}, "concept": "doctor"}`
 * (files relative to the probe file). Each concept is its own neutral query and zero-shot label.
 */
export async function readProbeFile(path: string): Promise<ProbeSet> {
  const text = await readUserFile(path, 'probe file');
  const probes: Probe[] = [];
  for (const { where, row } of jsonLines(text, path)) {
    const { file, text: probeText, group, concept } = row;
    if ((typeof file === 'string') === (typeof probeText === 'string') || (!file && !probeText))
      throw xmodalError('BAD_INPUT', `${where}: needs exactly one of "file" and "text"`);
    if (typeof concept !== 'string' || !concept.trim())
      throw xmodalError('BAD_INPUT', `${where}: "concept" must be a non-empty string`);
    if (
      !group ||
      typeof group !== 'object' ||
      Array.isArray(group) ||
      Object.keys(group).length === 0 ||
      !Object.values(group).every((v) => typeof v === 'string' && v)
    )
      throw xmodalError(
        'BAD_INPUT',
        `${where}: "group" must map attributes to group names, e.g. {"gender": "woman"}`,
      );
    let input: Input;
    if (typeof file === 'string') {
      const source = resolve(dirname(path), file);
      const detected = await detectFile(source);
      if (!detected || detected.modality === 'text' || detected.modality === 'video')
        throw xmodalError('UNSUPPORTED_FORMAT', `${where}: ${file} is not an image or audio file`);
      input = { modality: detected.modality, source };
    } else input = { modality: 'text', text: probeText as string };
    probes.push({ input, concept: concept.trim(), group: group as Record<string, string> });
  }
  const concepts = [...new Set(probes.map((p) => p.concept))].sort();
  if (concepts.length < 2) throw xmodalError('BAD_INPUT', `${path}: needs probes of at least two concepts`);
  const attributes = [...new Set(probes.flatMap((p) => Object.keys(p.group)))].sort().map((name) => ({
    name,
    groups: [...new Set(probes.map((p) => p.group[name]).filter(Boolean))].sort(),
  }));
  for (const attribute of attributes)
    if (attribute.groups.length < 2)
      throw xmodalError('BAD_INPUT', `${path}: attribute "${attribute.name}" needs at least two groups`);
  return {
    probes,
    concepts: concepts.map((name) => ({ name, label: name, queries: [name] })),
    attributes,
    words: ASSOCIATION_WORDS,
  };
}
