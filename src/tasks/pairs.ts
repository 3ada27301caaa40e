import { dirname, resolve } from 'node:path';
import { xmodalError } from '../errors.js';
import type { Input } from './embed.js';
import { jsonLines, readUserFile } from './user-files.js';

/** One matching pair: a query side (usually text) and what it should find. */
export interface Pair {
  a: Input;
  b: Input;
}

const SIDES = ['text', 'image', 'audio'] as const;

/**
 * Pairs as JSON Lines: each line holds two of `text`, `image`, `audio` (media paths relative to the file),
 * e.g. `{"text": "a red apple", "image": "apple.png"}`; text is the query side when present.
 */
export async function readPairs(path: string): Promise<Pair[]> {
  const text = await readUserFile(path, 'pairs file');
  const pairs: Pair[] = [];
  for (const { where, row } of jsonLines(text, path)) {
    const sides = SIDES.filter((s) => typeof row[s] === 'string' && row[s]);
    if (sides.length !== 2)
      throw xmodalError('BAD_INPUT', `${where}: needs exactly two of "text", "image", "audio"`);
    const [a, b] = sides.map(
      (s): Input =>
        s === 'text'
          ? { modality: 'text', text: row[s] as string }
          : { modality: s, source: resolve(dirname(path), row[s] as string) },
    );
    pairs.push({ a, b });
  }
  return pairs;
}
