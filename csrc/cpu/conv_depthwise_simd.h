// The depthwise plane kernels' body (contract: conv_depthwise.h), written
// once in plain C++ for every ISA. Included inside an ISA's namespace after
// it defines kVecBytes (its vector width); see Note [ISA files] in core/isa.h.
//
// Stride-1 kernels with compile-time taps (3x3, 5x5) use GCC/Clang vector
// extensions (kVecBytes wide, so each ISA file gets its own width) with
// unaligned loads through memcpy; other shapes run plain loops the compiler
// may vectorise.

// Rows are short (32 values is typical): GCC would turn these loops into a
// memcpy/memset call per row, which costs more than the copy itself.
#if defined(__GNUC__) && !defined(__clang__)
#define FASTDL_NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define FASTDL_NO_LIBCALLS
#endif

template <typename T>
struct DwVecOf;
template <>
struct DwVecOf<float> {
  typedef float type __attribute__((vector_size(kVecBytes)));
};
template <>
struct DwVecOf<double> {
  typedef double type __attribute__((vector_size(kVecBytes)));
};
template <typename T>
using DwVec = typename DwVecOf<T>::type;  // kVecBytes / sizeof(T) lanes

template <typename T>
inline DwVec<T> dw_load(const T* p) {
  DwVec<T> v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
inline void dw_store(T* p, DwVec<T> v) {
  __builtin_memcpy(p, &v, sizeof v);
}

template <typename T>
FASTDL_NO_LIBCALLS void dw_pad(T* __restrict xp, const T* __restrict x, i64 h, i64 w, i64 ph, i64 pw) {
  const i64 wp = w + 2 * pw;
  for (i64 j = 0; j < ph * wp; ++j) xp[j] = T(0);
  for (i64 i = 0; i < h; ++i) {
    T* row = xp + (ph + i) * wp;
    const T* src = x + i * w;
    for (i64 j = 0; j < pw; ++j) row[j] = T(0);
    for (i64 j = 0; j < w; ++j) row[pw + j] = src[j];
    for (i64 j = pw + w; j < wp; ++j) row[j] = T(0);
  }
  for (i64 j = (ph + h) * wp; j < (h + 2 * ph) * wp; ++j) xp[j] = T(0);
}

template <typename T, int KH, int KW, bool S1, bool ADD>
FASTDL_NO_LIBCALLS void dw_fwd(T* __restrict o, const T* __restrict xp, const T* __restrict wk, T bias,
                               const DwPlane& g) {
  const i64 kh = KH ? KH : g.kh, kw = KW ? KW : g.kw, sh = S1 ? 1 : g.sh, sw = S1 ? 1 : g.sw;
  T w[KH * KW > 0 ? KH * KW : 1];
  if (KH * KW > 0)
    for (int t = 0; t < KH * KW; ++t) w[t] = wk[t];
  for (i64 i = 0; i < g.oh; ++i) {
    T* orow = o + i * g.ow;
    const T* x0 = xp + i * sh * g.wp;
    // Each kernel row is its own short sum and the rows are added at the end:
    // one chain of kh*kw dependent FMAs per vector would be latency-bound.
    for (i64 j = 0; j < g.ow; ++j) {
      T total = 0;
      for (i64 ki = 0; ki < kh; ++ki) {
        const T* xr = x0 + ki * g.dh * g.wp + j * sw;
        T s = 0;
        for (i64 kj = 0; kj < kw; ++kj) s += (KH * KW > 0 ? w[ki * kw + kj] : wk[ki * kw + kj]) * xr[kj * g.dw];
        total += s;
      }
      orow[j] = (ADD ? orow[j] : bias) + total;
    }
  }
}

// Sum of d[0..n): one vector of partial sums, its lanes added in order.
template <typename T>
T dw_sum(const T* __restrict d, i64 n) {
  constexpr int L = kVecBytes / sizeof(T);
  DwVec<T> acc = DwVec<T>{};
  T tail = 0;
  i64 j = 0;
  for (; j + L <= n; j += L) acc += dw_load(d + j);
  for (; j < n; ++j) tail += d[j];
  T s = acc[0];
  for (int l = 1; l < L; ++l) s += acc[l];
  return s + tail;
}

// Stride 1, KH x KW taps known: one vector of partial sums per tap.
template <typename T, int KH, int KW>
void dw_wgrad_vec(T* gw, T* gb, const T* __restrict d, const T* __restrict xp, const DwPlane& g) {
  constexpr int L = kVecBytes / sizeof(T);
  constexpr int NT = KH * KW;
  using V = DwVec<T>;
  V acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = V{};
  T tail[NT] = {};
  for (i64 i = 0; i < g.oh; ++i) {
    const T* drow = d + i * g.ow;
    const T* x0 = xp + i * g.wp;
    i64 j = 0;
    for (; j + L <= g.ow; j += L) {
      const V dv = dw_load(drow + j);
      for (int ki = 0; ki < KH; ++ki)
        for (int kj = 0; kj < KW; ++kj) acc[ki * KW + kj] += dv * dw_load(x0 + ki * g.dh * g.wp + j + kj * g.dw);
    }
    for (; j < g.ow; ++j)
      for (int ki = 0; ki < KH; ++ki)
        for (int kj = 0; kj < KW; ++kj) tail[ki * KW + kj] += drow[j] * x0[ki * g.dh * g.wp + j + kj * g.dw];
  }
  for (int t = 0; t < NT; ++t) {
    T s = acc[t][0];
    for (int l = 1; l < L; ++l) s += acc[t][l];
    gw[t] = s + tail[t];
  }
  if (gb) *gb = dw_sum(d, g.oh * g.ow);
}

// Any kernel size: one tap at a time over the plane (run-time bounds).
template <typename T>
void dw_wgrad_any(T* gw, T* gb, const T* __restrict d, const T* __restrict xp, const DwPlane& g) {
  constexpr int L = kVecBytes / sizeof(T);
  for (i64 ki = 0; ki < g.kh; ++ki)
    for (i64 kj = 0; kj < g.kw; ++kj) {
      T acc[L] = {}, tail = 0;
      for (i64 i = 0; i < g.oh; ++i) {
        const T* drow = d + i * g.ow;
        const T* x0 = xp + (i * g.sh + ki * g.dh) * g.wp + kj * g.dw;
        i64 j = 0;
        for (; j + L <= g.ow; j += L)
          for (int l = 0; l < L; ++l) acc[l] += drow[j + l] * x0[(j + l) * g.sw];
        for (; j < g.ow; ++j) tail += drow[j] * x0[j * g.sw];
      }
      T s = acc[0];
      for (int l = 1; l < L; ++l) s += acc[l];
      gw[ki * g.kw + kj] = s + tail;
    }
  if (gb) *gb = dw_sum(d, g.oh * g.ow);
}

// Stride 1, KH x KW taps known: L columns at a time in vectors; per kernel
// row a short FMA chain, the rows added at the end (as dw_fwd).
template <typename T, int KH, int KW, bool ADD>
void dw_fwd_vec(T* __restrict o, const T* __restrict xp, const T* __restrict wk, T bias, const DwPlane& g) {
  constexpr int L = kVecBytes / sizeof(T);
  using V = DwVec<T>;
  V w[KH * KW];
  for (int t = 0; t < KH * KW; ++t) w[t] = V{} + wk[t];
  const V vb = V{} + bias;
  for (i64 i = 0; i < g.oh; ++i) {
    T* orow = o + i * g.ow;
    const T* x0 = xp + i * g.wp;
    i64 j = 0;
    for (; j + L <= g.ow; j += L) {
      V total = V{};
      for (int ki = 0; ki < KH; ++ki) {
        const T* xr = x0 + ki * g.dh * g.wp + j;
        V s = w[ki * KW] * dw_load(xr);
        for (int kj = 1; kj < KW; ++kj) s += w[ki * KW + kj] * dw_load(xr + kj * g.dw);
        total += s;
      }
      dw_store(orow + j, (ADD ? dw_load(orow + j) : vb) + total);
    }
    for (; j < g.ow; ++j) {
      T total = 0;
      for (int ki = 0; ki < KH; ++ki) {
        const T* xr = x0 + ki * g.dh * g.wp + j;
        T s = wk[ki * KW] * xr[0];
        for (int kj = 1; kj < KW; ++kj) s += wk[ki * KW + kj] * xr[kj * g.dw];
        total += s;
      }
      orow[j] = (ADD ? orow[j] : bias) + total;
    }
  }
}

template <typename T, bool ADD>
void dw_fwd_sized(T* o, const T* xp, const T* wk, T bias, const DwPlane& g) {
  const bool s1 = g.sh == 1 && g.sw == 1;
  if (g.kh == 3 && g.kw == 3) return s1 ? dw_fwd_vec<T, 3, 3, ADD>(o, xp, wk, bias, g)
                                        : dw_fwd<T, 3, 3, false, ADD>(o, xp, wk, bias, g);
  if (g.kh == 5 && g.kw == 5) return s1 ? dw_fwd_vec<T, 5, 5, ADD>(o, xp, wk, bias, g)
                                        : dw_fwd<T, 5, 5, false, ADD>(o, xp, wk, bias, g);
  return s1 ? dw_fwd<T, 0, 0, true, ADD>(o, xp, wk, bias, g) : dw_fwd<T, 0, 0, false, ADD>(o, xp, wk, bias, g);
}

template <typename T>
void dw_fwd_dispatch(T* o, const T* xp, const T* wk, T bias, bool add, const DwPlane& g) {
  return add ? dw_fwd_sized<T, true>(o, xp, wk, bias, g) : dw_fwd_sized<T, false>(o, xp, wk, bias, g);
}

template <typename T>
void dw_wgrad_dispatch(T* gw, T* gb, const T* d, const T* xp, const DwPlane& g) {
  const bool s1 = g.sh == 1 && g.sw == 1;
  if (g.kh == 3 && g.kw == 3 && s1) return dw_wgrad_vec<T, 3, 3>(gw, gb, d, xp, g);
  if (g.kh == 5 && g.kw == 5 && s1) return dw_wgrad_vec<T, 5, 5>(gw, gb, d, xp, g);
  return dw_wgrad_any<T>(gw, gb, d, xp, g);
}

#undef FASTDL_NO_LIBCALLS
