// Bindings of the matmul family (csrc/cpu/matmul.h).
#include "../cpu/matmul.h"

#include "arrays.h"

namespace fastdl::bind {

namespace {

// bmm(c, a, b, n_reduce): a (B..., m, k), b (B..., k, n), c (B..., m, n) with the
// same batch dims; c may be a strided view (stride 0 along the n_reduce
// trailing batch dims, which are summed).
void bmm(py::array c, py::array a, py::array b, int n_reduce) {
  const Dtype d = same_float_dtype({{&c, "c"}, {&a, "a"}, {&b, "b"}});
  const py::ssize_t nd = a.ndim();
  if (nd < 2 || b.ndim() != nd || c.ndim() != nd)
    throw py::value_error("bmm: a, b, c need the same ndim >= 2");
  if (n_reduce < 0 || n_reduce > nd - 2) throw py::value_error("bmm: bad n_reduce");
  for (py::ssize_t i = 0; i < nd - 2; ++i)
    if (a.shape(i) != b.shape(i) || a.shape(i) != c.shape(i))
      throw py::value_error("bmm: batch dims differ");
  if (a.shape(nd - 1) != b.shape(nd - 2) || c.shape(nd - 2) != a.shape(nd - 2) ||
      c.shape(nd - 1) != b.shape(nd - 1))
    throw py::value_error("bmm: matrix dims do not chain");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    auto cv = out<T>(c, "c", false);
    auto av = in<T>(a), bv = in<T>(b);
    cpu::BmmParams p;
    p.m = av.shape[nd - 2], p.k = av.shape[nd - 1], p.n = bv.shape[nd - 1];
    p.rsa = av.stride[nd - 2], p.csa = av.stride[nd - 1];
    p.rsb = bv.stride[nd - 2], p.csb = bv.stride[nd - 1];
    p.rsc = cv.stride[nd - 2], p.csc = cv.stride[nd - 1];
    p.batch.assign(av.shape.begin(), av.shape.end() - 2);
    p.sa.assign(av.stride.begin(), av.stride.end() - 2);
    p.sb.assign(bv.stride.begin(), bv.stride.end() - 2);
    p.sc.assign(cv.stride.begin(), cv.stride.end() - 2);
    p.n_reduce = n_reduce;
    py::gil_scoped_release nogil;
    cpu::bmm<T>(cv.p, av.p, bv.p, p);
  });
}

// affine_fwd(y, x, w, bias): x (n, d), w (d, m), bias (m,) or None, y (n, m) contiguous.
void affine_fwd(py::array y, py::array x, py::array w, std::optional<py::array> bias) {
  const Dtype d = same_float_dtype({{&y, "y"}, {&x, "x"}, {&w, "w"}, {bias ? &*bias : nullptr, "b"}});
  expect_ndim(x, "x", 2), expect_ndim(w, "w", 2), expect_ndim(y, "y", 2);
  const py::ssize_t n = x.shape(0), k = x.shape(1), m = w.shape(1);
  if (w.shape(0) != k || y.shape(0) != n || y.shape(1) != m)
    throw py::value_error("affine_fwd: shapes do not chain");
  if (bias && (bias->ndim() != 1 || bias->shape(0) != m || !(bias->flags() & py::array::c_style)))
    throw py::value_error("affine_fwd: bias must be contiguous (m,)");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    auto yv = out<T>(y, "y");
    auto xv = in<T>(x), wv = in<T>(w);
    const T* bp = bias ? static_cast<const T*>(bias->data()) : nullptr;
    py::gil_scoped_release nogil;
    cpu::affine_fwd<T>(yv.p, xv.p, wv.p, bp, n, k, m, xv.stride[0], xv.stride[1], wv.stride[0],
                       wv.stride[1]);
  });
}

// affine_bwd(dx, dw, dbias, dy, x, w): dx (n, d), dw (d, m), dbias (m,) or None,
// all contiguous outputs; dy (n, m) contiguous.
void affine_bwd(py::array dx, py::array dw, std::optional<py::array> dbias, py::array dy,
                py::array x, py::array w) {
  const Dtype d = same_float_dtype({{&dy, "dy"}, {&dx, "dx"}, {&dw, "dw"}, {&x, "x"}, {&w, "w"},
                                    {dbias ? &*dbias : nullptr, "db"}});
  expect_ndim(x, "x", 2), expect_ndim(w, "w", 2), expect_ndim(dy, "dy", 2);
  const py::ssize_t n = x.shape(0), k = x.shape(1), m = w.shape(1);
  if (w.shape(0) != k || dy.shape(0) != n || dy.shape(1) != m || dx.ndim() != 2 ||
      dx.shape(0) != n || dx.shape(1) != k || dw.ndim() != 2 || dw.shape(0) != k ||
      dw.shape(1) != m || (dbias && (dbias->ndim() != 1 || dbias->shape(0) != m)))
    throw py::value_error("affine_bwd: shapes do not chain");
  if (!(dy.flags() & py::array::c_style)) throw py::value_error("affine_bwd: dy must be C-contiguous");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    auto dxv = out<T>(dx, "dx"), dwv = out<T>(dw, "dw");
    T* dbp = dbias ? out<T>(*dbias, "db").p : nullptr;
    auto xv = in<T>(x), wv = in<T>(w);
    const T* dyp = static_cast<const T*>(dy.data());
    py::gil_scoped_release nogil;
    cpu::affine_bwd<T>(dxv.p, dwv.p, dbp, dyp, xv.p, wv.p, n, k, m, xv.stride[0], xv.stride[1],
                       wv.stride[0], wv.stride[1]);
  });
}

}  // namespace

void bind_matmul(py::module_& m) {
  m.def("bmm", &bmm, py::arg("c"), py::arg("a"), py::arg("b"), py::arg("n_reduce") = 0);
  m.def("affine_fwd", &affine_fwd, py::arg("y"), py::arg("x"), py::arg("w"), py::arg("bias"));
  m.def("affine_bwd", &affine_bwd, py::arg("dx"), py::arg("dw"), py::arg("dbias"), py::arg("dy"),
        py::arg("x"), py::arg("w"));
}

}  // namespace fastdl::bind
