// Bindings of the act family (csrc/cpu/act.h). Python (fastdl/ops/act.py)
// has validated shapes; these checks keep direct _cpu calls from crashing.
// act_fwd / act_bwd are on the per-call-overhead path of tiny inputs, so
// they check flags and sizes directly instead of building views.
#include "../cpu/act.h"

#include "arrays.h"

namespace fastdl::bind {

namespace {

constexpr i64 kReleaseGil = 1 << 14;  // below this many elements the GIL round trip costs more than it frees

cpu::Act act_arg(int op) {
  if (op < 0 || op >= cpu::kActCount) throw py::value_error("act: unknown op code " + std::to_string(op));
  return static_cast<cpu::Act>(op);
}

void expect_contiguous(const py::array& a, const char* name) {
  if (!(a.flags() & py::array::c_style)) throw py::value_error(std::string(name) + ": must be C-contiguous");
}

void expect_same_size(const py::array& a, const char* an, const py::array& b, const char* bn) {
  if (a.size() != b.size())
    throw py::value_error(std::string(an) + " and " + bn + " need the same size, got " + std::to_string(a.size()) +
                          " and " + std::to_string(b.size()));
}

template <typename F>
void maybe_release(i64 n, const F& f) {
  if (n >= kReleaseGil) {
    py::gil_scoped_release nogil;
    f();
  } else {
    f();
  }
}

// act_fwd(y, x, op, alpha): y = op(x) elementwise; x, y contiguous, one size.
void act_fwd(py::array y, py::array x, int op, double alpha) {
  const Dtype d = same_float_dtype({{&y, "y"}, {&x, "x"}});
  const cpu::Act a = act_arg(op);
  expect_same_size(y, "y", x, "x");
  expect_contiguous(x, "x"), expect_contiguous(y, "y");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* yp = static_cast<T*>(y.mutable_data());
    const T* xp = static_cast<const T*>(x.data());
    const i64 n = x.size();
    maybe_release(n, [&] { cpu::act_fwd<T>(yp, xp, n, a, T(alpha)); });
  });
}

// act_bwd(dx, a, dy, op, alpha): dx = dL/dx from dy and a (y or x, see act.h).
void act_bwd(py::array dx, py::array a, py::array dy, int op, double alpha) {
  const Dtype d = same_float_dtype({{&dx, "dx"}, {&a, "a"}, {&dy, "dy"}});
  const cpu::Act act = act_arg(op);
  expect_same_size(dx, "dx", a, "a"), expect_same_size(dy, "dy", a, "a");
  expect_contiguous(a, "a"), expect_contiguous(dy, "dy"), expect_contiguous(dx, "dx");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* dxp = static_cast<T*>(dx.mutable_data());
    const T *ap = static_cast<const T*>(a.data()), *dyp = static_cast<const T*>(dy.data());
    const i64 n = a.size();
    maybe_release(n, [&] { cpu::act_bwd<T>(dxp, ap, dyp, n, act, T(alpha)); });
  });
}

// x (n, c, s) contiguous; alpha (c,) contiguous.
void check_prelu(const py::array& x, const py::array& alpha) {
  expect_ndim(x, "x", 3);
  expect_contiguous(x, "x"), expect_contiguous(alpha, "alpha");
  if (alpha.ndim() != 1 || alpha.shape(0) != x.shape(1))
    throw py::value_error("prelu: alpha must be (" + std::to_string(x.shape(1)) + ",) for x (n, c, s)");
}

// prelu_fwd(y, x, alpha): x, y (n, c, s); alpha (c,).
void prelu_fwd(py::array y, py::array x, py::array alpha) {
  const Dtype d = same_float_dtype({{&y, "y"}, {&x, "x"}, {&alpha, "alpha"}});
  check_prelu(x, alpha);
  expect_same_size(y, "y", x, "x"), expect_contiguous(y, "y");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* yp = static_cast<T*>(y.mutable_data());
    const T *xp = static_cast<const T*>(x.data()), *ap = static_cast<const T*>(alpha.data());
    const i64 n = x.shape(0), c = x.shape(1), s = x.shape(2);
    py::gil_scoped_release nogil;
    cpu::prelu_fwd<T>(yp, xp, ap, n, c, s);
  });
}

// prelu_bwd(dx, dalpha, dy, x, alpha): dx, dy like x (n, c, s); dalpha like alpha (c,).
void prelu_bwd(py::array dx, py::array dalpha, py::array dy, py::array x, py::array alpha) {
  const Dtype d = same_float_dtype({{&dx, "dx"}, {&dalpha, "dalpha"}, {&dy, "dy"}, {&x, "x"}, {&alpha, "alpha"}});
  check_prelu(x, alpha);
  expect_same_size(dx, "dx", x, "x"), expect_same_size(dy, "dy", x, "x");
  expect_same_size(dalpha, "dalpha", alpha, "alpha");
  expect_contiguous(dx, "dx"), expect_contiguous(dy, "dy"), expect_contiguous(dalpha, "dalpha");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T *dxp = static_cast<T*>(dx.mutable_data()), *dap = static_cast<T*>(dalpha.mutable_data());
    const T *dyp = static_cast<const T*>(dy.data()), *xp = static_cast<const T*>(x.data()),
            *ap = static_cast<const T*>(alpha.data());
    const i64 n = x.shape(0), c = x.shape(1), s = x.shape(2);
    py::gil_scoped_release nogil;
    cpu::prelu_bwd<T>(dxp, dap, dyp, xp, ap, n, c, s);
  });
}

// z (n, pieces * m) contiguous; returns m.
i64 check_maxout(const py::array& z, i64 pieces) {
  expect_ndim(z, "z", 2), expect_contiguous(z, "z");
  if (pieces < 1 || z.shape(1) % pieces != 0)
    throw py::value_error("maxout: z's second dim " + std::to_string(z.shape(1)) + " is not a multiple of pieces " +
                          std::to_string(pieces));
  return z.shape(1) / pieces;
}

// maxout_fwd(y, z, pieces): z (n, pieces * m), y (n, m).
void maxout_fwd(py::array y, py::array z, i64 pieces) {
  const Dtype d = same_float_dtype({{&y, "y"}, {&z, "z"}});
  const i64 m = check_maxout(z, pieces), n = z.shape(0);
  expect_ndim(y, "y", 2), expect_contiguous(y, "y");
  if (y.shape(0) != n || y.shape(1) != m) throw py::value_error("maxout_fwd: y must be (n, m)");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* yp = static_cast<T*>(y.mutable_data());
    const T* zp = static_cast<const T*>(z.data());
    py::gil_scoped_release nogil;
    cpu::maxout_fwd<T>(yp, zp, n, pieces, m);
  });
}

// maxout_bwd(dz, dy, z, pieces): dz like z (n, pieces * m), dy (n, m).
void maxout_bwd(py::array dz, py::array dy, py::array z, i64 pieces) {
  const Dtype d = same_float_dtype({{&dz, "dz"}, {&dy, "dy"}, {&z, "z"}});
  const i64 m = check_maxout(z, pieces), n = z.shape(0);
  expect_same_size(dz, "dz", z, "z"), expect_contiguous(dz, "dz"), expect_contiguous(dy, "dy");
  if (dy.ndim() != 2 || dy.shape(0) != n || dy.shape(1) != m) throw py::value_error("maxout_bwd: dy must be (n, m)");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* dzp = static_cast<T*>(dz.mutable_data());
    const T *dyp = static_cast<const T*>(dy.data()), *zp = static_cast<const T*>(z.data());
    py::gil_scoped_release nogil;
    cpu::maxout_bwd<T>(dzp, dyp, zp, n, pieces, m);
  });
}

}  // namespace

void bind_act(py::module_& m) {
  m.def("act_fwd", &act_fwd, py::arg("y"), py::arg("x"), py::arg("op"), py::arg("alpha"));
  m.def("act_bwd", &act_bwd, py::arg("dx"), py::arg("a"), py::arg("dy"), py::arg("op"), py::arg("alpha"));
  m.def("prelu_fwd", &prelu_fwd, py::arg("y"), py::arg("x"), py::arg("alpha"));
  m.def("prelu_bwd", &prelu_bwd, py::arg("dx"), py::arg("dalpha"), py::arg("dy"), py::arg("x"), py::arg("alpha"));
  m.def("maxout_fwd", &maxout_fwd, py::arg("y"), py::arg("z"), py::arg("pieces"));
  m.def("maxout_bwd", &maxout_bwd, py::arg("dz"), py::arg("dy"), py::arg("z"), py::arg("pieces"));
}

}  // namespace fastdl::bind
