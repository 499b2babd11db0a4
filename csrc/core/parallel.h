// Threads: one process-wide thread count, OpenMP underneath.
//
// fastdl::num_threads() is what every parallel region asks for. It starts at
// omp_get_max_threads() (so OMP_NUM_THREADS is honoured) and changes only via
// set_num_threads(); unlike omp_set_num_threads() it applies to calls made
// from any Python thread.
//
// Determinism: parallel_for hands out fixed, contiguous chunks; kernels only
// split work whose result does not depend on the split (independent outputs),
// never a floating-point reduction.
#pragma once

#include "common.h"

namespace fastdl {

int num_threads();
void set_num_threads(int n);

// Runs f(begin, end) over [0, n) split into at most `threads` contiguous
// chunks of at least `grain` items. Runs inline when one chunk suffices.
// f must not throw.
template <typename F>
void parallel_for(i64 n, i64 grain, int threads, const F& f) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  i64 chunks = ceil_div(n, grain);
  if (chunks > threads) chunks = threads;
  if (chunks <= 1) {
    f(i64{0}, n);
    return;
  }
#pragma omp parallel for schedule(static, 1) num_threads(static_cast<int>(chunks))
  for (i64 t = 0; t < chunks; ++t) {
    const i64 begin = n * t / chunks, end = n * (t + 1) / chunks;
    f(begin, end);
  }
}

template <typename F>
void parallel_for(i64 n, i64 grain, const F& f) {
  parallel_for(n, grain, num_threads(), f);
}

}  // namespace fastdl
