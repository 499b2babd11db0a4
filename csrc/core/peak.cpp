#include "peak.h"

#include <chrono>

#include "isa.h"

namespace fastdl {

namespace generic {
// Portable: 8 independent multiply-add chains the compiler may vectorise with SSE2.
double fma_flops(bool f64, i64 iters) {
  auto run = [&](auto zero) {
    using T = decltype(zero);
    T acc[8], x = T(1.0000001), y = T(0.9999999);
    for (int i = 0; i < 8; ++i) acc[i] = T(i);
    for (i64 it = 0; it < iters; ++it)
      for (int i = 0; i < 8; ++i) acc[i] = acc[i] * x + y;
    T s = 0;
    for (int i = 0; i < 8; ++i) s += acc[i];
    return static_cast<double>(s) * 0 + 2.0 * 8 * iters;
  };
  return f64 ? run(0.0) : run(0.0f);
}
}  // namespace generic

double peak_gflops_per_thread(bool f64, double seconds) {
  auto probe = [&](i64 iters) {
    switch (isa_active()) {
      case Isa::avx512: return avx512::fma_flops(f64, iters);
      case Isa::avx2: return avx2::fma_flops(f64, iters);
      default: return generic::fma_flops(f64, iters);
    }
  };
  using clock = std::chrono::steady_clock;
  probe(1 << 16);  // warm up: clocks ramp, frequency licences settle
  double best = 0;
  i64 iters = 1 << 18;
  const auto end = clock::now() + std::chrono::duration<double>(seconds);
  do {
    const auto t0 = clock::now();
    const double flops = probe(iters);
    const double dt = std::chrono::duration<double>(clock::now() - t0).count();
    if (dt > 0 && flops / dt > best) best = flops / dt;
  } while (clock::now() < end);
  return best * 1e-9;
}

}  // namespace fastdl
