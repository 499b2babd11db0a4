// The optim kernel bodies (contract: optim.h), written once and compiled once
// per ISA: optim.cpp (generic) and optim_avx2.cpp include this
// file inside their own anonymous namespace (Note [ISA files] in core/isa.h).
// The files are compiled with -fno-math-errno so that std::sqrt needs no
// error branch and the loops vectorise; no intrinsics.
//
// The tensors of a list are laid end to end as one global element range;
// parallel_for splits that range and each thread walks the pieces of the
// tensors it covers. sum_squares cuts the same range into fixed blocks of
// kBlock elements whose partial sums are added in block order.

constexpr i64 kGrain = 1 << 15;  // elements per thread at least
constexpr i64 kBlock = 1 << 14;  // elements per partial sum of sum_squares
constexpr int kSumLanes = 32;    // interleaved double sums per block, folded pairwise (same on every ISA)

// off (count + 1,): prefix sums of the sizes, in scratch slot 1.
const i64* offsets(const TensorList& list) {
  i64* off = scratch<i64>(list.count + 1, 1);
  off[0] = 0;
  for (i64 t = 0; t < list.count; ++t) off[t + 1] = off[t] + list.sizes[t];
  return off;
}

// f(t, i0, i1) for each piece [i0, i1) of tensor t inside global elements [e0, e1).
template <typename F>
void for_pieces(const i64* off, i64 count, i64 e0, i64 e1, const F& f) {
  i64 t = std::upper_bound(off, off + count + 1, e0) - off - 1;
  while (e0 < e1 && t < count) {
    const i64 end = std::min(e1, off[t + 1]);
    if (end > e0) f(t, e0 - off[t], end - off[t]);
    e0 = std::max(e0, end);
    ++t;
  }
}

// Runs piece(t, i0, i1) over every element of the list, threads splitting the range.
template <typename F>
void for_all(const TensorList& list, const F& piece) {
  const i64* off = offsets(list);
  const i64 total = off[list.count];
  parallel_for(total, kGrain, [&](i64 e0, i64 e1) { for_pieces(off, list.count, e0, e1, piece); });
}

template <typename T>
void sgd_piece(T* __restrict p, T* __restrict buf, const T* __restrict g, i64 n, T lr, T mom,
               T damp1, T wd, bool nesterov, bool init) {
  if (mom == T(0)) {
    for (i64 i = 0; i < n; ++i) p[i] -= lr * (g[i] + wd * p[i]);
    return;
  }
  for (i64 i = 0; i < n; ++i) {
    const T d = g[i] + wd * p[i];
    const T b = init ? d : mom * buf[i] + damp1 * d;
    buf[i] = b;
    p[i] -= lr * (nesterov ? d + mom * b : b);
  }
}

template <typename T>
void rmsprop_piece(T* __restrict p, T* __restrict sq, const T* __restrict g, i64 n, T lr, T alpha,
                   T alpha1, T eps, T wd) {
  for (i64 i = 0; i < n; ++i) {
    const T d = g[i] + wd * p[i];
    const T s = alpha * sq[i] + alpha1 * d * d;
    sq[i] = s;
    p[i] -= lr * (d / (std::sqrt(s) + eps));
  }
}

template <typename T, bool DECOUPLED>
void adam_piece(T* __restrict p, T* __restrict m, T* __restrict v, const T* __restrict g, i64 n,
                T beta1c, T beta2, T beta2c, T eps, T wd, T decay, T step_size, T bc2_sqrt) {
  for (i64 i = 0; i < n; ++i) {
    T pi = p[i];
    const T gi = DECOUPLED ? g[i] : g[i] + wd * pi;
    if (DECOUPLED) pi *= decay;
    const T mi = m[i] + beta1c * (gi - m[i]);  // torch's lerp with weight 1 - beta1 < 0.5
    const T vi = beta2 * v[i] + beta2c * gi * gi;
    m[i] = mi, v[i] = vi;
    p[i] = pi - step_size * (mi / (std::sqrt(vi) / bc2_sqrt + eps));
  }
}

template <typename T>
void sgd_step_impl(T* const* params, T* const* momentum_buffer, const T* const* grads,
              const TensorList& list, const SgdParams& p) {
  const T lr = T(p.lr), mom = T(p.momentum), damp1 = T(1 - p.dampening), wd = T(p.weight_decay);
  for_all(list, [&](i64 t, i64 i0, i64 i1) {
    sgd_piece(params[t] + i0, mom != T(0) ? momentum_buffer[t] + i0 : nullptr, grads[t] + i0, i1 - i0,
              lr, mom, damp1, wd, p.nesterov, p.init_buffer);
  });
}

template <typename T>
void rmsprop_step_impl(T* const* params, T* const* square_avg, const T* const* grads,
                  const TensorList& list, const RmspropParams& p) {
  for_all(list, [&](i64 t, i64 i0, i64 i1) {
    rmsprop_piece(params[t] + i0, square_avg[t] + i0, grads[t] + i0, i1 - i0, T(p.lr), T(p.alpha),
                  T(1 - p.alpha), T(p.eps), T(p.weight_decay));
  });
}

template <typename T>
void adam_step_impl(T* const* params, T* const* exp_avg, T* const* exp_avg_sq, const T* const* grads,
               const TensorList& list, const AdamParams& p) {
  const T b1c = T(1 - p.beta1), b2 = T(p.beta2), b2c = T(1 - p.beta2), eps = T(p.eps);
  const T wd = T(p.weight_decay), decay = T(1 - p.lr * p.weight_decay);
  const T step_size = T(p.step_size), bc2_sqrt = T(p.bc2_sqrt);
  for_all(list, [&](i64 t, i64 i0, i64 i1) {
    if (p.decoupled)
      adam_piece<T, true>(params[t] + i0, exp_avg[t] + i0, exp_avg_sq[t] + i0, grads[t] + i0, i1 - i0,
                          b1c, b2, b2c, eps, wd, decay, step_size, bc2_sqrt);
    else
      adam_piece<T, false>(params[t] + i0, exp_avg[t] + i0, exp_avg_sq[t] + i0, grads[t] + i0,
                           i1 - i0, b1c, b2, b2c, eps, wd, decay, step_size, bc2_sqrt);
  });
}

template <typename T>
double sum_squares_impl(const T* const* x, const TensorList& list) {
  const i64* off = offsets(list);
  const i64 total = off[list.count], blocks = ceil_div(total, kBlock);
  double* part = scratch<double>(std::max<i64>(blocks, 1), 0);
  parallel_for(blocks, ceil_div(kGrain, kBlock), [&](i64 b0, i64 b1) {
    for (i64 b = b0; b < b1; ++b) {
      double lane[kSumLanes] = {};
      for_pieces(off, list.count, b * kBlock, std::min(total, (b + 1) * kBlock),
                 [&](i64 t, i64 i0, i64 i1) {
                   const T* xt = x[t];
                   i64 i = i0;
                   for (; i + kSumLanes <= i1; i += kSumLanes)
                     for (int l = 0; l < kSumLanes; ++l) lane[l] += double(xt[i + l]) * double(xt[i + l]);
                   for (int l = 0; i < i1; ++i, ++l) lane[l] += double(xt[i]) * double(xt[i]);
                 });
      for (int w = kSumLanes / 2; w > 0; w /= 2)
        for (int l = 0; l < w; ++l) lane[l] += lane[l + w];
      part[b] = lane[0];
    }
  });
  double s = 0;
  for (i64 b = 0; b < blocks; ++b) s += part[b];
  return s;
}

template <typename T>
void scale_inplace_impl(T* const* x, const TensorList& list, T scale) {
  for_all(list, [&](i64 t, i64 i0, i64 i1) {
    T* __restrict xt = x[t];
    for (i64 i = i0; i < i1; ++i) xt[i] *= scale;
  });
}
