export interface ChunkOptions {
  minChars?: number;
  maxChars?: number;
}

/**
 * Splits prose into paragraph chunks: blank lines separate paragraphs; a heading or a fragment shorter than
 * `minChars` joins the next paragraph; a paragraph over `maxChars` is split at sentence ends.
 */
export function chunkText(text: string, options: ChunkOptions = {}): string[] {
  return [...chunksOf(paragraphsOf(text), options)];
}

/**
 * `chunkText` that gives the event loop a turn every few milliseconds, so that a server chunking a large
 * text file keeps answering other requests (20 MB of text takes seconds to chunk).
 */
export async function chunkTextInTurns(text: string, options: ChunkOptions = {}): Promise<string[]> {
  const chunks: string[] = [];
  let since = performance.now();
  for (const chunk of chunksOf(paragraphsOf(text), options)) {
    chunks.push(chunk);
    if (performance.now() - since > 10) {
      await new Promise((resolve) => setImmediate(resolve));
      since = performance.now();
    }
  }
  return chunks;
}

const BLOCK_CHARS = 64 * 1024;
/** Two line breaks (CRLF, CR or LF) with only spaces or tabs between them; group 1 is the first break. */
const BLANK_LINE = /(\r\n|\r(?!\n)|\n)[^\S\r\n]*(?:\r\n|\r|\n)/;

/**
 * The text's paragraphs, whitespace collapsed, read a block at a time. Blocks end inside a blank line (after
 * its first line feed), where splitting the whole text would split too, so the paragraphs are the same; a
 * paragraph running on for a megabyte is cut at a whitespace instead.
 */
function* paragraphsOf(text: string): Generator<string> {
  for (let start = 0; start < text.length; ) {
    let end = text.length;
    if (start + BLOCK_CHARS < text.length) {
      const window = text.slice(start + BLOCK_CHARS, start + 16 * BLOCK_CHARS);
      const blank = BLANK_LINE.exec(window);
      const space = blank ? null : /\s/.exec(text.slice(start + 16 * BLOCK_CHARS, start + 32 * BLOCK_CHARS));
      if (blank) end = start + BLOCK_CHARS + blank.index + blank[1].length;
      else if (space && start + 16 * BLOCK_CHARS < text.length) end = start + 16 * BLOCK_CHARS + space.index;
    }
    for (const paragraph of text
      .slice(start, end)
      .replace(/\r\n?/g, '\n')
      .split(/\n\s*\n/)) {
      const plain = paragraph.replace(/\s+/g, ' ').trim();
      if (plain) yield plain;
    }
    start = end;
  }
}

function* chunksOf(paragraphs: Iterable<string>, { minChars = 20, maxChars = 1000 }: ChunkOptions) {
  let current = '';
  for (const whole of paragraphs) {
    for (const paragraph of splitLong(whole, maxChars)) {
      if (current && current.length + 1 + paragraph.length > maxChars) {
        yield current;
        current = '';
      }
      current = current ? `${current}\n${paragraph}` : paragraph;
      if (current.length >= minChars && !/^#+ /.test(paragraph)) {
        yield current;
        current = '';
      }
    }
  }
  if (current) yield current;
}

function splitLong(paragraph: string, maxChars: number): string[] {
  if (paragraph.length <= maxChars) return [paragraph];
  const sentences = paragraph.match(/[^.!?]+[.!?]+(\s|$)|[^.!?]+$/g) ?? [paragraph];
  const parts: string[] = [];
  let current = '';
  for (const sentence of sentences) {
    if (current && current.length + sentence.length > maxChars) {
      parts.push(current.trim());
      current = '';
    }
    // A single sentence longer than the limit is cut at word boundaries.
    for (let s = sentence; s.length > 0; ) {
      const room = maxChars - current.length;
      if (s.length <= room) {
        current += s;
        break;
      }
      const cut = s.lastIndexOf(' ', room) > 0 ? s.lastIndexOf(' ', room) : room;
      parts.push((current + s.slice(0, cut)).trim());
      current = '';
      s = s.slice(cut);
    }
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}
