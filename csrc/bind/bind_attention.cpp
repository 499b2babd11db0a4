// Bindings of the attention family (csrc/cpu/attention.h).
#include "../cpu/attention.h"

#include "arrays.h"

namespace fastdl::bind {

namespace {

// a is C-contiguous with this shape, else ValueError naming it.
void expect_dense(const py::array& a, const char* name, std::initializer_list<py::ssize_t> shape) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size()) && (a.flags() & py::array::c_style);
  py::ssize_t d = 0;
  for (py::ssize_t n : shape) ok = ok && a.shape(d++) == n;
  if (!ok)
    throw py::value_error(std::string("sdpa: ") + name +
                          " has the wrong shape or is not C-contiguous");
}

// Shapes and the mask view -> SdpaParams. q (B, lq, d), k (B, lk, d), v (B, lk, dv);
// mask None or (Bm, lq, lk) of any strides with mask_index (B,) int64 in [0, Bm).
template <typename T>
cpu::SdpaParams params(const py::array& q, const py::array& k, const py::array& v,
                       const std::optional<py::array>& mask,
                       const std::optional<py::array_t<std::int64_t>>& mask_index, bool causal,
                       double scale) {
  expect_ndim(q, "q", 3), expect_ndim(k, "k", 3), expect_ndim(v, "v", 3);
  cpu::SdpaParams p{};
  p.batch = q.shape(0), p.lq = q.shape(1), p.d = q.shape(2), p.lk = k.shape(1), p.dv = v.shape(2);
  p.scale = scale, p.causal = causal;
  expect_dense(q, "q", {p.batch, p.lq, p.d});
  expect_dense(k, "k", {p.batch, p.lk, p.d});
  expect_dense(v, "v", {p.batch, p.lk, p.dv});
  if (mask) {
    if (!mask_index) throw py::value_error("sdpa: a mask needs mask_index");
    expect_ndim(*mask, "mask", 3);
    if (mask->shape(1) != p.lq || mask->shape(2) != p.lk)
      throw py::value_error("sdpa: mask must be (Bm, lq, lk)");
    const auto& mi = *mask_index;
    if (mi.ndim() != 1 || mi.shape(0) != p.batch || !(mi.flags() & py::array::c_style))
      throw py::value_error("sdpa: mask_index must be a contiguous (B,) int64 array");
    for (py::ssize_t b = 0; b < p.batch; ++b)
      if (mi.data()[b] < 0 || mi.data()[b] >= mask->shape(0))
        throw py::value_error("sdpa: mask_index out of range");
    auto mv = in<T>(*mask);
    p.mask_index = mi.data();
    p.msb = mv.stride[0], p.msr = mv.stride[1], p.msc = mv.stride[2];
  }
  return p;
}

// sdpa_fwd(out, lse, q, k, v, mask, mask_index, causal, scale):
// out (B, lq, dv), lse (B, lq) C-contiguous outputs.
void sdpa_fwd(py::array out_, py::array lse, py::array q, py::array k, py::array v,
              std::optional<py::array> mask, std::optional<py::array_t<std::int64_t>> mask_index,
              bool causal, double scale) {
  const Dtype d = same_float_dtype({{&q, "q"}, {&k, "k"}, {&v, "v"}, {&out_, "out"}, {&lse, "lse"},
                                    {mask ? &*mask : nullptr, "mask"}});
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    const cpu::SdpaParams p = params<T>(q, k, v, mask, mask_index, causal, scale);
    expect_dense(out_, "out", {p.batch, p.lq, p.dv});
    expect_dense(lse, "lse", {p.batch, p.lq});
    auto ov = out<T>(out_, "out"), lv = out<T>(lse, "lse");
    const T* mp = mask ? in<T>(*mask).p : nullptr;
    auto qv = in<T>(q), kv = in<T>(k), vv = in<T>(v);
    py::gil_scoped_release nogil;
    cpu::sdpa_fwd<T>(ov.p, lv.p, qv.p, kv.p, vv.p, mp, p);
  });
}

// sdpa_bwd(dq, dk, dv, dout, q, k, v, mask, mask_index, out, lse, causal, scale):
// dq, dk, dv C-contiguous outputs shaped like q, k, v; dout, out (B, lq, dv), lse (B, lq).
void sdpa_bwd(py::array dq, py::array dk, py::array dv, py::array dout, py::array q, py::array k,
              py::array v, std::optional<py::array> mask,
              std::optional<py::array_t<std::int64_t>> mask_index, py::array out_, py::array lse,
              bool causal, double scale) {
  const Dtype d = same_float_dtype({{&q, "q"}, {&k, "k"}, {&v, "v"}, {&dq, "dq"}, {&dk, "dk"},
                                    {&dv, "dv"}, {&dout, "dout"}, {&out_, "out"}, {&lse, "lse"},
                                    {mask ? &*mask : nullptr, "mask"}});
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    const cpu::SdpaParams p = params<T>(q, k, v, mask, mask_index, causal, scale);
    expect_dense(dq, "dq", {p.batch, p.lq, p.d});
    expect_dense(dk, "dk", {p.batch, p.lk, p.d});
    expect_dense(dv, "dv", {p.batch, p.lk, p.dv});
    expect_dense(dout, "dout", {p.batch, p.lq, p.dv});
    expect_dense(out_, "out", {p.batch, p.lq, p.dv});
    expect_dense(lse, "lse", {p.batch, p.lq});
    auto dqv = out<T>(dq, "dq"), dkv = out<T>(dk, "dk"), dvv = out<T>(dv, "dv");
    const T* mp = mask ? in<T>(*mask).p : nullptr;
    auto qv = in<T>(q), kv = in<T>(k), vv = in<T>(v), dov = in<T>(dout), ov = in<T>(out_),
         lv = in<T>(lse);
    py::gil_scoped_release nogil;
    cpu::sdpa_bwd<T>(dqv.p, dkv.p, dvv.p, dov.p, qv.p, kv.p, vv.p, mp, ov.p, lv.p, p);
  });
}

}  // namespace

void bind_attention(py::module_& m) {
  m.def("sdpa_fwd", &sdpa_fwd, py::arg("out"), py::arg("lse"), py::arg("q"), py::arg("k"),
        py::arg("v"), py::arg("mask"), py::arg("mask_index"), py::arg("causal"), py::arg("scale"));
  m.def("sdpa_bwd", &sdpa_bwd, py::arg("dq"), py::arg("dk"), py::arg("dv"), py::arg("dout"),
        py::arg("q"), py::arg("k"), py::arg("v"), py::arg("mask"), py::arg("mask_index"),
        py::arg("out"), py::arg("lse"), py::arg("causal"), py::arg("scale"));
}

}  // namespace fastdl::bind
