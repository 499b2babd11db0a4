// CUDA runtime queries and the first kernel: what _cuda offers so far.
// Host-side functions; every one returns an error code instead of throwing
// (no driver, no device are ordinary states here, not errors).
#pragma once

#include <cstdint>
#include <string>

namespace fastdl::cuda {

// Number of usable devices; 0 when there is no driver or no GPU.
int device_count();

// "name (sm_XY, N MiB)" of device i, or the CUDA error string.
std::string device_description(int i);

// CUDA runtime version compiled in, e.g. 13000.
int runtime_version();

// y[i] = alpha * x[i] + y[i] for i < n on the current device and the given
// stream; x, y device pointers (float32 or float64). Returns a cudaError_t.
int axpy_f32(std::int64_t n, float alpha, std::uintptr_t x, std::uintptr_t y, std::uintptr_t stream);
int axpy_f64(std::int64_t n, double alpha, std::uintptr_t x, std::uintptr_t y, std::uintptr_t stream);

const char* error_string(int err);

}  // namespace fastdl::cuda
