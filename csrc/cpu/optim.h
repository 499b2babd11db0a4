// optim family: fused multi-tensor optimiser steps (torch.optim formulas) and
// gradient-norm clipping.
//
// Every step updates a list of tensors in place in one call: the tensors are
// cut into chunks of kOptimChunk elements and threads split the chunk list.
// Each element's update is independent, so the result does not depend on the
// thread count. Hyperparameters arrive as double and are applied in T, as
// torch does for float tensors.
#pragma once

#include "../core/common.h"

namespace fastdl::cpu {

// `count` tensors: tensor t has sizes[t] contiguous elements at params[t],
// grads[t] and each state buffer [t].
struct TensorList {
  i64 count;
  const i64* sizes;
};

struct SgdParams {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool init_buffer;  // first step: momentum_buffer = d_p (torch's clone) instead of the update
};

// d_p = g + wd * p; buf = momentum * buf + (1 - dampening) * d_p (or d_p on the first step);
// d_p = nesterov ? d_p + momentum * buf : buf  (when momentum != 0); p -= lr * d_p.
// params, momentum_buffer (tensor t: sizes[t]) updated in place; momentum_buffer unused
// (may be null) when momentum == 0.
template <typename T>
void sgd_step(T* const* params, T* const* momentum_buffer, const T* const* grads,
              const TensorList& list, const SgdParams& p);

struct RmspropParams {
  double lr, alpha, eps, weight_decay;
};

// g += wd * p; sq = alpha * sq + (1 - alpha) * g^2; p -= lr * g / (sqrt(sq) + eps).
template <typename T>
void rmsprop_step(T* const* params, T* const* square_avg, const T* const* grads,
                  const TensorList& list, const RmspropParams& p);

struct AdamParams {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled;    // AdamW: p *= 1 - lr * wd, instead of g += wd * p
  double step_size;  // lr / (1 - beta1^step)
  double bc2_sqrt;   // sqrt(1 - beta2^step)
};

// m = lerp(m, g, 1 - beta1); v = beta2 * v + (1 - beta2) * g^2;
// p -= step_size * m / (sqrt(v) / bc2_sqrt + eps).
template <typename T>
void adam_step(T* const* params, T* const* exp_avg, T* const* exp_avg_sq, const T* const* grads,
               const TensorList& list, const AdamParams& p);

// Sum of squares of every element, in double, in an order fixed by the sizes.
template <typename T>
double sum_squares(const T* const* x, const TensorList& list);

// x *= scale, in place.
template <typename T>
void scale_inplace(T* const* x, const TensorList& list, T scale);

// Kernel variants: the same bodies (optim_kernels.h) compiled per ISA in
// optim.cpp (generic) and optim_avx2.cpp; the functions above pick one per call
// with isa_active(). AVX-512 machines run the AVX2 variant: an AVX-512 build of
// these streaming loops measured slower (Zen 5, 10M float32 params, 1 thread:
// Adam 4.9-5.2 vs 4.3-4.7 ms, SGD 3.3 vs 2.8 ms), so it was not kept.
template <typename T>
struct OptimKernels {
  decltype(&sgd_step<T>) sgd;
  decltype(&rmsprop_step<T>) rmsprop;
  decltype(&adam_step<T>) adam;
  decltype(&sum_squares<T>) sum_squares;
  decltype(&scale_inplace<T>) scale;
};
namespace generic {
template <typename T>
OptimKernels<T> optim_kernels();
}
namespace avx2 {
template <typename T>
OptimKernels<T> optim_kernels();
}

}  // namespace fastdl::cpu
