// What the adapter trainer optimises (one matrix per modality and the log scale) and the optimiser (Adam).

/**
 * Trainable state: named weight arrays (for an adapter, one dim × dim matrix per adapted modality) and the log
 * of the softmax scale.
 */
export class Params {
  matrices: Map<string, Float32Array>;
  constructor(
    readonly dim: number,
    names: readonly string[],
    public logScale: number,
  ) {
    this.matrices = new Map(names.map((m) => [m, new Float32Array(dim * dim)]));
  }
  /** Named arrays of any sizes (e.g. a map's layers). */
  static of(arrays: Record<string, Float32Array>, logScale: number): Params {
    const params = new Params(0, [], logScale);
    for (const [name, w] of Object.entries(arrays)) params.matrices.set(name, w);
    return params;
  }
  /** The same shapes, all zero. */
  zeros(): Params {
    const z = new Params(this.dim, [], 0);
    for (const [m, w] of this.matrices) z.matrices.set(m, new Float32Array(w.length));
    return z;
  }
  copy(): Params {
    const c = this.zeros();
    for (const [m, w] of this.matrices) c.matrices.set(m, w.slice());
    c.logScale = this.logScale;
    return c;
  }
}

/** Adam over every array of a {@link Params} and its log scale. */
export class Adam {
  private readonly m: Params;
  private readonly v: Params;
  private t = 0;
  constructor(
    params: Params,
    private readonly lr: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
  ) {
    this.m = params.zeros();
    this.v = params.zeros();
  }
  update(params: Params, grads: Params): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    const move = (
      w: Float32Array | number[],
      g: ArrayLike<number>,
      m: Float32Array | number[],
      v: Float32Array | number[],
    ) => {
      for (let i = 0; i < w.length; i++) {
        m[i] = this.beta1 * m[i] + (1 - this.beta1) * g[i];
        v[i] = this.beta2 * v[i] + (1 - this.beta2) * g[i] * g[i];
        w[i] -= (this.lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + 1e-8);
      }
    };
    for (const [mod, w] of params.matrices)
      move(w, grads.matrices.get(mod)!, this.m.matrices.get(mod)!, this.v.matrices.get(mod)!);
    const s = [params.logScale];
    const ms = [this.m.logScale];
    const vs = [this.v.logScale];
    move(s, [grads.logScale], ms, vs);
    [params.logScale, this.m.logScale, this.v.logScale] = [s[0], ms[0], vs[0]];
  }
}
