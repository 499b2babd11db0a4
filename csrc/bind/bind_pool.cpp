// Bindings of the pool family (csrc/cpu/pool.h). x and dout are C-contiguous
// NCHW; kernel, stride and padding are (h, w) pairs.
#include "../cpu/pool.h"

#include "arrays.h"

namespace fastdl::bind {

namespace {

using Pair = std::pair<i64, i64>;

// Params for windows over xlike (n, c, h, w) giving olike (n, c, oh, ow); ValueError when they do not fit.
Pool2dParams make_params(const py::array& xlike, const py::array& olike, Pair kernel, Pair stride, Pair padding) {
  expect_ndim(xlike, "x", 4), expect_ndim(olike, "out", 4);
  if (!(xlike.flags() & py::array::c_style) || !(olike.flags() & py::array::c_style))
    throw py::value_error("pool kernel: arrays must be C-contiguous");
  Pool2dParams p{};
  p.planes = xlike.shape(0) * xlike.shape(1);
  p.h = xlike.shape(2), p.w = xlike.shape(3);
  p.kh = kernel.first, p.kw = kernel.second;
  p.sh = stride.first, p.sw = stride.second;
  p.ph = padding.first, p.pw = padding.second;
  p.oh = olike.shape(2), p.ow = olike.shape(3);
  std::string err = pool2d_params_error(p);
  if (err.empty() && (olike.shape(0) != xlike.shape(0) || olike.shape(1) != xlike.shape(1)))
    err = "x and out differ in batch or channels";
  if (!err.empty()) throw py::value_error("pool kernel: " + err);
  return p;
}

// max_pool2d_fwd(out, x, kernel, stride, padding)
void max_pool2d_fwd(py::array y, py::array x, Pair kernel, Pair stride, Pair padding) {
  const Dtype d = same_float_dtype({{&y, "out"}, {&x, "x"}});
  const Pool2dParams p = make_params(x, y, kernel, stride, padding);
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* yp = out<T>(y, "out").p;
    py::gil_scoped_release nogil;
    cpu::max_pool2d_fwd<T>(yp, static_cast<const T*>(x.data()), p);
  });
}

// max_pool2d_bwd(dx, dout, x, kernel, stride, padding, split)
void max_pool2d_bwd(py::array dx, py::array dout, py::array x, Pair kernel, Pair stride, Pair padding,
                    bool split) {
  const Dtype d = same_float_dtype({{&dx, "dx"}, {&dout, "dout"}, {&x, "x"}});
  const Pool2dParams p = make_params(x, dout, kernel, stride, padding);
  for (py::ssize_t i = 0; i < 4; ++i)
    if (dx.ndim() != 4 || dx.shape(i) != x.shape(i)) throw py::value_error("max_pool2d_bwd: dx must match x");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* dxp = out<T>(dx, "dx").p;
    py::gil_scoped_release nogil;
    cpu::max_pool2d_bwd<T>(dxp, static_cast<const T*>(dout.data()), static_cast<const T*>(x.data()), p, split);
  });
}

// avg_pool2d_fwd(out, x, kernel, stride, padding, count_include_pad)
void avg_pool2d_fwd(py::array y, py::array x, Pair kernel, Pair stride, Pair padding, bool count_include_pad) {
  const Dtype d = same_float_dtype({{&y, "out"}, {&x, "x"}});
  const Pool2dParams p = make_params(x, y, kernel, stride, padding);
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* yp = out<T>(y, "out").p;
    py::gil_scoped_release nogil;
    cpu::avg_pool2d_fwd<T>(yp, static_cast<const T*>(x.data()), p, count_include_pad);
  });
}

// avg_pool2d_bwd(dx, dout, kernel, stride, padding, count_include_pad)
void avg_pool2d_bwd(py::array dx, py::array dout, Pair kernel, Pair stride, Pair padding, bool count_include_pad) {
  const Dtype d = same_float_dtype({{&dx, "dx"}, {&dout, "dout"}});
  const Pool2dParams p = make_params(dx, dout, kernel, stride, padding);
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* dxp = out<T>(dx, "dx").p;
    py::gil_scoped_release nogil;
    cpu::avg_pool2d_bwd<T>(dxp, static_cast<const T*>(dout.data()), p, count_include_pad);
  });
}

}  // namespace

void bind_pool(py::module_& m) {
  m.def("max_pool2d_fwd", &max_pool2d_fwd, py::arg("out"), py::arg("x"), py::arg("kernel"), py::arg("stride"),
        py::arg("padding"));
  m.def("max_pool2d_bwd", &max_pool2d_bwd, py::arg("dx"), py::arg("dout"), py::arg("x"), py::arg("kernel"),
        py::arg("stride"), py::arg("padding"), py::arg("split"));
  m.def("avg_pool2d_fwd", &avg_pool2d_fwd, py::arg("out"), py::arg("x"), py::arg("kernel"), py::arg("stride"),
        py::arg("padding"), py::arg("count_include_pad"));
  m.def("avg_pool2d_bwd", &avg_pool2d_bwd, py::arg("dx"), py::arg("dout"), py::arg("kernel"), py::arg("stride"),
        py::arg("padding"), py::arg("count_include_pad"));
}

}  // namespace fastdl::bind
