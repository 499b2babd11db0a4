// Bindings of the embed family (csrc/cpu/embed.h). fastdl/ops/embed.py has
// range-checked the indices; the binding checks layouts and sizes again.
#include "../cpu/embed.h"

#include "arrays.h"

namespace fastdl::bind {

namespace {

const i64* index_ptr(const py::array& indices) {
  if (!py::isinstance<py::array_t<std::int64_t>>(indices) || !(indices.flags() & py::array::c_style))
    throw py::type_error("indices: expected a C-contiguous int64 array");
  return static_cast<const i64*>(indices.data());
}

// embedding_fwd(out, weight, indices): weight (v, d), indices (n,) int64, out (n, d).
void embedding_fwd(py::array out_, py::array weight, py::array indices) {
  const Dtype dt = same_float_dtype({{&out_, "out"}, {&weight, "weight"}});
  expect_ndim(weight, "weight", 2);
  const i64 n = indices.size(), v = weight.shape(0), d = weight.shape(1);
  if (out_.size() != n * d) throw py::value_error("embedding_fwd: out must have n * d elements");
  if (!(weight.flags() & py::array::c_style)) throw py::value_error("weight: must be C-contiguous");
  const i64* idx = index_ptr(indices);
  for (i64 i = 0; i < n; ++i)
    if (idx[i] < 0 || idx[i] >= v) throw py::value_error("embedding_fwd: index out of range");
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    T* o = out<T>(out_, "out").p;
    const T* w = static_cast<const T*>(weight.data());
    py::gil_scoped_release nogil;
    cpu::embedding_fwd<T>(o, w, idx, n, d);
  });
}

// embedding_bwd(dweight, dout, indices): dweight (v, d), dout (n, d), indices (n,) int64.
void embedding_bwd(py::array dweight, py::array dout, py::array indices) {
  const Dtype dt = same_float_dtype({{&dweight, "dweight"}, {&dout, "dout"}});
  expect_ndim(dweight, "dweight", 2);
  const i64 n = indices.size(), v = dweight.shape(0), d = dweight.shape(1);
  if (dout.size() != n * d || !(dout.flags() & py::array::c_style))
    throw py::value_error("embedding_bwd: dout must be C-contiguous with n * d elements");
  const i64* idx = index_ptr(indices);
  for (i64 i = 0; i < n; ++i)
    if (idx[i] < 0 || idx[i] >= v) throw py::value_error("embedding_bwd: index out of range");
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    T* dw = out<T>(dweight, "dweight").p;
    const T* g = static_cast<const T*>(dout.data());
    py::gil_scoped_release nogil;
    cpu::embedding_bwd<T>(dw, g, idx, n, v, d);
  });
}

// positional_encoding(pe): pe (length, d_model), filled.
void positional_encoding(py::array pe) {
  const Dtype dt = float_dtype(pe, "pe");
  expect_ndim(pe, "pe", 2);
  with_dtype(dt, [&](auto t) {
    using T = decltype(t);
    T* p = out<T>(pe, "pe").p;
    const i64 length = pe.shape(0), d_model = pe.shape(1);
    py::gil_scoped_release nogil;
    cpu::positional_encoding<T>(p, length, d_model);
  });
}

}  // namespace

void bind_embed(py::module_& m) {
  m.def("embedding_fwd", &embedding_fwd, py::arg("out"), py::arg("weight"), py::arg("indices"));
  m.def("embedding_bwd", &embedding_bwd, py::arg("dweight"), py::arg("dout"), py::arg("indices"));
  m.def("positional_encoding", &positional_encoding, py::arg("pe"));
}

}  // namespace fastdl::bind
