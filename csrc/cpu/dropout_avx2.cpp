// dropout family, avx2 variant: the body of dropout_kernels.h compiled with
// avx2 flags (see Note [ISA files] in core/isa.h); chosen by dropout.cpp.
#include <algorithm>

#include "../core/parallel.h"
#include "../core/philox.h"
#include "dropout.h"

namespace fastdl::cpu::avx2 {
namespace {
#include "dropout_kernels.h"
}  // namespace

template <typename T>
void dropout_apply(T* out, const T* in, i64 n, std::uint64_t seed, std::uint32_t threshold, T scale) {
  dropout_apply_impl(out, in, n, seed, threshold, scale);
}
template void dropout_apply<float>(float*, const float*, i64, std::uint64_t, std::uint32_t, float);
template void dropout_apply<double>(double*, const double*, i64, std::uint64_t, std::uint32_t, double);

}  // namespace fastdl::cpu::avx2
