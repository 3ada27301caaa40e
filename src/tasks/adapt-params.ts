// What the adapter trainer optimises (one matrix per modality and the log scale) and the optimiser (Adam).
import type { Modality } from '../types.js';

/** Trainable state: one dim × dim matrix per adapted modality and the log of the softmax scale. */
export class Params {
  matrices: Map<Modality, Float32Array>;
  constructor(
    readonly dim: number,
    modalities: readonly Modality[],
    public logScale: number,
  ) {
    this.matrices = new Map(modalities.map((m) => [m, new Float32Array(dim * dim)]));
  }
  zeros(): Params {
    return new Params(this.dim, [...this.matrices.keys()], 0);
  }
  copy(): Params {
    const c = this.zeros();
    for (const [m, w] of this.matrices) c.matrices.set(m, w.slice());
    c.logScale = this.logScale;
    return c;
  }
}

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
