// Winograd F(2x2, 3x3) tile transforms (conv_winograd.cpp's header comment
// has the matrices), written for the compiler to vectorise along a row of
// tiles: each pass reads and writes whole rows. Included inside an ISA
// namespace (conv_winograd.cpp, conv_winograd_avx2.cpp,
// conv_winograd_avx512.cpp; see Note [ISA files]).

// v (16, ci, nt) = B^T d B for tile rows [r0, r0 + rows) of one group's input xg (ci, ih, iw).
// pad: one channel's 2 rows + 2 input rows with their zero border (width 2 tc + 2), then
// 4 rows (B^T applied down the columns of one tile row).
// (Row copies here are a few cache lines: inline loops, not memcpy calls.)
template <typename T>
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void wino_input(T* __restrict v, T* __restrict pad, const T* __restrict xg, const Wino& q, i64 r0, i64 rows) {
  const i64 nt = rows * q.tc, prow = 2 * rows + 2, pcol = 2 * q.tc + 2, tc = q.tc;
  const i64 c_lo = std::clamp<i64>(q.pl, 0, pcol), c_hi = std::clamp<i64>(q.iw + q.pl, c_lo, pcol);
  T* __restrict t = pad + prow * pcol;  // (4, pcol)
  const i64 xs = wino_plane(q.ci * nt);  // stride between the 16 planes of v
  for (i64 c = 0; c < q.ci; ++c) {
    const T* xc = xg + c * q.ih * q.iw;
    for (i64 r = 0; r < prow; ++r) {
      T* d = pad + r * pcol;
      const i64 src = 2 * r0 - q.pt + r;
      if (src < 0 || src >= q.ih) {
        for (i64 k = 0; k < pcol; ++k) d[k] = T(0);
        continue;
      }
      const T* __restrict xr = xc + src * q.iw - q.pl;  // column k of d is xr[k]
      for (i64 k = 0; k < c_lo; ++k) d[k] = T(0);
#pragma omp simd
      for (i64 k = c_lo; k < c_hi; ++k) d[k] = xr[k];
      for (i64 k = c_hi; k < pcol; ++k) d[k] = T(0);
    }
    for (i64 rr = 0; rr < rows; ++rr) {
      const T* __restrict d0 = pad + 2 * rr * pcol;
      const T* __restrict d1 = d0 + pcol;
      const T* __restrict d2 = d1 + pcol;
      const T* __restrict d3 = d2 + pcol;
      T* __restrict t0 = t;
      T* __restrict t1 = t + pcol;
      T* __restrict t2 = t + 2 * pcol;
      T* __restrict t3 = t + 3 * pcol;
#pragma omp simd
      for (i64 k = 0; k < pcol; ++k) {  // B^T down the columns
        t0[k] = d0[k] - d2[k];
        t1[k] = d1[k] + d2[k];
        t2[k] = d2[k] - d1[k];
        t3[k] = d1[k] - d3[k];
      }
      T* vt = v + c * nt + rr * tc;
      for (int a = 0; a < 4; ++a) {  // B along each row: tile j reads columns 2j .. 2j + 3
        const T* __restrict s = t + a * pcol;
        T* __restrict v0 = vt + (a * 4 + 0) * xs;
        T* __restrict v1 = vt + (a * 4 + 1) * xs;
        T* __restrict v2 = vt + (a * 4 + 2) * xs;
        T* __restrict v3 = vt + (a * 4 + 3) * xs;
#pragma omp simd
        for (i64 j = 0; j < tc; ++j) {
          const T e0 = s[2 * j], e1 = s[2 * j + 1], e2 = s[2 * j + 2], e3 = s[2 * j + 3];
          v0[j] = e0 - e2;
          v1[j] = e1 + e2;
          v2[j] = e2 - e1;
          v3[j] = e1 - e3;
        }
      }
    }
  }
}

// og (co, oh, ow) = A^T m A (+ bias (co,)) for tile rows [r0, r0 + rows) of m (16, co, nt),
// clipped at odd edges. row: s (8, tc) = A^T applied along the tile rows, then 2 output rows (2, 2 tc).
template <typename T>
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void wino_output(T* __restrict og, T* __restrict row, const T* __restrict m, const T* bias, const Wino& q, i64 r0,
                 i64 rows) {
  const i64 nt = rows * q.tc, xs = wino_plane(q.co * nt), tc = q.tc, w2 = 2 * tc;
  T* __restrict s = row;             // (4 rows of m, 2 columns, tc)
  T* __restrict y = row + 8 * tc;    // (2, 2 tc)
  for (i64 o = 0; o < q.co; ++o) {
    const T bv = bias ? bias[o] : T(0);
    T* oo = og + o * q.oh * q.ow;
    for (i64 rr = 0; rr < rows; ++rr) {
      const T* mt = m + o * nt + rr * tc;
      for (int a = 0; a < 4; ++a) {
        const T* __restrict m0 = mt + (a * 4 + 0) * xs;
        const T* __restrict m1 = mt + (a * 4 + 1) * xs;
        const T* __restrict m2 = mt + (a * 4 + 2) * xs;
        const T* __restrict m3 = mt + (a * 4 + 3) * xs;
        T* __restrict sa = s + a * 2 * tc;
#pragma omp simd
        for (i64 j = 0; j < tc; ++j) {
          sa[j] = m0[j] + m1[j] + m2[j];
          sa[tc + j] = m1[j] - m2[j] - m3[j];
        }
      }
#pragma omp simd
      for (i64 j = 0; j < tc; ++j) {
        for (int b = 0; b < 2; ++b) {
          const T a0 = s[b * tc + j], a1 = s[(2 + b) * tc + j], a2 = s[(4 + b) * tc + j], a3 = s[(6 + b) * tc + j];
          y[2 * j + b] = a0 + a1 + a2 + bv;
          y[w2 + 2 * j + b] = a1 - a2 - a3 + bv;
        }
      }
      const i64 i0 = 2 * (r0 + rr);
      for (i64 a = 0; a < 2 && i0 + a < q.oh; ++a) {
        T* __restrict d = oo + (i0 + a) * q.ow;
#pragma omp simd
        for (i64 k = 0; k < q.ow; ++k) d[k] = y[a * w2 + k];
      }
    }
  }
}
