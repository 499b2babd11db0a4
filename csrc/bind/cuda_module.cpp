// fastdl._cuda: CUDA kernels. Imports on machines without a driver or GPU;
// device_count() is then 0 and fastdl reports "cuda: unavailable".
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "../cuda/device.h"

namespace py = pybind11;
namespace fc = fastdl::cuda;

namespace {

void check(int err) {
  if (err != 0) throw std::runtime_error(std::string("CUDA error: ") + fc::error_string(err));
}

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "fastdl CUDA kernels";
  m.def("device_count", &fc::device_count);
  m.def("device_description", &fc::device_description, py::arg("i"));
  m.def("runtime_version", &fc::runtime_version);
  // axpy(n, alpha, x_ptr, y_ptr, dtype, stream=0): raw device pointers (e.g. cupy's a.data.ptr).
  m.def(
      "axpy",
      [](std::int64_t n, double alpha, std::uintptr_t x, std::uintptr_t y, const std::string& dtype,
         std::uintptr_t stream) {
        py::gil_scoped_release nogil;
        if (dtype == "float32") return check(fc::axpy_f32(n, static_cast<float>(alpha), x, y, stream));
        if (dtype == "float64") return check(fc::axpy_f64(n, alpha, x, y, stream));
        throw std::invalid_argument("axpy: dtype must be float32 or float64");
      },
      py::arg("n"), py::arg("alpha"), py::arg("x"), py::arg("y"), py::arg("dtype"),
      py::arg("stream") = 0);
}
