// Test hook of csrc/cpu/vmath.h: one function of one ISA on a whole array.
#include "../cpu/vmath.h"

#include "arrays.h"

namespace fastdl::bind {

namespace {

cpu::Vfn vfn_arg(const std::string& name) {
  static const std::pair<const char*, cpu::Vfn> names[] = {
      {"exp", cpu::Vfn::exp}, {"tanh", cpu::Vfn::tanh}, {"sigmoid", cpu::Vfn::sigmoid},
      {"erf", cpu::Vfn::erf}, {"log", cpu::Vfn::log},   {"log1p", cpu::Vfn::log1p}};
  for (const auto& [n, f] : names)
    if (name == n) return f;
  throw py::value_error("_vmath: unknown function '" + name + "'");
}

}  // namespace

void bind_vmath(py::module_& m) {
  // _vmath(name, isa, y, x): y = name(x) with that ISA's vmath variant; x, y
  // contiguous arrays of one float dtype and size (y may be x).
  m.def(
      "_vmath",
      [](const std::string& name, const std::string& isa, py::array y, py::array x) {
        const cpu::Vfn f = vfn_arg(name);
        Isa i;
        if (!isa_from_name(isa.c_str(), &i)) throw py::value_error("_vmath: unknown isa '" + isa + "'");
        if (i > isa_supported()) throw py::value_error("this CPU does not support " + isa);
        const Dtype d = same_float_dtype({{&y, "y"}, {&x, "x"}});
        if (x.size() != y.size() || !(x.flags() & py::array::c_style))
          throw py::value_error("_vmath: x and y need one size, x C-contiguous");
        with_dtype(d, [&](auto t) {
          using T = decltype(t);
          T* yp = out<T>(y, "y").p;
          const T* xp = static_cast<const T*>(x.data());
          const i64 n = x.size();
          py::gil_scoped_release nogil;
          cpu::vmath<T>(i, f, yp, xp, n);
        });
      },
      py::arg("name"), py::arg("isa"), py::arg("y"), py::arg("x"));
}

}  // namespace fastdl::bind
