#include "reduce.h"

#include "../core/parallel.h"

namespace fastdl::cpu {

template <typename T>
void sum_rows(T* out, const T* x, i64 rows, i64 cols, i64 rs) {
  // Column chunks of 256: independent outputs per thread; within a chunk the
  // j loop vectorises and each column still sums rows in order.
  const i64 chunk = 256;
  const bool big = rows * cols > (i64{1} << 16);
  parallel_for(ceil_div(cols, chunk), 1, big ? num_threads() : 1, [&](i64 c0, i64 c1) {
    const i64 j0 = c0 * chunk, j1 = c1 * chunk < cols ? c1 * chunk : cols;
    for (i64 j = j0; j < j1; ++j) out[j] = T(0);
    for (i64 i = 0; i < rows; ++i) {
      const T* xi = x + i * rs;
      for (i64 j = j0; j < j1; ++j) out[j] += xi[j];
    }
  });
}

template void sum_rows<float>(float*, const float*, i64, i64, i64);
template void sum_rows<double>(double*, const double*, i64, i64, i64);

}  // namespace fastdl::cpu
