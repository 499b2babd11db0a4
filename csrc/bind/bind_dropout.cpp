// Bindings of the dropout family (csrc/cpu/dropout.h) and of the Philox
// generator itself (core/philox.h), for known-answer tests.
#include "../core/philox.h"
#include "../cpu/dropout.h"

#include "arrays.h"

namespace fastdl::bind {

namespace {

// dropout_apply(dst, src, seed, threshold, scale): dst, src C-contiguous, same size.
void dropout_apply(py::array dst, py::array src, std::uint64_t seed, std::uint32_t threshold,
                   double scale) {
  const Dtype d = same_float_dtype({{&dst, "dst"}, {&src, "src"}});
  if (dst.size() != src.size()) throw py::value_error("dropout_apply: dst and src sizes differ");
  if (!(src.flags() & py::array::c_style)) throw py::value_error("dropout_apply: src must be C-contiguous");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    auto ov = out<T>(dst, "dst");
    const T* ip = static_cast<const T*>(src.data());
    const i64 n = src.size();
    py::gil_scoped_release nogil;
    cpu::dropout_apply<T>(ov.p, ip, n, seed, threshold, T(scale));
  });
}

}  // namespace

void bind_dropout(py::module_& m) {
  m.def("dropout_apply", &dropout_apply, py::arg("dst"), py::arg("src"), py::arg("seed"),
        py::arg("threshold"), py::arg("scale"));
  m.def(
      "philox4x32_10",
      [](std::array<std::uint32_t, 4> c, std::array<std::uint32_t, 2> k) {
        const Philox4x32 r = philox4x32_10(c[0], c[1], c[2], c[3], k[0], k[1]);
        return std::array<std::uint32_t, 4>{r.w[0], r.w[1], r.w[2], r.w[3]};
      },
      py::arg("counter"), py::arg("key"), "tests: one Philox4x32-10 block");
  m.def(
      "philox_words",
      [](std::uint64_t seed, std::uint64_t first, i64 n) {
        py::array_t<std::uint32_t> out(n);
        auto* o = out.mutable_data();
        for (i64 i = 0; i < n; ++i) o[i] = philox_word(seed, first + std::uint64_t(i));
        return out;
      },
      py::arg("seed"), py::arg("first"), py::arg("n"), "tests: words first .. first + n - 1 of a stream");
}

}  // namespace fastdl::bind
