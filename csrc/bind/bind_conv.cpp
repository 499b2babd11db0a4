// Bindings of the conv family (csrc/cpu/conv.h). Every array is C-contiguous
// NCHW; the params come from the array shapes plus stride, padding, dilation
// (each an (h, w) pair) and groups.
#include "../cpu/conv.h"
#include "../cpu/conv_winograd.h"

#include "arrays.h"

namespace fastdl::bind {

namespace {

using Pair = std::pair<i64, i64>;

void expect_contiguous(const py::array& a, const char* name) {
  if (!(a.flags() & py::array::c_style)) throw py::value_error(std::string(name) + ": must be C-contiguous");
}

// Params of the conv2d taking xlike (n, c, h, w) to olike (n, f, oh, ow) with
// wt (f, c/groups, kh, kw); throws ValueError when they do not fit together.
Conv2dParams make_params(const py::array& xlike, const py::array& wt, const py::array& olike, Pair stride,
                         Pair padding, Pair dilation, i64 groups) {
  expect_ndim(xlike, "x", 4), expect_ndim(wt, "w", 4), expect_ndim(olike, "out", 4);
  Conv2dParams p{};
  p.n = xlike.shape(0), p.c = xlike.shape(1), p.h = xlike.shape(2), p.w = xlike.shape(3);
  p.f = wt.shape(0), p.kh = wt.shape(2), p.kw = wt.shape(3);
  p.sh = stride.first, p.sw = stride.second;
  p.ph = padding.first, p.pw = padding.second;
  p.dh = dilation.first, p.dw = dilation.second;
  p.groups = groups;
  p.oh = olike.shape(2), p.ow = olike.shape(3);
  std::string err = conv2d_params_error(p);
  if (err.empty() && (olike.shape(0) != p.n || olike.shape(1) != p.f || wt.shape(1) * groups != p.c))
    err = "x, w and out shapes do not chain";
  if (!err.empty()) throw py::value_error("conv2d kernel: " + err);
  return p;
}

// conv2d_fwd(out, x, w, bias, stride, padding, dilation, groups): out (n, f, oh, ow)
void conv2d_fwd(py::array y, py::array x, py::array w, std::optional<py::array> bias, Pair stride,
                Pair padding, Pair dilation, i64 groups) {
  const Dtype d = same_float_dtype({{&y, "out"}, {&x, "x"}, {&w, "w"}, {bias ? &*bias : nullptr, "b"}});
  const Conv2dParams p = make_params(x, w, y, stride, padding, dilation, groups);
  expect_contiguous(x, "x"), expect_contiguous(w, "w");
  if (bias && (bias->ndim() != 1 || bias->shape(0) != p.f)) throw py::value_error("b: expected shape (f,)");
  if (bias) expect_contiguous(*bias, "b");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* op = out<T>(y, "out").p;
    const T* bp = bias ? static_cast<const T*>(bias->data()) : nullptr;
    py::gil_scoped_release nogil;
    cpu::conv2d_fwd<T>(op, static_cast<const T*>(x.data()), static_cast<const T*>(w.data()), bp, p);
  });
}

// conv2d_bwd_data(dx, dout, w, bias, ...): dx (n, c, h, w), bias (c,) or None (added to dx)
void conv2d_bwd_data(py::array dx, py::array dout, py::array w, std::optional<py::array> bias, Pair stride,
                     Pair padding, Pair dilation, i64 groups) {
  const Dtype d = same_float_dtype({{&dx, "dx"}, {&dout, "dout"}, {&w, "w"}, {bias ? &*bias : nullptr, "b"}});
  const Conv2dParams p = make_params(dx, w, dout, stride, padding, dilation, groups);
  expect_contiguous(dout, "dout"), expect_contiguous(w, "w");
  if (bias && (bias->ndim() != 1 || bias->shape(0) != p.c)) throw py::value_error("b: expected shape (c,)");
  if (bias) expect_contiguous(*bias, "b");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* dxp = out<T>(dx, "dx").p;
    const T* bp = bias ? static_cast<const T*>(bias->data()) : nullptr;
    py::gil_scoped_release nogil;
    cpu::conv2d_bwd_data<T>(dxp, static_cast<const T*>(dout.data()), static_cast<const T*>(w.data()), bp, p);
  });
}

// conv2d_bwd(dx, dw, db, dout, x, w, ...): dx (n, c, h, w) or None, dw like w, db (f,) or None
void conv2d_bwd(std::optional<py::array> dx, py::array dw, std::optional<py::array> db, py::array dout,
                py::array x, py::array w, Pair stride, Pair padding, Pair dilation, i64 groups) {
  const Dtype d = same_float_dtype({{&dout, "dout"}, {&x, "x"}, {&w, "w"}, {&dw, "dw"},
                                    {dx ? &*dx : nullptr, "dx"}, {db ? &*db : nullptr, "db"}});
  const Conv2dParams p = make_params(x, w, dout, stride, padding, dilation, groups);
  expect_contiguous(dout, "dout"), expect_contiguous(x, "x"), expect_contiguous(w, "w");
  for (py::ssize_t i = 0; i < 4; ++i)
    if (dw.ndim() != 4 || dw.shape(i) != w.shape(i) || (dx && (dx->ndim() != 4 || dx->shape(i) != x.shape(i))))
      throw py::value_error("conv2d_bwd: dx must match x and dw must match w");
  if (db && (db->ndim() != 1 || db->shape(0) != p.f)) throw py::value_error("db: expected shape (f,)");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* dxp = dx ? out<T>(*dx, "dx").p : nullptr;
    T* dwp = out<T>(dw, "dw").p;
    T* dbp = db ? out<T>(*db, "db").p : nullptr;
    py::gil_scoped_release nogil;
    cpu::conv2d_bwd<T>(dxp, dwp, dbp, static_cast<const T*>(dout.data()), static_cast<const T*>(x.data()),
                       static_cast<const T*>(w.data()), p);
  });
}

// conv_transpose2d_bwd(dx, dw, db, dout, x, w, ...): the gradients of conv_transpose2d(x, w, b); the params
// are the conv2d's taking dout (n, c, h, w) to x (n, f, oh, ow); dx like x, dw like w, db (c,) or None
void conv_transpose2d_bwd(py::array dx, py::array dw, std::optional<py::array> db, py::array dout, py::array x,
                          py::array w, Pair stride, Pair padding, Pair dilation, i64 groups) {
  const Dtype d = same_float_dtype({{&dout, "dout"}, {&x, "x"}, {&w, "w"}, {&dw, "dw"}, {&dx, "dx"},
                                    {db ? &*db : nullptr, "db"}});
  const Conv2dParams p = make_params(dout, w, x, stride, padding, dilation, groups);
  expect_contiguous(dout, "dout"), expect_contiguous(x, "x"), expect_contiguous(w, "w");
  for (py::ssize_t i = 0; i < 4; ++i)
    if (dw.ndim() != 4 || dw.shape(i) != w.shape(i) || dx.ndim() != 4 || dx.shape(i) != x.shape(i))
      throw py::value_error("conv_transpose2d_bwd: dx must match x and dw must match w");
  if (db && (db->ndim() != 1 || db->shape(0) != p.c)) throw py::value_error("db: expected shape (c,)");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* dxp = out<T>(dx, "dx").p;
    T* dwp = out<T>(dw, "dw").p;
    T* dbp = db ? out<T>(*db, "db").p : nullptr;
    py::gil_scoped_release nogil;
    cpu::conv_transpose2d_bwd<T>(dxp, dwp, dbp, static_cast<const T*>(dout.data()),
                                 static_cast<const T*>(x.data()), static_cast<const T*>(w.data()), p);
  });
}

// conv_bias_grad(db, dout): db (f,) = dout (n, f, h, w) summed over n, h, w
void conv_bias_grad(py::array db, py::array dout) {
  const Dtype d = same_float_dtype({{&db, "db"}, {&dout, "dout"}});
  expect_ndim(dout, "dout", 4), expect_contiguous(dout, "dout");
  if (db.ndim() != 1 || db.shape(0) != dout.shape(1)) throw py::value_error("db: expected shape (f,)");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* dbp = out<T>(db, "db").p;
    py::gil_scoped_release nogil;
    cpu::conv_bias_grad<T>(dbp, static_cast<const T*>(dout.data()), dout.shape(0), dout.shape(1),
                           dout.shape(2) * dout.shape(3));
  });
}

}  // namespace

void bind_conv(py::module_& m) {
  m.def("conv2d_fwd", &conv2d_fwd, py::arg("out"), py::arg("x"), py::arg("w"), py::arg("bias"),
        py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("groups"));
  m.def("conv2d_bwd_data", &conv2d_bwd_data, py::arg("dx"), py::arg("dout"), py::arg("w"), py::arg("bias"),
        py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("groups"));
  m.def("conv2d_bwd", &conv2d_bwd, py::arg("dx"), py::arg("dw"), py::arg("db"), py::arg("dout"), py::arg("x"),
        py::arg("w"), py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("groups"));
  m.def("conv_transpose2d_bwd", &conv_transpose2d_bwd, py::arg("dx"), py::arg("dw"), py::arg("db"),
        py::arg("dout"), py::arg("x"), py::arg("w"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
        py::arg("groups"));
  m.def("conv_bias_grad", &conv_bias_grad, py::arg("db"), py::arg("dout"));
  m.def("conv_output_size", &conv_out_size, py::arg("size"), py::arg("kernel"), py::arg("stride"),
        py::arg("padding"), py::arg("dilation"),
        "output length of a window op along one axis (Conv2dParams' formula)");
  m.def("conv_transpose_output_size", &conv_transpose_out_size, py::arg("size"), py::arg("kernel"),
        py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("output_padding"));
  m.def("conv2d_winograd_calls", &cpu::winograd_calls,
        "conv2d forward / data-gradient calls that took the Winograd F(2x2, 3x3) path (tests)");
  m.def("conv2d_winograd_dw_calls", &cpu::winograd_dw_calls,
        "conv2d weight-gradient calls that took the Winograd F(2x2, 3x3) path (tests)");
}

}  // namespace fastdl::bind
