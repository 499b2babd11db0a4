// Device queries and a grid-stride axpy: the smallest real kernel, so that
// every build compiles CUDA and every GPU run exercises a launch.
#include <cuda_runtime.h>

#include <cstdio>

#include "device.h"

namespace fastdl::cuda {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return n;
}

std::string device_description(int i) {
  cudaDeviceProp p;
  const cudaError_t e = cudaGetDeviceProperties(&p, i);
  if (e != cudaSuccess) return cudaGetErrorString(e);
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s (sm_%d%d, %zu MiB)", p.name, p.major, p.minor,
                static_cast<size_t>(p.totalGlobalMem >> 20));
  return buf;
}

int runtime_version() { return CUDART_VERSION; }

const char* error_string(int err) { return cudaGetErrorString(static_cast<cudaError_t>(err)); }

namespace {

template <typename T>
__global__ void axpy_kernel(std::int64_t n, T alpha, const T* __restrict__ x, T* __restrict__ y) {
  // 64-bit grid-stride loop: correct for n >= 2^31.
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    y[i] = alpha * x[i] + y[i];
}

template <typename T>
int axpy(std::int64_t n, T alpha, std::uintptr_t x, std::uintptr_t y, std::uintptr_t stream) {
  if (n <= 0) return cudaSuccess;  // a zero-sized grid is an invalid launch
  const int block = 256;
  const std::int64_t blocks = (n + block - 1) / block;
  const unsigned grid = static_cast<unsigned>(blocks < 65535 * 8 ? blocks : 65535 * 8);
  axpy_kernel<T><<<grid, block, 0, reinterpret_cast<cudaStream_t>(stream)>>>(
      n, alpha, reinterpret_cast<const T*>(x), reinterpret_cast<T*>(y));
  return cudaGetLastError();
}

}  // namespace

int axpy_f32(std::int64_t n, float alpha, std::uintptr_t x, std::uintptr_t y, std::uintptr_t s) {
  return axpy<float>(n, alpha, x, y, s);
}
int axpy_f64(std::int64_t n, double alpha, std::uintptr_t x, std::uintptr_t y, std::uintptr_t s) {
  return axpy<double>(n, alpha, x, y, s);
}

}  // namespace fastdl::cuda
