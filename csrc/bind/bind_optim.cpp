// Bindings of the optim family (csrc/cpu/optim.h). Each list argument is a
// Python sequence of C-contiguous arrays of one float dtype, element for element
// the sizes of the first list; fastdl/ops/optim.py has checked shapes already.
#include "../cpu/optim.h"

#include "arrays.h"

namespace fastdl::bind {

namespace {

// The arrays of a list as pointers, after the checks; `sizes` is filled by the first list.
template <typename T, typename P>
std::vector<P> pointers(const std::vector<py::array>& arrays, const char* name, Dtype d,
                        std::vector<i64>& sizes, bool writeable) {
  const bool first = sizes.empty() && !arrays.empty();
  if (!first && arrays.size() != sizes.size())
    throw py::value_error(std::string(name) + ": expected " + std::to_string(sizes.size()) +
                          " arrays, got " + std::to_string(arrays.size()));
  std::vector<P> out;
  for (size_t t = 0; t < arrays.size(); ++t) {
    const py::array& a = arrays[t];
    if (float_dtype(a, name) != d) throw py::type_error(std::string(name) + ": mixed dtypes");
    if (!(a.flags() & py::array::c_style))
      throw py::value_error(std::string(name) + ": arrays must be C-contiguous");
    if (writeable && !a.writeable())
      throw py::value_error(std::string(name) + ": arrays are updated in place and must be writeable");
    if (first)
      sizes.push_back(a.size());
    else if (a.size() != sizes[t])
      throw py::value_error(std::string(name) + ": array sizes differ from params'");
    out.push_back(static_cast<P>(const_cast<void*>(a.data())));
  }
  return out;
}

Dtype list_dtype(const std::vector<py::array>& params) {
  if (params.empty()) return Dtype::f32;
  return float_dtype(params[0], "params");
}

using Arrays = std::vector<py::array>;

void sgd_step(Arrays params, Arrays grads, std::optional<Arrays> momentum_buffer, double lr,
              double momentum, double dampening, double weight_decay, bool nesterov, bool init_buffer) {
  const Dtype d = list_dtype(params);
  if (momentum != 0 && !momentum_buffer) throw py::value_error("sgd_step: momentum needs momentum_buffer");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    std::vector<i64> sizes;
    auto p = pointers<T, T*>(params, "params", d, sizes, true);
    auto g = pointers<T, const T*>(grads, "grads", d, sizes, false);
    std::vector<T*> b;
    if (momentum_buffer) b = pointers<T, T*>(*momentum_buffer, "momentum_buffer", d, sizes, true);
    const cpu::SgdParams sp{lr, momentum, dampening, weight_decay, nesterov, init_buffer};
    const cpu::TensorList list{static_cast<i64>(sizes.size()), sizes.data()};
    py::gil_scoped_release nogil;
    cpu::sgd_step<T>(p.data(), b.empty() ? nullptr : b.data(), g.data(), list, sp);
  });
}

void rmsprop_step(Arrays params, Arrays grads, Arrays square_avg, double lr, double alpha,
                  double eps, double weight_decay) {
  const Dtype d = list_dtype(params);
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    std::vector<i64> sizes;
    auto p = pointers<T, T*>(params, "params", d, sizes, true);
    auto g = pointers<T, const T*>(grads, "grads", d, sizes, false);
    auto s = pointers<T, T*>(square_avg, "square_avg", d, sizes, true);
    const cpu::RmspropParams rp{lr, alpha, eps, weight_decay};
    const cpu::TensorList list{static_cast<i64>(sizes.size()), sizes.data()};
    py::gil_scoped_release nogil;
    cpu::rmsprop_step<T>(p.data(), s.data(), g.data(), list, rp);
  });
}

void adam_step(Arrays params, Arrays grads, Arrays exp_avg, Arrays exp_avg_sq, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled,
               double step_size, double bc2_sqrt) {
  const Dtype d = list_dtype(params);
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    std::vector<i64> sizes;
    auto p = pointers<T, T*>(params, "params", d, sizes, true);
    auto g = pointers<T, const T*>(grads, "grads", d, sizes, false);
    auto m = pointers<T, T*>(exp_avg, "exp_avg", d, sizes, true);
    auto v = pointers<T, T*>(exp_avg_sq, "exp_avg_sq", d, sizes, true);
    const cpu::AdamParams ap{lr, beta1, beta2, eps, weight_decay, decoupled, step_size, bc2_sqrt};
    const cpu::TensorList list{static_cast<i64>(sizes.size()), sizes.data()};
    py::gil_scoped_release nogil;
    cpu::adam_step<T>(p.data(), m.data(), v.data(), g.data(), list, ap);
  });
}

double sum_squares(Arrays x) {
  const Dtype d = list_dtype(x);
  return with_dtype(d, [&](auto t) {
    using T = decltype(t);
    std::vector<i64> sizes;
    auto p = pointers<T, const T*>(x, "grads", d, sizes, false);
    const cpu::TensorList list{static_cast<i64>(sizes.size()), sizes.data()};
    py::gil_scoped_release nogil;
    return cpu::sum_squares<T>(p.data(), list);
  });
}

void scale_inplace(Arrays x, double scale) {
  const Dtype d = list_dtype(x);
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    std::vector<i64> sizes;
    auto p = pointers<T, T*>(x, "grads", d, sizes, true);
    const cpu::TensorList list{static_cast<i64>(sizes.size()), sizes.data()};
    py::gil_scoped_release nogil;
    cpu::scale_inplace<T>(p.data(), list, T(scale));
  });
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def("sgd_step", &sgd_step, py::arg("params"), py::arg("grads"), py::arg("momentum_buffer"),
        py::arg("lr"), py::arg("momentum"), py::arg("dampening"), py::arg("weight_decay"),
        py::arg("nesterov"), py::arg("init_buffer"));
  m.def("rmsprop_step", &rmsprop_step, py::arg("params"), py::arg("grads"), py::arg("square_avg"),
        py::arg("lr"), py::arg("alpha"), py::arg("eps"), py::arg("weight_decay"));
  m.def("adam_step", &adam_step, py::arg("params"), py::arg("grads"), py::arg("exp_avg"),
        py::arg("exp_avg_sq"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"),
        py::arg("weight_decay"), py::arg("decoupled"), py::arg("step_size"), py::arg("bc2_sqrt"));
  m.def("sum_squares", &sum_squares, py::arg("x"));
  m.def("scale_inplace", &scale_inplace, py::arg("x"), py::arg("scale"));
}

}  // namespace fastdl::bind
