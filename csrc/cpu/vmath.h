// Elementwise transcendental functions on arrays: the one place fastdl
// computes exp, tanh, sigmoid, erf, log and log1p in bulk (activations,
// softmax, losses, attention's online softmax, LSTM gates call these; none
// carries its own).
//
// y[i] = f(x[i]) for 0 <= i < n; y == x (in place) is allowed, other
// overlaps are not. Single-threaded: callers split rows across threads.
// NaN in gives NaN out; +-inf and overflow follow std:: semantics
// (exp(-inf) = 0, exp(large) = inf, tanh(+-inf) = +-1, sigmoid(-inf) = 0,
// erf(+-inf) = +-1, log(0) = -inf, log(x < 0) = NaN, log1p(-1) = -inf).
//
// Variants, chosen by isa_active() inside each entry point:
//   avx512, avx2   polynomial approximations (vmath_simd.h, which states the
//                  error bound of each function; tests/test_vmath.py checks it)
//   generic        std:: functions, one element at a time (the last entry)
// Kernels that need these functions inside their own SIMD loops (act,
// softmax, loss) use VMath<V> from vmath_simd.h directly: same code, same
// results as these bulk entry points.
#pragma once

#include "../core/common.h"
#include "../core/isa.h"

namespace fastdl::cpu {

template <typename T>
void vexp(T* y, const T* x, i64 n);

template <typename T>
void vtanh(T* y, const T* x, i64 n);

template <typename T>
void vsigmoid(T* y, const T* x, i64 n);  // 1 / (1 + exp(-x))

template <typename T>
void verf(T* y, const T* x, i64 n);

template <typename T>
void vlog(T* y, const T* x, i64 n);

template <typename T>
void vlog1p(T* y, const T* x, i64 n);  // log(1 + x), accurate for small x

// The functions by name, and one ISA's implementation of them (tests and
// the entry points above; isa must be <= isa_supported()).
enum class Vfn { exp, tanh, sigmoid, erf, log, log1p };

template <typename T>
void vmath(Isa isa, Vfn f, T* y, const T* x, i64 n);

namespace generic {
template <typename T>
void vmath(Vfn f, T* y, const T* x, i64 n);
}
namespace avx2 {
template <typename T>
void vmath(Vfn f, T* y, const T* x, i64 n);
}
namespace avx512 {
template <typename T>
void vmath(Vfn f, T* y, const T* x, i64 n);
}

}  // namespace fastdl::cpu
