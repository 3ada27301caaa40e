// Mixed benchmark and test files: JPEG and PNG images, WAV clips and short notes, all different.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

const WORDS = 'dog cat sea sunset piano drum guitar bird tree mountain river city night rain car train'.split(
  ' ',
);

/** A 16-bit mono WAV: a sine at `frequency`. */
export function wav(seconds: number, frequency: number, rate = 16000): Buffer {
  const n = Math.round(seconds * rate);
  const buffer = Buffer.alloc(44 + n * 2);
  buffer.write('RIFF', 0);
  buffer.writeUInt32LE(36 + n * 2, 4);
  buffer.write('WAVEfmt ', 8);
  buffer.writeUInt32LE(16, 16);
  buffer.writeUInt16LE(1, 20);
  buffer.writeUInt16LE(1, 22);
  buffer.writeUInt32LE(rate, 24);
  buffer.writeUInt32LE(rate * 2, 28);
  buffer.writeUInt16LE(2, 32);
  buffer.writeUInt16LE(16, 34);
  buffer.write('data', 36);
  buffer.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++)
    buffer.writeInt16LE(Math.round(12000 * Math.sin((2 * Math.PI * frequency * i) / rate)), 44 + i * 2);
  return buffer;
}

/** `count` files in `dir` (3 images : 1 clip : 1 note), made once: a `dir.done` marker says they are there. */
export async function makeMixedFiles(dir: string, count: number): Promise<void> {
  if (existsSync(`${dir}.done`)) return;
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const kind = i % 5;
    const base = join(dir, `file-${String(i).padStart(5, '0')}`);
    if (kind < 3) {
      const image = sharp({
        create: {
          width: 160,
          height: 120,
          channels: 3,
          background: { r: (i * 37) % 256, g: (i * 11) % 256, b: (i * 5) % 256 },
        },
      }).composite([
        {
          input: { create: { width: 40, height: 40, channels: 3, background: '#fff' } },
          left: i % 100,
          top: 20,
        },
      ]);
      await (kind === 0 ? image.jpeg().toFile(`${base}.jpg`) : image.png().toFile(`${base}.png`));
    } else if (kind === 3) writeFileSync(`${base}.wav`, wav(1, 200 + (i % 50) * 40));
    else {
      const w = (k: number) => WORDS[(i + k) % WORDS.length];
      writeFileSync(
        `${base}.txt`,
        `A note about the ${w(0)} and the ${w(1)}.\n\nIt mentions a ${w(2)} near the ${w(3)}.\n`,
      );
    }
  }
  writeFileSync(`${dir}.done`, '');
}
