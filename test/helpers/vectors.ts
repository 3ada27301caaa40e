import assert from 'node:assert/strict';

export function norm(v: Float32Array): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

export function cosine(a: Float32Array, b: Float32Array): number {
  return a.reduce((s, x, i) => s + x * b[i], 0) / (norm(a) * norm(b));
}

export function assertRowsClose(actual: Float32Array[], expected: Float32Array[], tolerance: number): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((row, r) => {
    const worst = row.reduce((m, x, i) => Math.max(m, Math.abs(x - expected[r][i])), 0);
    assert.ok(worst <= tolerance, `row ${r} differs by ${worst} (> ${tolerance})`);
  });
}
