import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Matrix, QrDecomposition } from 'ml-matrix';
import { linearMap, type MapAdapter, saveMapAdapter } from '../../src/encoders/map-adapter.js';
import { mulberry32 } from '../../src/tasks/adapt.js';
import { MINI } from './mini.js';

const DIM = 256;

function gaussians(count: number, seed: number): number[] {
  const random = mulberry32(seed);
  return Array.from(
    { length: count },
    () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()),
  );
}

/** A random orthogonal matrix: the Q of a Gaussian matrix's QR decomposition. */
function randomRotation(seed: number): Matrix {
  const values = gaussians(DIM * DIM, seed);
  const gaussian = new Matrix(Array.from({ length: DIM }, (_, r) => values.slice(r * DIM, (r + 1) * DIM)));
  return new QrDecomposition(gaussian).orthogonalMatrix;
}

/**
 * How xmodal-mini's CLAP part is moved out of the shared space: `rotation` is a fixed random orthogonal map
 * (cosines kept exactly); `distorted` is a random invertible non-orthogonal map (singular values from 0.5 to 2)
 * plus a fixed nonlinear term of about a tenth of its size (a tanh layer of random weights).
 */
export type Separation = 'rotation' | 'distorted';

function separationMap(kind: Separation, model: string): MapAdapter {
  if (kind === 'rotation')
    return linearMap(model, DIM, DIM, Float32Array.from(randomRotation(11).to1DArray()));
  const stretch = Matrix.diag(Array.from({ length: DIM }, (_, i) => 0.5 * 4 ** (i / (DIM - 1))));
  const linear = randomRotation(12).mmul(stretch).mmul(randomRotation(13));
  const hidden = 64;
  const w1 = gaussians(hidden * DIM, 14).map((v) => (3 * v) / Math.sqrt(DIM));
  const w2 = gaussians(DIM * hidden, 15).map((v) => (0.1 * v) / Math.sqrt(hidden));
  return {
    ...linearMap(model, DIM, DIM, Float32Array.from(linear.to1DArray())),
    hidden,
    w1: Float32Array.from(w1),
    b1: new Float32Array(hidden),
    w2: Float32Array.from(w2),
  };
}

/**
 * An undeclared two-part bundle in `dir`: xmodal-mini's CLIP part as it is, and its CLAP part (the shipped
 * ONNX files, by path) behind a separating map, written as an output adapter. Its two text towers then
 * disagree, as a real CLIP's and a real CLAP's do.
 */
export function separateMini(dir: string, kind: Separation): string {
  const bundle = join(dir, `mini-${kind}`);
  const clap = join(bundle, 'clap');
  mkdirSync(clap, { recursive: true });
  saveMapAdapter(clap, separationMap(kind, join(MINI, 'clap')));
  writeFileSync(
    join(bundle, 'xmodal.json'),
    JSON.stringify({ name: `mini-${kind}`, parts: [join(MINI, 'clip'), 'clap'] }, null, 2),
  );
  return bundle;
}

// `npx tsx test/helpers/separate-mini.ts rotation|distorted DIR` writes the bundle for trying it by hand.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [kind, dir] = process.argv.slice(2);
  if (!['rotation', 'distorted'].includes(kind) || !dir) {
    process.stderr.write('usage: separate-mini.ts rotation|distorted DIR\n');
    process.exit(2);
  }
  mkdirSync(dir, { recursive: true });
  process.stdout.write(`${separateMini(resolve(dir), kind as Separation)}\n`);
}
