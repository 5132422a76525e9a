/**
 * Platt scaling: P(y = 1 | f) = 1 / (1 + exp(A·f + B)) fitted by regularised maximum likelihood with
 * Platt's smoothed targets, using the Newton method with backtracking of Lin, Lin & Weng (2007),
 * "A note on Platt's probabilistic outputs for support vector machines".
 */
export interface PlattParams {
  A: number;
  B: number;
}

export function fitPlatt(decision: Float64Array, y: Uint8Array, weight?: Float64Array | null): PlattParams {
  const n = decision.length;
  let prior1 = 0;
  let prior0 = 0;
  for (let i = 0; i < n; i++) {
    const w = weight ? weight[i] : 1;
    if (y[i] === 1) prior1 += w;
    else prior0 += w;
  }
  const hiTarget = (prior1 + 1) / (prior1 + 2);
  const loTarget = 1 / (prior0 + 2);
  const minStep = 1e-10;
  const sigma = 1e-12;
  let A = 0;
  let B = Math.log((prior0 + 1) / (prior1 + 1));
  const objective = (a: number, b: number): number => {
    let f = 0;
    for (let i = 0; i < n; i++) {
      const t = y[i] === 1 ? hiTarget : loTarget;
      const fApB = decision[i] * a + b;
      const w = weight ? weight[i] : 1;
      f +=
        w *
        (fApB >= 0 ? t * fApB + Math.log1p(Math.exp(-fApB)) : (t - 1) * fApB + Math.log1p(Math.exp(fApB)));
    }
    return f;
  };
  let fval = objective(A, B);
  for (let iter = 0; iter < 100; iter++) {
    let h11 = sigma;
    let h22 = sigma;
    let h21 = 0;
    let g1 = 0;
    let g2 = 0;
    for (let i = 0; i < n; i++) {
      const t = y[i] === 1 ? hiTarget : loTarget;
      const fi = decision[i];
      const fApB = fi * A + B;
      let p: number;
      let q: number;
      if (fApB >= 0) {
        const e = Math.exp(-fApB);
        p = e / (1 + e);
        q = 1 / (1 + e);
      } else {
        const e = Math.exp(fApB);
        p = 1 / (1 + e);
        q = e / (1 + e);
      }
      const w = weight ? weight[i] : 1;
      const d2 = w * p * q;
      h11 += fi * fi * d2;
      h22 += d2;
      h21 += fi * d2;
      const d1 = w * (t - p);
      g1 += fi * d1;
      g2 += d1;
    }
    // Platt's absolute 1e-5 on gradient sums, or 1e-9 per unit of weight: summed over millions of rows the
    // absolute test sits below the sums' rounding noise and Newton would run all 100 iterations.
    const gradTol = Math.max(1e-5, 1e-9 * (prior0 + prior1));
    if (Math.abs(g1) < gradTol && Math.abs(g2) < gradTol) break;
    const det = h11 * h22 - h21 * h21;
    const dA = -(h22 * g1 - h21 * g2) / det;
    const dB = -(-h21 * g1 + h11 * g2) / det;
    const gd = g1 * dA + g2 * dB;
    const previous = fval;
    let step = 1;
    let moved = false;
    while (step >= minStep) {
      const newA = A + step * dA;
      const newB = B + step * dB;
      const newf = objective(newA, newB);
      if (newf < fval + 0.0001 * step * gd) {
        A = newA;
        B = newB;
        fval = newf;
        moved = true;
        break;
      }
      step /= 2;
    }
    if (!moved) break;
    if (previous - fval <= 1e-13 * Math.abs(previous)) break;
  }
  return { A, B };
}

export function plattProbability(p: PlattParams, decision: number): number {
  const fApB = decision * p.A + p.B;
  return fApB >= 0 ? Math.exp(-fApB) / (1 + Math.exp(-fApB)) : 1 / (1 + Math.exp(fApB));
}
