// Basic types and error checks shared by every fastdl C++ file.
//
// Errors: entry functions (never kernels) validate their contract with
// FASTDL_CHECK, which throws std::invalid_argument; pybind11 turns it into a
// Python ValueError. Kernels never throw and never allocate.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace fastdl {

using i64 = std::int64_t;  // every size, index and stride is 64-bit

#define FASTDL_CHECK(cond, msg)                                   \
  do {                                                            \
    if (!(cond)) throw std::invalid_argument(std::string(msg));   \
  } while (0)

inline i64 ceil_div(i64 a, i64 b) { return (a + b - 1) / b; }
inline i64 round_up(i64 a, i64 b) { return ceil_div(a, b) * b; }

// m * n * k <= limit, without overflowing.
inline bool mnk_at_most(i64 m, i64 n, i64 k, i64 limit) {
  if (m > limit || n > limit || k > limit) return false;
  const i64 mn = m * n;  // < 2^62 for limit < 2^31
  return mn <= limit && mn * k <= limit;
}

// a * b, or throws std::overflow_error (-> OverflowError) when it does not fit in i64.
inline i64 checked_mul(i64 a, i64 b) {
  i64 r;
  if (__builtin_mul_overflow(a, b, &r)) throw std::overflow_error("fastdl: size overflows 64 bits");
  return r;
}

}  // namespace fastdl
