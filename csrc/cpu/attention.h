// attention family: scaled dot-product attention, flash-style.
//
//   out = softmax(scale * q @ k^T + mask) @ v      per head, softmax over keys
//
// Neither pass materialises the Lq x Lk scores of a head: queries are cut in
// tiles of br rows and keys in tiles of bc, the scores of one tile pair live
// in a bc x br buffer, and the forward pass keeps a running (online) softmax.
// The forward pass saves only out and the per-row log-sum-exp; the backward
// pass recomputes the probabilities tile by tile. Causal attention skips the
// tile pairs that are masked entirely. Details and thread split: attention.cpp.
#pragma once

#include "../core/common.h"

namespace fastdl::cpu {

// One call: `batch` independent heads. q, k, v, out (and their gradients) are
// C-contiguous (batch, L, dim) arrays.
struct SdpaParams {
  i64 batch;          // heads (all leading dims of q, k, v flattened)
  i64 lq, lk;         // query and key lengths
  i64 d, dv;          // head dim of q and k; of v and out
  double scale;       // scores = scale * q @ k^T (+ mask)
  bool causal;        // key j is seen by query i only when j <= i (top-left aligned, as torch is_causal)
  // Additive mask, added to the scaled scores (null: none; -inf masks a key).
  // Head b reads mask[mask_index[b] * msb + i * msr + j * msc] for query i, key j.
  const i64* mask_index;  // (batch,) mask matrix of each head
  i64 msb, msr, msc;      // element strides: mask matrix, query row, key column (0 = broadcast)
};

// out (batch, lq, dv), lse (batch, lq) = log-sum-exp of each query's scores
// (-inf for a query with every key masked: its out row is zeros).
// q (batch, lq, d), k (batch, lk, d), v (batch, lk, dv), mask: see SdpaParams.
template <typename T>
void sdpa_fwd(T* out, T* lse, const T* q, const T* k, const T* v, const T* mask,
              const SdpaParams& p);

// dq (batch, lq, d), dk (batch, lk, d), dv (batch, lk, dv) from
// dout (batch, lq, dv) and the forward's q, k, v, mask, out and lse.
template <typename T>
void sdpa_bwd(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
              const T* mask, const T* out, const T* lse, const SdpaParams& p);

}  // namespace fastdl::cpu
