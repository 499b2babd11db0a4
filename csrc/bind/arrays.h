// Binding helpers: NumPy array -> pointer + shape + element strides.
//
// The binding layer only converts: it checks dtype, writability and layout,
// releases the GIL and calls the entry function. Python (fastdl/ops) has
// already validated shapes and dtypes with friendly messages; these checks
// are the cheap second line that keeps a direct call of _cpu from crashing.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "../core/common.h"

namespace fastdl::bind {

namespace py = pybind11;

enum class Dtype { f32, f64 };

// float32 or float64, else TypeError naming the argument.
inline Dtype float_dtype(const py::array& a, const char* name) {
  const char kind = a.dtype().kind();
  const auto size = a.itemsize();
  if (kind == 'f' && size == 4) return Dtype::f32;
  if (kind == 'f' && size == 8) return Dtype::f64;
  throw py::type_error(std::string(name) + ": expected float32 or float64, got " +
                       std::string(py::str(a.dtype())));
}

// The common float dtype of several arrays, else TypeError.
inline Dtype same_float_dtype(std::initializer_list<std::pair<const py::array*, const char*>> arrays) {
  const auto& first = *arrays.begin();
  const Dtype d = float_dtype(*first.first, first.second);
  for (const auto& [a, name] : arrays)
    if (a && float_dtype(*a, name) != d)
      throw py::type_error(std::string(name) + ": dtype " + std::string(py::str(a->dtype())) +
                           " differs from " + first.second + "'s " +
                           std::string(py::str(first.first->dtype())));
  return d;
}

// Calls f(T{}) with T = float or double.
template <typename F>
decltype(auto) with_dtype(Dtype d, F&& f) {
  if (d == Dtype::f32) return f(float{});
  return f(double{});
}

template <typename T>
struct View {
  T* p;
  std::vector<i64> shape, stride;  // stride in elements, may be 0 or negative
  i64 ndim() const { return static_cast<i64>(shape.size()); }
};

template <typename T>
View<const T> in(const py::array& a) {
  View<const T> v{static_cast<const T*>(a.data()), {}, {}};
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    v.shape.push_back(a.shape(d));
    if (a.strides(d) % static_cast<py::ssize_t>(sizeof(T)))
      throw py::value_error("array strides must be multiples of the item size");
    v.stride.push_back(a.strides(d) / static_cast<py::ssize_t>(sizeof(T)));
  }
  return v;
}

// A writeable output; `contiguous` additionally requires C order.
template <typename T>
View<T> out(py::array& a, const char* name, bool contiguous = true) {
  if (!a.writeable()) throw py::value_error(std::string(name) + ": output array is read-only");
  if (contiguous && !(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + ": output array must be C-contiguous");
  View<const T> v = in<T>(a);
  return View<T>{static_cast<T*>(a.mutable_data()), v.shape, v.stride};
}

inline void expect_ndim(const py::array& a, const char* name, py::ssize_t ndim) {
  if (a.ndim() != ndim)
    throw py::value_error(std::string(name) + ": expected " + std::to_string(ndim) + " dims, got " +
                          std::to_string(a.ndim()));
}

void bind_core(py::module_& m);
void bind_matmul(py::module_& m);
void bind_rnn(py::module_& m);
void bind_attention(py::module_& m);
void bind_vmath(py::module_& m);
void bind_act(py::module_& m);
void bind_softmax(py::module_& m);
void bind_loss(py::module_& m);
void bind_norm(py::module_& m);
void bind_optim(py::module_& m);
void bind_dropout(py::module_& m);
void bind_embed(py::module_& m);
void bind_conv(py::module_& m);
void bind_pool(py::module_& m);
void bind_resample(py::module_& m);

}  // namespace fastdl::bind
