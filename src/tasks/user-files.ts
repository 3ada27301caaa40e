import { readFile } from 'node:fs/promises';
import { xmodalError } from '../errors.js';

/** A file the user named (labels, policy, manifest, pairs): FILE_NOT_FOUND says which kind could not be read. */
export async function readUserFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw xmodalError('FILE_NOT_FOUND', `cannot read ${what} ${path}`, error);
  }
}

/** JSON Lines: each non-blank line parsed, with `file:line` for messages; a bad line is BAD_INPUT. */
export function jsonLines(text: string, path: string): { where: string; row: Record<string, unknown> }[] {
  const rows: { where: string; row: Record<string, unknown> }[] = [];
  for (const [n, line] of text.split(/\r?\n/).entries()) {
    if (!line.trim()) continue;
    const where = `${path}:${n + 1}`;
    try {
      rows.push({ where, row: JSON.parse(line) });
    } catch (error) {
      throw xmodalError('BAD_INPUT', `${where}: not valid JSON`, error);
    }
  }
  return rows;
}
