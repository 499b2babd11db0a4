// Elementwise transcendental functions on arrays: the one place fastdl
// computes exp, tanh and sigmoid in bulk (activations, softmax, losses,
// attention's online softmax, LSTM gates call these; none carries its own).
//
// y[i] = f(x[i]) for 0 <= i < n; y == x (in place) is allowed, other
// overlaps are not. Single-threaded: callers split rows across threads.
// NaN in gives NaN out; +-inf and overflow follow std:: semantics
// (exp(-inf) = 0, exp(large) = inf, tanh(+-inf) = +-1, sigmoid(-inf) = 0).
//
// Variants: portable (std:: functions) here; SIMD versions per ISA are
// selected by isa_active() inside these entry points and document their
// error bound in their own file.
#pragma once

#include "../core/common.h"

namespace fastdl::cpu {

template <typename T>
void vexp(T* y, const T* x, i64 n);

template <typename T>
void vtanh(T* y, const T* x, i64 n);

template <typename T>
void vsigmoid(T* y, const T* x, i64 n);  // 1 / (1 + exp(-x))

}  // namespace fastdl::cpu
