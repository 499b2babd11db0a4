// dropout family: inverted dropout with a Philox4x32-10 mask (core/philox.h).
//
// Element i (C order) is kept when word i of the Philox stream keyed by `seed`
// is >= threshold, where threshold = floor(p * 2^32); kept elements are scaled
// by 1 / (1 - p). The mask is a pure function of (seed, i), so the backward pass
// regenerates it, every thread count and every backend give the same mask, and
// nothing is stored.
#pragma once

#include <cstdint>

#include "../core/common.h"

namespace fastdl::cpu {

// out (n,) = in (n,) * (keep(i) ? scale : 0): the forward pass (in = x, out = y)
// and the backward pass (in = dy, out = dx) alike. A dropped NaN stays NaN
// (NaN * 0), as in torch.
template <typename T>
void dropout_apply(T* out, const T* in, i64 n, std::uint64_t seed, std::uint32_t threshold, T scale);

// Kernel variants: the same body (dropout_kernels.h) compiled per ISA in
// dropout.cpp (generic), dropout_avx2.cpp and dropout_avx512.cpp; dropout_apply
// picks one per call with isa_active().
namespace generic {
template <typename T>
void dropout_apply(T* out, const T* in, i64 n, std::uint64_t seed, std::uint32_t threshold, T scale);
}
namespace avx2 {
template <typename T>
void dropout_apply(T* out, const T* in, i64 n, std::uint64_t seed, std::uint32_t threshold, T scale);
}
namespace avx512 {
template <typename T>
void dropout_apply(T* out, const T* in, i64 n, std::uint64_t seed, std::uint32_t threshold, T scale);
}

}  // namespace fastdl::cpu
