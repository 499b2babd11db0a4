// embed family: embedding (a gather of weight rows, and its scatter-add
// backward) and the sinusoidal positional encoding.
#pragma once

#include "../core/common.h"

namespace fastdl::cpu {

// out (n, d) = weight (v, d) rows indices (n,); every index in [0, v) (checked by the caller).
template <typename T>
void embedding_fwd(T* out, const T* weight, const i64* indices, i64 n, i64 d);

// dweight (v, d) = sum of dout (n, d) rows i over i with indices[i] == r, added in
// order of i: threads own ranges of weight rows (each scans all indices), so the
// sum order does not depend on the thread count and no atomics are needed.
template <typename T>
void embedding_bwd(T* dweight, const T* dout, const i64* indices, i64 n, i64 v, i64 d);

// pe (length, d_model): pe[pos, 2i] = sin(pos * w_i), pe[pos, 2i + 1] = cos(pos * w_i),
// w_i = 10000^(-2i / d_model) ("Attention is all you need"), computed in double.
template <typename T>
void positional_encoding(T* pe, i64 length, i64 d_model);

}  // namespace fastdl::cpu
