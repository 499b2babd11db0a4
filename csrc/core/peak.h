// Measured peak: FMA throughput of one thread with the ISA in use.
//
// Benchmarks report "% of peak" against this number rather than a datasheet
// value, so the ratio stays honest on whatever machine runs them (clock
// boost, AVX-512 width, a shared VM). The loop keeps 12 (AVX2) or 24
// (AVX-512) independent FMA chains in registers: no memory traffic.
#pragma once

#include "common.h"

namespace fastdl {

double peak_gflops_per_thread(bool f64, double seconds);

namespace generic { double fma_flops(bool f64, i64 iters); }
namespace avx2 { double fma_flops(bool f64, i64 iters); }
namespace avx512 { double fma_flops(bool f64, i64 iters); }

}  // namespace fastdl
