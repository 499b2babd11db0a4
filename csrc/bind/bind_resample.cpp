// Bindings of the resample family (csrc/cpu/resample.h). Arrays C-contiguous NCHW.
#include "../cpu/resample.h"

#include "arrays.h"

namespace fastdl::bind {

namespace {

// Params for xlike (n, c, h, w) <-> olike (n, c, oh, ow); ValueError when they do not fit.
cpu::Resample2dParams make_params(const py::array& xlike, const py::array& olike, const std::string& mode,
                                  bool align_corners, double scale_h, double scale_w) {
  expect_ndim(xlike, "x", 4), expect_ndim(olike, "out", 4);
  if (!(xlike.flags() & py::array::c_style) || !(olike.flags() & py::array::c_style))
    throw py::value_error("upsample2d kernel: arrays must be C-contiguous");
  if (xlike.shape(0) != olike.shape(0) || xlike.shape(1) != olike.shape(1))
    throw py::value_error("upsample2d kernel: x and out differ in batch or channels");
  cpu::Resample2dParams p{};
  p.planes = xlike.shape(0) * xlike.shape(1);
  p.h = xlike.shape(2), p.w = xlike.shape(3), p.oh = olike.shape(2), p.ow = olike.shape(3);
  if (p.h < 1 || p.w < 1 || p.oh < 1 || p.ow < 1) throw py::value_error("upsample2d kernel: empty spatial dims");
  if (mode == "nearest") p.mode = cpu::Interp::nearest;
  else if (mode == "bilinear") p.mode = cpu::Interp::bilinear;
  else if (mode == "bicubic") p.mode = cpu::Interp::bicubic;
  else throw py::value_error("upsample2d kernel: mode must be 'nearest', 'bilinear' or 'bicubic'");
  if (align_corners && p.mode == cpu::Interp::nearest)
    throw py::value_error("upsample2d kernel: align_corners needs bilinear or bicubic");
  if (!(scale_h >= 0) || !(scale_w >= 0)) throw py::value_error("upsample2d kernel: scales must be >= 0");
  p.align_corners = align_corners, p.scale_h = scale_h, p.scale_w = scale_w;
  return p;
}

// upsample2d_fwd(out, x, mode, align_corners, scale_h, scale_w): scale 0 = derived from the sizes
void upsample2d_fwd(py::array y, py::array x, const std::string& mode, bool align_corners, double scale_h,
                    double scale_w) {
  const Dtype d = same_float_dtype({{&y, "out"}, {&x, "x"}});
  const cpu::Resample2dParams p = make_params(x, y, mode, align_corners, scale_h, scale_w);
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* yp = out<T>(y, "out").p;
    py::gil_scoped_release nogil;
    cpu::upsample2d_fwd<T>(yp, static_cast<const T*>(x.data()), p);
  });
}

// upsample2d_bwd(dx, dout, mode, align_corners, scale_h, scale_w)
void upsample2d_bwd(py::array dx, py::array dout, const std::string& mode, bool align_corners, double scale_h,
                    double scale_w) {
  const Dtype d = same_float_dtype({{&dx, "dx"}, {&dout, "dout"}});
  const cpu::Resample2dParams p = make_params(dx, dout, mode, align_corners, scale_h, scale_w);
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* dxp = out<T>(dx, "dx").p;
    py::gil_scoped_release nogil;
    cpu::upsample2d_bwd<T>(dxp, static_cast<const T*>(dout.data()), p);
  });
}

}  // namespace

void bind_resample(py::module_& m) {
  m.def("upsample2d_fwd", &upsample2d_fwd, py::arg("out"), py::arg("x"), py::arg("mode"), py::arg("align_corners"),
        py::arg("scale_h"), py::arg("scale_w"));
  m.def("upsample2d_bwd", &upsample2d_bwd, py::arg("dx"), py::arg("dout"), py::arg("mode"),
        py::arg("align_corners"), py::arg("scale_h"), py::arg("scale_w"));
}

}  // namespace fastdl::bind
