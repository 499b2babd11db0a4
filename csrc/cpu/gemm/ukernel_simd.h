// The SIMD GEMM micro-kernel body, written once for every vector ISA.
//
// Included only by ukernel_avx2.cpp and ukernel_avx512.cpp, *inside* their
// anonymous namespace (see Note [ISA files] in core/isa.h): each ISA file gets
// its own internal-linkage copy compiled with its own flags. R is a vector
// traits type (reg, mask, W lanes; zero/load/maskload/bcast/fma/mul/set1/
// store/maskstore/mask) defined by the including file. Contract: gemm.h.
//
// A has any strides (element (i, p) at a[i*rsa + p*csa]); only rows < m are
// read. Two layouts have fast loops: a column panel (rsa == 1, as packing
// produces and as a transposed row-major matrix already is) and rows
// (csa == 1, a row-major matrix in place). B rows have unit stride.
//
// Register budget: MR*NV accumulators + NV B vectors + 1 broadcast.
//   avx2   sgemm 6x16 (NV 2): 12 + 2 + 1 = 15 of 16 ymm
//   avx512 sgemm 12x32 (NV 2): 24 + 2 + 1 = 27 of 32 zmm

// How the k loop addresses A (see gemm.h): a column panel (rsa == 1: row i
// at a constant offset from one pointer), rows (csa == 1: rows in groups of
// four from one base pointer, base + {0, 1, 2, 3} * rsa fitting x86 scaled
// addressing, so a 12-row tile needs three moving pointers rather than
// twelve, which would not fit in sixteen general registers), or any strides
// with one pointer per row (rows past m re-read row 0; slower, for edges).
enum AMode { kPanel, kRows, kAny };

// The k loop over an M-row tile (M <= MR). Accumulators are locals here, not
// a reference parameter, so the compiler keeps all of them in registers.
template <class R, int M, int NV, bool FULL_N, AMode MODE>
inline void ukernel_loop(i64 k, i64 m, const typename R::T* a, i64 rsa, i64 csa,
                         const typename R::T* b, i64 rsb, const typename R::mask* bm,
                         typename R::T* out) {
  using T = typename R::T;
  using reg = typename R::reg;
  constexpr int G = MODE == kAny ? M : (M + 3) / 4;
  reg acc[M][NV];
#pragma GCC unroll 16
  for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = R::zero();
  const T* g[G];
  for (int q = 0; q < G; ++q)
    g[q] = MODE == kAny ? a + (q < m ? q : 0) * rsa : MODE == kRows ? a + 4 * q * rsa : a + 4 * q;
  const i64 r3 = 3 * rsa;
  const i64 step = MODE == kRows ? 1 : csa;
  for (i64 p = 0; p < k; ++p, b += rsb) {
    reg bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = FULL_N ? R::load(b + v * R::W) : R::maskload(b + v * R::W, bm[v]);
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) {
      const int q = i / 4, r = i % 4;
      const T* ai_ptr =
          MODE == kAny    ? g[i]
          : MODE == kRows ? (r == 0 ? g[q] : r == 1 ? g[q] + rsa : r == 2 ? g[q] + 2 * rsa : g[q] + r3)
                          : g[q] + r;
      const reg ai = R::bcast(ai_ptr);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = R::fma(ai, bv[v], acc[i][v]);
    }
#pragma GCC unroll 16
    for (int q = 0; q < G; ++q) g[q] += step;
  }
#pragma GCC unroll 16
  for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) R::store(out + (i * NV + v) * R::W, acc[i][v]);
}

template <int M>
struct RowCount {
  static constexpr int value = M;
};

template <AMode MODE>
struct ModeTag {
  static constexpr AMode value = MODE;
};

// Row tiles of MR, 2MR/3 or MR/3 rows: an edge tile of m rows runs the
// smallest that covers it instead of a full MR (64 rows on a 12-row kernel:
// five 12-row tiles and one 4-row tile, no wasted rows).
template <class R, int MR, int NV>
inline void ukernel(i64 m, i64 n, i64 k, typename R::T alpha, const typename R::T* a, i64 rsa,
                    i64 csa, const typename R::T* b, i64 rsb, typename R::T beta, typename R::T* c,
                    i64 rsc, i64 csc) {
  using T = typename R::T;
  using reg = typename R::reg;
  constexpr int W = R::W, NR = NV * W;

  alignas(64) T tile[MR][NR];
  typename R::mask bm[NV];
  if (n < NR)
    for (int v = 0; v < NV; ++v) bm[v] = R::mask_first(n - v * W);
  // Fast layouts when the tile is exactly m rows; anything else (odd edge
  // tiles, general strides) takes the per-row-pointer loop.
  auto run = [&](auto rows) {
    constexpr int M = decltype(rows)::value;
    auto go = [&](auto mode) {
      constexpr AMode MODE = decltype(mode)::value;
      if (n == NR)
        ukernel_loop<R, M, NV, true, MODE>(k, m, a, rsa, csa, b, rsb, bm, &tile[0][0]);
      else
        ukernel_loop<R, M, NV, false, MODE>(k, m, a, rsa, csa, b, rsb, bm, &tile[0][0]);
    };
    if (m == M && rsa == 1)
      go(ModeTag<kPanel>{});
    else if (m == M && csa == 1)
      go(ModeTag<kRows>{});
    else
      go(ModeTag<kAny>{});
  };
  if constexpr (MR % 3 == 0) {
    if (m <= MR / 3)
      run(RowCount<MR / 3>{});
    else if (m <= 2 * MR / 3)
      run(RowCount<2 * MR / 3>{});
    else
      run(RowCount<MR>{});
  } else {
    run(RowCount<MR>{});
  }

  if (m == MR && n == NR && csc == 1) {
    const reg va = R::set1(alpha), vb = R::set1(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        T* ci = c + i * rsc + v * W;
        reg r = R::load(&tile[i][v * W]);
        if (alpha != T(1)) r = R::mul(va, r);
        if (beta != T(0)) r = R::fma(vb, R::load(ci), r);
        R::store(ci, r);
      }
    return;
  }
  // Edge tile with C rows of unit stride: the same arithmetic on m rows of
  // whole or masked vectors.
  if (csc == 1) {
    const reg va = R::set1(alpha), vb = R::set1(beta);
    for (i64 i = 0; i < m; ++i)
      for (int v = 0; v < NV && v * W < n; ++v) {
        T* ci = c + i * rsc + v * W;
        reg r = R::load(&tile[i][v * W]);
        if (alpha != T(1)) r = R::mul(va, r);
        if (n == NR) {
          if (beta != T(0)) r = R::fma(vb, R::load(ci), r);
          R::store(ci, r);
        } else {
          if (beta != T(0)) r = R::fma(vb, R::maskload(ci, bm[v]), r);
          R::maskstore(ci, bm[v], r);
        }
      }
    return;
  }
  // Strided C: element by element.
  for (i64 i = 0; i < m; ++i)
    for (i64 j = 0; j < n; ++j) {
      T* cij = c + i * rsc + j * csc;
      const T r = alpha * tile[i][j];
      *cij = beta == T(0) ? r : r + beta * *cij;
    }
}
