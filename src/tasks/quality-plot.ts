import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { PCA } from 'ml-pca';
import sharp from 'sharp';
import type { Modality } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import type { ItemRecord } from '../store/store.js';

const COLOURS: Record<Modality, string> = { text: '#1f77b4', image: '#ff7f0e', audio: '#2ca02c' };
const SIZE = 640;
const MARGIN = 40;

/** The vectors' first two principal components (ml-pca). */
export function projectTo2d(vectors: readonly Float32Array[]): [number, number][] {
  const data = vectors.map((v) => Array.from(v));
  const pca = new PCA(data);
  return pca.predict(data, { nComponents: 2 }).to2DArray() as [number, number][];
}

const escapeXml = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A scatter plot of the projection, one colour per modality, each point titled with its file name. */
export function scatterSvg(
  points: readonly [number, number][],
  records: readonly ItemRecord[],
  title: string,
): string {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) => MARGIN + ((x - minX) / (maxX - minX || 1)) * (SIZE - 2 * MARGIN);
  const sy = (y: number) => SIZE - MARGIN - ((y - minY) / (maxY - minY || 1)) * (SIZE - 2 * MARGIN);
  const dots = points.map(
    ([x, y], i) =>
      `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="4" fill="${COLOURS[records[i].modality]}" fill-opacity="0.7"><title>${escapeXml(basename(records[i].uri ?? records[i].id))}</title></circle>`,
  );
  const present = (Object.keys(COLOURS) as Modality[]).filter((m) => records.some((r) => r.modality === m));
  const legend = present.map(
    (m, i) =>
      `<circle cx="${MARGIN + i * 90}" cy="${SIZE - 14}" r="5" fill="${COLOURS[m]}"/><text x="${MARGIN + 10 + i * 90}" y="${SIZE - 10}">${m}</text>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 ${SIZE} ${SIZE}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${MARGIN}" y="24" font-size="14">${escapeXml(title)}</text>`,
    ...dots,
    ...legend,
    '</svg>',
  ].join('\n');
}

/** Writes the plot as SVG, or as PNG when the file name ends in .png. */
export async function writePlot(path: string, svg: string): Promise<void> {
  if (path.toLowerCase().endsWith('.png')) await sharp(Buffer.from(svg)).png().toFile(path);
  else if (path.toLowerCase().endsWith('.svg')) await writeFile(path, svg);
  else throw xmodalError('BAD_ARGUMENT', `plot file must end in .svg or .png, got ${path}`);
}
