// The rnn family's pointwise cells (rnn_simd.h) on AVX2 + FMA registers, with
// vmath_simd.h's sigmoid and tanh inline.
#include "vec_avx2.h"
#include "rnn_simd.h"

namespace fastdl::cpu::avx2 {

template <typename T>
RnnCells<T> rnn_cells() {
  if constexpr (sizeof(T) == 4)
    return rnn_cells_of<VMath<F32>>();
  else
    return rnn_cells_of<VMath<F64>>();
}

template RnnCells<float> rnn_cells<float>();
template RnnCells<double> rnn_cells<double>();

}  // namespace fastdl::cpu::avx2
