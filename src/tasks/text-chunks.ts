/**
 * Splits prose into paragraph chunks: blank lines separate paragraphs; a heading or a fragment shorter than
 * `minChars` joins the next paragraph; a paragraph over `maxChars` is split at sentence ends.
 */
export function chunkText(text: string, { minChars = 20, maxChars = 1000 } = {}): string[] {
  const paragraphs = text
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter(Boolean);
  const chunks: string[] = [];
  let current = '';
  for (const paragraph of paragraphs.flatMap((p) => splitLong(p, maxChars))) {
    if (current && current.length + 1 + paragraph.length > maxChars) {
      chunks.push(current);
      current = '';
    }
    current = current ? `${current}\n${paragraph}` : paragraph;
    if (current.length >= minChars && !/^#+ /.test(paragraph)) {
      chunks.push(current);
      current = '';
    }
  }
  if (current) chunks.push(current);
  return chunks;
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
