// The SIMD GEMM micro-kernel body, written once for every vector ISA.
//
// Included only by ukernel_avx2.cpp and ukernel_avx512.cpp, *inside* their
// anonymous namespace (see Note [ISA files] in core/isa.h): each ISA file gets
// its own internal-linkage copy compiled with its own flags. R is a vector
// traits type (reg, mask, W lanes; zero/load/maskload/bcast/fma/mul/set1/
// store/mask) defined by the including file. Contract: gemm.h.
//
// Register budget: MR*NV accumulators + NV B vectors + 1 broadcast.
//   avx2   sgemm 6x16 (NV 2): 12 + 2 + 1 = 15 of 16 ymm
//   avx512 sgemm 12x32 (NV 2): 24 + 2 + 1 = 27 of 32 zmm

// The k loop. Accumulators are locals of this function (not a reference
// parameter) so the compiler keeps all of them in registers. UNIT_RSA: A is a
// packed panel (row stride 1), so every broadcast address is one pointer plus
// a constant; otherwise each row has its own pointer.
template <class R, int MR, int NV, bool FULL_N, bool UNIT_RSA>
inline void ukernel_loop(i64 k, const typename R::T* a, i64 rsa, i64 csa, i64 m,
                         const typename R::T* b, i64 rsb, const typename R::mask* bm,
                         typename R::T* out) {
  using T = typename R::T;
  using reg = typename R::reg;
  reg acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = R::zero();

  // Rows beyond m re-read row 0: always valid memory, results dropped.
  const T* ar[MR];
  for (int i = 0; i < MR; ++i) ar[i] = a + (i < m ? i : 0) * rsa;

  for (i64 p = 0; p < k; ++p) {
    reg bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = FULL_N ? R::load(b + v * R::W) : R::maskload(b + v * R::W, bm[v]);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const reg ai = R::bcast(UNIT_RSA ? a + i : ar[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = R::fma(ai, bv[v], acc[i][v]);
    }
    b += rsb;
    if (UNIT_RSA) {
      a += csa;
    } else {
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) ar[i] += csa;
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) R::store(out + (i * NV + v) * R::W, acc[i][v]);
}

template <class R, int MR, int NV>
inline void ukernel(i64 m, i64 n, i64 k, typename R::T alpha, const typename R::T* a, i64 rsa,
                    i64 csa, const typename R::T* b, i64 rsb, typename R::T beta,
                    typename R::T* c, i64 rsc, i64 csc) {
  using T = typename R::T;
  using reg = typename R::reg;
  constexpr int W = R::W, NR = NV * W;

  // The m x NR tile lands here first; the packed row-stride-1 case of a full m
  // is the hot one (the packed GEMM path), so it gets its own instantiation.
  // Edge tiles of at most MR/3 or 2MR/3 rows run a loop of that many rows
  // (a batch of 32 rows is 12 + 12 + 8: the last tile costs 8 rows, not 12);
  // each element's sum is the same sequence of FMAs whichever loop runs.
  constexpr int M1 = MR / 3, M2 = 2 * MR / 3;
  alignas(64) T tile[MR][NR];
  if (n == NR) {
    if (rsa == 1 && m == MR)
      ukernel_loop<R, MR, NV, true, true>(k, a, rsa, csa, m, b, rsb, nullptr, &tile[0][0]);
    else if (m <= M1)
      ukernel_loop<R, M1, NV, true, false>(k, a, rsa, csa, m, b, rsb, nullptr, &tile[0][0]);
    else if (m <= M2)
      ukernel_loop<R, M2, NV, true, false>(k, a, rsa, csa, m, b, rsb, nullptr, &tile[0][0]);
    else
      ukernel_loop<R, MR, NV, true, false>(k, a, rsa, csa, m, b, rsb, nullptr, &tile[0][0]);
  } else {
    typename R::mask bm[NV];
    for (int v = 0; v < NV; ++v) bm[v] = R::mask_first(n - v * W);
    if (m <= M1)
      ukernel_loop<R, M1, NV, false, false>(k, a, rsa, csa, m, b, rsb, bm, &tile[0][0]);
    else if (m <= M2)
      ukernel_loop<R, M2, NV, false, false>(k, a, rsa, csa, m, b, rsb, bm, &tile[0][0]);
    else
      ukernel_loop<R, MR, NV, false, false>(k, a, rsa, csa, m, b, rsb, bm, &tile[0][0]);
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
  // Edge tile or strided C: write m x n elements.
  for (i64 i = 0; i < m; ++i)
    for (i64 j = 0; j < n; ++j) {
      T* cij = c + i * rsc + j * csc;
      const T r = alpha * tile[i][j];
      *cij = beta == T(0) ? r : r + beta * *cij;
    }
}
