// Winograd F(2x2, 3x3) and F(2x2, 2x2) tile transforms (conv_winograd.cpp's header comment
// has the matrices), written for the compiler to vectorise along a row of
// tiles: each pass reads and writes whole rows. Included inside an ISA
// namespace (conv_winograd.cpp, conv_winograd_avx2.cpp,
// conv_winograd_avx512.cpp; see Note [ISA files]).

// v (16, ci, nt) = B^T d B for tile rows [r0, r0 + rows) of one group's input xg (ci, ih, iw),
// d the 4x4 tiles of F(2x2, 3x3) (R = 3), or v (9, ci, nt) of the 3x3 tiles of F(2x2, 2x2)
// (R = 2: B^T = [1 -1 0; 0 1 0; 0 -1 1]).
// pad: one channel's 2 rows + R - 1 input rows with their zero border (width 2 tc + R - 1), then
// R + 1 rows (B^T applied down the columns of one tile row).
// (Row copies here are a few cache lines: inline loops, not memcpy calls.)
template <typename T, int R>
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void wino_input(T* __restrict v, i64 ld, T* __restrict pad, const T* __restrict xg, const Wino& q, i64 r0, i64 rows) {
  const i64 nt = rows * q.tc, prow = 2 * rows + R - 1, pcol = 2 * q.tc + R - 1, tc = q.tc;
  const i64 c_lo = std::clamp<i64>(q.pl, 0, pcol), c_hi = std::clamp<i64>(q.iw + q.pl, c_lo, pcol);
  T* __restrict t = pad + prow * pcol;  // (4, pcol)
  const i64 xs = wino_plane(q.ci * ld);  // stride between the planes of v
  for (i64 c = 0; c < q.ci; ++c) {
    const T* xc = xg + c * q.ih * q.iw;
    if (R == 2 && q.is == 2) {  // channel c = (a, b, c'): the phase plane x[c', 2 r + a - xpt, 2 k + b - xpl]
      const i64 cc = q.ci / 4, a = c / cc / 2, b = c / cc % 2;
      xc = xg + c % cc * q.ih * q.iw;
      const i64 k_lo = std::clamp<i64>((q.xpl - b + 1) / 2, 0, pcol);
      const i64 k_hi = std::clamp<i64>((q.iw + q.xpl - b + 1) / 2, k_lo, pcol);
      for (i64 r = 0; r < prow; ++r) {
        T* d = pad + r * pcol;
        const i64 src = 2 * (2 * r0 - q.pt + r) + a - q.xpt;
        if (src < 0 || src >= q.ih) {
          for (i64 k = 0; k < pcol; ++k) d[k] = T(0);
          continue;
        }
        const T* __restrict xr = xc + src * q.iw + b - q.xpl;  // column k of d is xr[2 k]
        for (i64 k = 0; k < k_lo; ++k) d[k] = T(0);
#pragma omp simd
        for (i64 k = k_lo; k < k_hi; ++k) d[k] = xr[2 * k];
        for (i64 k = k_hi; k < pcol; ++k) d[k] = T(0);
      }
    } else for (i64 r = 0; r < prow; ++r) {
      if (r == 0 && c + 1 < q.ci) {  // the next channel's rows (short runs the hardware does not prefetch)
        const i64 lo = std::max<i64>(0, 2 * r0 - q.pt), hi = std::min(q.ih, 2 * r0 - q.pt + prow);
        const T* xn = xc + q.ih * q.iw;
        for (i64 e = lo * q.iw; e < hi * q.iw; e += kLineBytes / i64(sizeof(T))) __builtin_prefetch(xn + e, 0, 3);
      }
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
    if constexpr (R == 2) {
      // pad row 2 rr + p's columns 2j, 2j + 1, 2j + 2 to e[p][0..2] (rows + 1 - p, tc), so that
      // every tile's rows are the same flat index t = rr tc + j (row 2 rr + 2: e[0][.] + tc)
      T* __restrict e = pad + prow * pcol;  // (2, 3, (rows + 1) tc)
      const i64 es = (rows + 1) * tc;
      for (i64 r = 0; r < prow; ++r) {
        const T* __restrict d = pad + r * pcol;
        T* __restrict e0 = e + (r % 2) * 3 * es + r / 2 * tc;
#pragma omp simd
        for (i64 j = 0; j < tc; ++j) {
          e0[j] = d[2 * j];
          e0[es + j] = d[2 * j + 1];
          e0[2 * es + j] = d[2 * j + 2];
        }
      }
      T* __restrict vc = v + c * ld;
#pragma omp simd
      for (i64 t = 0; t < nt; ++t) {
        T col[3][3];  // B^T down the columns of column kind k (2j, 2j + 1, 2j + 2)
        for (int k = 0; k < 3; ++k) {
          const T r0 = e[k * es + t], r1 = e[(3 + k) * es + t], r2 = e[k * es + tc + t];
          col[0][k] = r0 - r1;
          col[1][k] = r1;
          col[2][k] = r2 - r1;
        }
        for (int a = 0; a < 3; ++a) {  // B along the rows
          vc[(a * 3 + 0) * xs + t] = col[a][0] - col[a][1];
          vc[(a * 3 + 1) * xs + t] = col[a][1];
          vc[(a * 3 + 2) * xs + t] = col[a][2] - col[a][1];
        }
      }
      continue;
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
      T* vt = v + c * ld + rr * tc;
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

// d (16, co / nr, nt, nr) = A g A^T for tile rows [r0, r0 + rows) of one group's output
// gradient og (co, oh, ow), g its 2x2 tiles (zero past oh, ow): the weight gradient's
// transform of dout (A^T the output transform's), A = [1 0; 1 1; 1 -1; 0 -1], written as
// the GEMM's B panels of nr channels (zero past co; planes wino_plane(round_up(co, nr) nt)
// apart). row: one tile row of a panel channels-last (2, 2 tc, nr): A is applied across
// the nr channels of a tile at once.
template <typename T>
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void wino_grad(T* __restrict d, i64 nt, i64 nr, T* __restrict row, const T* __restrict og, const Wino& q, i64 r0,
               i64 rows) {
  const i64 tc = q.tc, w2 = 2 * tc, xs = wino_plane(round_up(q.co, nr) * nt);
  for (i64 o0 = 0; o0 < q.co; o0 += nr) {
    const i64 on = std::min(nr, q.co - o0);
    for (i64 rr = 0; rr < rows; ++rr) {
      const i64 i0 = 2 * (r0 + rr);
      // the next tile row's 2 rows of the panel's channels, or the next panel's first
      const i64 pn = rr + 1 < rows ? o0 : o0 + nr, in = rr + 1 < rows ? i0 + 2 : 2 * r0;
      for (i64 l = pn; l < std::min(pn + nr, q.co); ++l)
        for (i64 e = in * q.ow; e < std::min(in + 2, q.oh) * q.ow; e += kLineBytes / i64(sizeof(T)))
          __builtin_prefetch(og + l * q.oh * q.ow + e, 0, 3);
      for (i64 a = 0; a < 2; ++a) {  // row[a][k][l] = og[o0 + l][i0 + a][k]
        T* __restrict ra = row + a * w2 * nr;
        const i64 hi = i0 + a < q.oh ? q.ow : 0;
        for (i64 l = 0; l < on; ++l) {
          const T* __restrict s = og + ((o0 + l) * q.oh + i0 + a) * q.ow;
          for (i64 k = 0; k < hi; ++k) ra[k * nr + l] = s[k];
        }
        for (i64 k = 0; k < w2; ++k)
          for (i64 l = k < hi ? on : 0; l < nr; ++l) ra[k * nr + l] = T(0);
      }
      T* dt = d + (o0 / nr * nt + rr * tc) * nr;
      for (i64 j = 0; j < tc; ++j) {
        const T* __restrict y0 = row + 2 * j * nr;
        const T* __restrict y1 = y0 + w2 * nr;
        T* __restrict e = dt + j * nr;
#pragma omp simd
        for (i64 l = 0; l < nr; ++l) {
          const T y00 = y0[l], y01 = y0[nr + l], y10 = y1[l], y11 = y1[nr + l];
          const T t[4][2] = {{y00, y01}, {y00 + y10, y01 + y11}, {y00 - y10, y01 - y11}, {-y10, -y11}};  // A down
          for (int a = 0; a < 4; ++a) {  // A along the rows
            e[(a * 4 + 0) * xs + l] = t[a][0];
            e[(a * 4 + 1) * xs + l] = t[a][0] + t[a][1];
            e[(a * 4 + 2) * xs + l] = t[a][0] - t[a][1];
            e[(a * 4 + 3) * xs + l] = -t[a][1];
          }
        }
      }
    }
  }
}

// og (co, oh, ow) = A^T m A (+ bias (co,)) for tile rows [r0, r0 + rows) of m (16, co, nt),
// clipped at odd edges. row: s (8, tc) = A^T applied along the tile rows, then 2 output rows (2, 2 tc).
template <typename T>
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void wino_output(T* __restrict og, T* __restrict row, const T* __restrict m, i64 ld, const T* bias, const Wino& q, i64 r0,
                 i64 rows) {
  const i64 xs = wino_plane(q.co * ld), tc = q.tc, w2 = 2 * tc;
  T* __restrict s = row;             // (4 rows of m, 2 columns, tc)
  T* __restrict y = row + 8 * tc;    // (2, 2 tc)
  for (i64 o = 0; o < q.co; ++o) {
    const T bv = bias ? bias[o] : T(0);
    T* oo = og + o * q.oh * q.ow;
    for (i64 rr = 0; rr < rows; ++rr) {
      const T* mt = m + o * ld + rr * tc;
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

// F(2x2, 2x2)'s output (A^T = [1 1 0; 0 1 1]) for tile rows [r0, r0 + rows) of m (9, co, nt),
// co = (2, 2, cr) phases: og (cr, yh, yw) (+ bias (cr,)), tile (i, j)'s 2x2 grid outputs of
// phase (a, b) at rows 4 i + 2 r + a + yr, columns 4 j + 2 s + b + yc (Wino). Loops run over
// all nt tiles of the band (a row of tiles is short), A^T down the columns of m first.
// With q.stream the output's full 64-byte lines take streaming stores (and the call ends
// with a fence). row: y (4 output rows 2 r + a, rows, 4 tc).
template <typename T>
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void wino_output2(T* __restrict og, T* __restrict row, const T* __restrict m, i64 ld, const T* bias, const Wino& q, i64 r0,
                  i64 rows) {
  constexpr i64 kLine = kLineBytes / i64(sizeof(T));
  // loops run to nt rounded up to 16 (whole vectors): past nt they read the next channel's
  // tiles or a plane's padding (wino_plane) and write junk that is never copied out
  const i64 nt = round_up(rows * q.tc, 16), xs = wino_plane(q.co * ld), w4 = 2 * q.ps * q.tc;
  const i64 cr = q.co / (q.ps * q.ps), yrows = 2 * q.ps;
  const i64 k_lo = std::clamp<i64>(-q.yc, 0, w4), k_hi = std::clamp<i64>(q.yw - q.yc, k_lo, w4);
  T* __restrict y = row;  // (4, rows, 4 tc)
  for (i64 c = 0; c < cr; ++c) {
    const T bv = bias ? bias[c] : T(0);
    if (q.ps == 1) {  // one phase: y (2, rows, 2 tc), columns 2 j + s
      for (int r = 0; r < 2; ++r) {
        T* __restrict yr = y + r * 2 * nt;
        const T* __restrict u0 = m + c * ld + 3 * r * xs;
#pragma omp simd
        for (i64 t = 0; t < nt; ++t) {
          const T h0 = u0[t] + u0[3 * xs + t], h1 = u0[xs + t] + u0[4 * xs + t], h2 = u0[2 * xs + t] + u0[5 * xs + t];
          yr[2 * t + 0] = h0 + h1 + bv;
          yr[2 * t + 1] = h1 + h2 + bv;
        }
      }
    } else for (int a = 0; a < 2; ++a) {
      const T* __restrict p0 = m + (a * 2 * cr + c) * ld;  // phase (a, 0); (a, 1) is cr ld further
      const T* __restrict p1 = p0 + cr * ld;
      for (int r = 0; r < 2; ++r) {  // y row 2 r + a, columns 4 j + 2 s + b: m's rows r, r + 1
        T* __restrict yr = y + (2 * r + a) * 4 * nt;
        const T* __restrict u0 = p0 + 3 * r * xs;
        const T* __restrict u1 = p1 + 3 * r * xs;
#pragma omp simd
        for (i64 t = 0; t < nt; ++t) {
          const T h00 = u0[t] + u0[3 * xs + t], h01 = u0[xs + t] + u0[4 * xs + t], h02 = u0[2 * xs + t] + u0[5 * xs + t];
          const T h10 = u1[t] + u1[3 * xs + t], h11 = u1[xs + t] + u1[4 * xs + t], h12 = u1[2 * xs + t] + u1[5 * xs + t];
          yr[4 * t + 0] = h00 + h01 + bv;
          yr[4 * t + 1] = h10 + h11 + bv;
          yr[4 * t + 2] = h01 + h02 + bv;
          yr[4 * t + 3] = h11 + h12 + bv;
        }
      }
    }
    T* oc = og + c * q.yh * q.yw;
    for (i64 rr = 0; rr < rows; ++rr) {
      const i64 y0 = yrows * (r0 + rr) + q.yr;
      for (i64 k = 0; k < yrows; ++k) {
        if (y0 + k < 0 || y0 + k >= q.yh) continue;
        T* __restrict d = oc + (y0 + k) * q.yw + q.yc;
        const T* __restrict s = y + k * w4 / q.tc * nt + rr * w4;
        i64 e = k_lo;
        if (q.stream) {  // up to d's first line boundary, the full lines streamed, then the rest
          const i64 head = k_lo + stream_head(d + k_lo, k_hi - k_lo), lines = (k_hi - head) / kLine * kLine;
          for (; e < head; ++e) d[e] = s[e];
          stream_copy_lines(d + e, s + e, lines);
          e += lines;
        }
#pragma omp simd
        for (i64 k2 = e; k2 < k_hi; ++k2) d[k2] = s[k2];
      }
    }
  }
  if (q.stream) stream_fence();
}
