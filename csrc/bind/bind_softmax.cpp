// Bindings of the softmax family (csrc/cpu/softmax.h).
#include "../cpu/softmax.h"

#include "arrays.h"

namespace fastdl::bind {

namespace {

// a (outer, c, inner), C-contiguous, of the shape of `like` (when given).
void expect_slab(const py::array& a, const char* name, const py::array* like = nullptr) {
  expect_ndim(a, name, 3);
  if (!(a.flags() & py::array::c_style)) throw py::value_error(std::string(name) + ": must be C-contiguous");
  if (like)
    for (int d = 0; d < 3; ++d)
      if (a.shape(d) != like->shape(d)) throw py::value_error(std::string(name) + ": shape differs from the input's");
}

// softmax_fwd(y, x, log): x, y (outer, c, inner); softmax (log_softmax) over c.
void softmax_fwd(py::array y, py::array x, bool log) {
  const Dtype d = same_float_dtype({{&y, "y"}, {&x, "x"}});
  expect_slab(x, "x"), expect_slab(y, "y", &x);
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* yp = out<T>(y, "y").p;
    const T* xp = static_cast<const T*>(x.data());
    const i64 o = x.shape(0), c = x.shape(1), i = x.shape(2);
    py::gil_scoped_release nogil;
    cpu::softmax_fwd<T>(yp, xp, o, c, i, log);
  });
}

// softmax_bwd(dx, y, dy, log): all (outer, c, inner); y the forward output.
void softmax_bwd(py::array dx, py::array y, py::array dy, bool log) {
  const Dtype d = same_float_dtype({{&dx, "dx"}, {&y, "y"}, {&dy, "dy"}});
  expect_slab(y, "y"), expect_slab(dy, "dy", &y), expect_slab(dx, "dx", &y);
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* dxp = out<T>(dx, "dx").p;
    const T *yp = static_cast<const T*>(y.data()), *dyp = static_cast<const T*>(dy.data());
    const i64 o = y.shape(0), c = y.shape(1), i = y.shape(2);
    py::gil_scoped_release nogil;
    cpu::softmax_bwd<T>(dxp, yp, dyp, o, c, i, log);
  });
}

}  // namespace

void bind_softmax(py::module_& m) {
  m.def("softmax_fwd", &softmax_fwd, py::arg("y"), py::arg("x"), py::arg("log"));
  m.def("softmax_bwd", &softmax_bwd, py::arg("dx"), py::arg("y"), py::arg("dy"), py::arg("log"));
}

}  // namespace fastdl::bind
