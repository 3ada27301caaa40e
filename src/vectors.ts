// Vector arithmetic every layer shares (encoders normalise, the store scores, tasks measure); imports nothing.

/** Splits a [rows, dim] buffer into L2-normalised rows (a zero row stays zero). */
export function normalizedRows(data: ArrayLike<number>, rows: number, dim: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let r = 0; r < rows; r++) {
    const row = new Float32Array(dim);
    for (let i = 0; i < dim; i++) row[i] = data[r * dim + i]; // a plain loop: Array.from's callback is ~10x slower
    out.push(l2normalize(row));
  }
  return out;
}

export function l2normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}

export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** The normalised mean of several normalised vectors (window or template averaging). */
export function meanDirection(vectors: readonly Float32Array[]): Float32Array {
  const mean = new Float32Array(vectors[0].length);
  for (const v of vectors) for (let i = 0; i < v.length; i++) mean[i] += v[i];
  return l2normalize(mean);
}

/** The plain (unnormalised) mean of vectors: where a group of embeddings sits. */
export function centroid(vectors: readonly Float32Array[]): Float32Array {
  const c = new Float32Array(vectors[0].length);
  for (const v of vectors) for (let d = 0; d < c.length; d++) c[d] += v[d] / vectors.length;
  return c;
}

/** The modality gap (Liang et al.): the Euclidean distance between two groups' centroids. */
export function centroidDistance(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  const [ca, cb] = [centroid(a), centroid(b)];
  let sum = 0;
  for (let d = 0; d < ca.length; d++) sum += (ca[d] - cb[d]) ** 2;
  return Math.sqrt(sum);
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
