// dropout family: the portable kernel variant and the per-call ISA choice.
// Kernel body: dropout_kernels.h; contract: dropout.h.
#include "dropout.h"

#include <algorithm>

#include "../core/isa.h"
#include "../core/parallel.h"
#include "../core/philox.h"

namespace fastdl::cpu {

namespace generic {
namespace {
#include "dropout_kernels.h"
}  // namespace

template <typename T>
void dropout_apply(T* out, const T* in, i64 n, std::uint64_t seed, std::uint32_t threshold, T scale) {
  dropout_apply_impl(out, in, n, seed, threshold, scale);
}
template void dropout_apply<float>(float*, const float*, i64, std::uint64_t, std::uint32_t, float);
template void dropout_apply<double>(double*, const double*, i64, std::uint64_t, std::uint32_t, double);
}  // namespace generic

template <typename T>
void dropout_apply(T* out, const T* in, i64 n, std::uint64_t seed, std::uint32_t threshold, T scale) {
  switch (isa_active()) {
    case Isa::avx512: return avx512::dropout_apply(out, in, n, seed, threshold, scale);
    case Isa::avx2: return avx2::dropout_apply(out, in, n, seed, threshold, scale);
    default: return generic::dropout_apply(out, in, n, seed, threshold, scale);
  }
}

template void dropout_apply<float>(float*, const float*, i64, std::uint64_t, std::uint32_t, float);
template void dropout_apply<double>(double*, const double*, i64, std::uint64_t, std::uint32_t, double);

}  // namespace fastdl::cpu
