// Process-level knobs and test hooks: ISA, threads, GEMM engine access.
#include <omp.h>

#include "../core/isa.h"
#include "../core/parallel.h"
#include "../core/peak.h"
#include "../core/pool.h"
#include "../core/scratch.h"
#include "../cpu/gemm/gemm.h"
#include "arrays.h"

namespace fastdl::bind {

namespace {

Isa isa_arg(const std::string& name) {
  Isa isa;
  if (!isa_from_name(name.c_str(), &isa))
    throw py::value_error("isa must be 'generic', 'avx2' or 'avx512', got '" + name + "'");
  return isa;
}

template <typename T>
const char* kernel_name(Isa isa) {
  return cpu::gemm_kernel<T>(isa).name;
}

}  // namespace

void bind_core(py::module_& m) {
  m.def("isa", [] { return std::string(isa_name(isa_active())); }, "ISA in use");
  m.def("isa_supported", [] { return std::string(isa_name(isa_supported())); },
        "best ISA this CPU supports");
  m.def("_set_isa", [](const std::string& name) { isa_force(isa_arg(name)); },
        "tests only: switch the ISA in use for the whole process");
  m.def("num_threads", &num_threads);
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("gemm_kernel_name", [](const std::string& dtype, const std::string& isa) {
    const Isa i = isa_arg(isa);
    return std::string(dtype == "float32" ? kernel_name<float>(i) : kernel_name<double>(i));
  });
  m.def(
      "_gemm_tune",
      [](const std::string& dtype, const std::string& isa, i64 mc, i64 kc, i64 nc, i64 small_mnk,
         i64 serial_mnk) {
        const Isa i = isa_arg(isa);
        if (dtype == "float32") cpu::gemm_tune<float>(i, mc, kc, nc, small_mnk, serial_mnk);
        else cpu::gemm_tune<double>(i, mc, kc, nc, small_mnk, serial_mnk);
      },
      "tuning scripts only: set a kernel table row's mc, kc, nc, small_mnk, serial_mnk");
  m.def("_gemm_blocking", [](const std::string& dtype, const std::string& isa) {
    const Isa i = isa_arg(isa);
    auto row = [](const auto& g) { return py::make_tuple(g.mr, g.nr, g.mc, g.kc, g.nc, g.small_mnk, g.serial_mnk); };
    return dtype == "float32" ? row(cpu::gemm_kernel<float>(i)) : row(cpu::gemm_kernel<double>(i));
  }, "(mr, nr, mc, kc, nc, small_mnk, serial_mnk) of a kernel table row");
  m.def(
      "peak_gflops",
      [](const std::string& dtype, double seconds) {
        py::gil_scoped_release nogil;
        return peak_gflops_per_thread(dtype == "float64", seconds);
      },
      py::arg("dtype"), py::arg("seconds") = 0.05,
      "measured FMA throughput of one thread with the active ISA, GFLOP/s");

  // pool_empty(shape, dtype): an uninitialised C-contiguous array whose memory
  // comes from the block cache (core/pool.h) and returns to it when the array
  // dies. For large outputs; fastdl._alloc decides when.
  m.def(
      "pool_empty",
      [](const std::vector<i64>& shape, py::dtype dtype) {
        i64 n = 1;
        for (i64 s : shape) {
          if (s < 0) throw py::value_error("negative dimension");
          n = checked_mul(n, s);
        }
        const i64 bytes = checked_mul(n, static_cast<i64>(dtype.itemsize()));
        struct Owned {
          void* p;
          std::size_t cls;
        };
        auto* owned = new Owned{nullptr, 0};
        try {
          owned->p = pool_alloc(static_cast<std::size_t>(bytes > 0 ? bytes : 1), &owned->cls);
        } catch (...) {
          delete owned;
          throw;
        }
        py::capsule base(owned, [](void* q) {
          auto* o = static_cast<Owned*>(q);
          pool_free(o->p, o->cls);
          delete o;
        });
        std::vector<py::ssize_t> dims(shape.begin(), shape.end());
        return py::array(dtype, dims, {}, owned->p, base);
      },
      py::arg("shape"), py::arg("dtype"));
  m.def("pool_set_limit", [](std::size_t bytes) { pool_set_limit(bytes); }, py::arg("bytes"));
  m.def("pool_stats", [] {
    const PoolStats s = pool_stats();
    py::dict d;
    d["cached_bytes"] = s.cached_bytes, d["cached_blocks"] = s.cached_blocks, d["limit"] = s.limit;
    d["hits"] = s.hits, d["misses"] = s.misses;
    return d;
  });

  // Size-arithmetic hooks for tests (64-bit, overflow-checked).
  m.def("_numel", [](const std::vector<i64>& shape) {
    i64 n = 1;
    for (i64 s : shape) {
      if (s < 0) throw py::value_error("negative dimension");
      n = checked_mul(n, s);
    }
    return n;
  });
  m.def("_gemm_workspace", [](const std::string& dtype, i64 m, i64 n, i64 k, int threads) {
    return dtype == "float32" ? cpu::gemm_workspace<float>(m, n, k, threads)
                              : cpu::gemm_workspace<double>(m, n, k, threads);
  });
  m.def("_scratch_probe", [](i64 count, i64 itemsize) {
    // Asks this thread's scratch for count * itemsize bytes (slot 0):
    // OverflowError when the size overflows, MemoryError when it cannot be had.
    scratch_bytes(checked_mul(count, itemsize), 0);
  });

  // gemm(c, a, b, alpha, beta): c = alpha * a @ b + beta * c on 2-D arrays of any
  // strides (c writeable, not overlapping a or b). The engine itself, for tests
  // and benchmarks.
  m.def(
      "gemm",
      [](py::array c, py::array a, py::array b, double alpha, double beta) {
        const Dtype d = same_float_dtype({{&c, "c"}, {&a, "a"}, {&b, "b"}});
        expect_ndim(a, "a", 2), expect_ndim(b, "b", 2), expect_ndim(c, "c", 2);
        if (a.shape(1) != b.shape(0) || c.shape(0) != a.shape(0) || c.shape(1) != b.shape(1))
          throw py::value_error("gemm: shapes do not chain");
        with_dtype(d, [&](auto t) {
          using T = decltype(t);
          auto cv = out<T>(c, "c", false);
          auto av = in<T>(a), bv = in<T>(b);
          py::gil_scoped_release nogil;
          cpu::gemm<T>(av.shape[0], bv.shape[1], av.shape[1], T(alpha),
                       {av.p, av.stride[0], av.stride[1]}, {bv.p, bv.stride[0], bv.stride[1]},
                       T(beta), {cv.p, cv.stride[0], cv.stride[1]});
        });
      },
      py::arg("c"), py::arg("a"), py::arg("b"), py::arg("alpha") = 1.0, py::arg("beta") = 0.0);

  // c = alpha * a @ b[:, col0 : col0 + n] + beta * c through gemm_pack_b (all of b)
  // and gemm_packed_b from panel col0 / nr: the pre-packed path's test hook.
  m.def(
      "_gemm_packed_b",
      [](py::array c, py::array a, py::array b, double alpha, double beta, py::ssize_t col0) {
        const Dtype d = same_float_dtype({{&c, "c"}, {&a, "a"}, {&b, "b"}});
        expect_ndim(a, "a", 2), expect_ndim(b, "b", 2), expect_ndim(c, "c", 2);
        if (a.shape(1) != b.shape(0) || c.shape(0) != a.shape(0) || col0 < 0 ||
            col0 + c.shape(1) > b.shape(1))
          throw py::value_error("_gemm_packed_b: shapes do not chain");
        with_dtype(d, [&](auto t) {
          using T = decltype(t);
          if (col0 % cpu::gemm_kernel<T>(isa_active()).nr)
            throw py::value_error("_gemm_packed_b: col0 must be a multiple of nr");
          auto cv = out<T>(c, "c", false);
          auto av = in<T>(a), bv = in<T>(b);
          const i64 k = av.shape[1], nb = bv.shape[1];
          std::vector<T> packed(cpu::gemm_packed_b_size<T>(k, nb));
          py::gil_scoped_release nogil;
          cpu::gemm_pack_b<T>(k, nb, {bv.p, bv.stride[0], bv.stride[1]}, packed.data());
          cpu::gemm_packed_b<T>(cv.shape[0], cv.shape[1], k, T(alpha), {av.p, av.stride[0], av.stride[1]},
                                packed.data() + col0 * k, T(beta), {cv.p, cv.stride[0], cv.stride[1]});
        });
      },
      py::arg("c"), py::arg("a"), py::arg("b"), py::arg("alpha") = 1.0, py::arg("beta") = 0.0,
      py::arg("col0") = 0);

  // One micro-kernel call of a given ISA: _ukernel(isa, c, a, b, m, n, k, alpha,
  // beta, rsa, csa, rsb, rsc, csc), strides in elements (gemm.h's contract):
  // the micro-kernel tests' hook. Returns (mr, nr).
  m.def(
      "_ukernel",
      [](const std::string& isa, py::array c, py::array a, py::array b, py::ssize_t m_, py::ssize_t n_,
         py::ssize_t k_, double alpha, double beta, py::ssize_t rsa, py::ssize_t csa,
         py::ssize_t rsb, py::ssize_t rsc, py::ssize_t csc) {
        const Isa i = isa_arg(isa);
        if (i > isa_supported()) throw py::value_error("this CPU does not support " + isa);
        const Dtype d = same_float_dtype({{&c, "c"}, {&a, "a"}, {&b, "b"}});
        return with_dtype(d, [&](auto t) {
          using T = decltype(t);
          const auto& g = cpu::gemm_kernel<T>(i);
          const i64 m = m_, n = n_, k = k_;
          if (m < 1 || m > g.mr || n < 1 || n > g.nr || k < 0)
            throw py::value_error("_ukernel: need 1 <= m <= mr, 1 <= n <= nr, k >= 0");
          // Bounds: the largest offset each operand is read or written at.
          auto need = [](i64 rows, i64 cols, i64 rs, i64 cs) { return (rows - 1) * rs + (cols - 1) * cs + 1; };
          // A is read at a[i*rsa + p*csa] for rows i < m.
          if (rsa < 1 || csa < 1 || need(m, k > 0 ? k : 1, rsa, csa) > a.size() ||
              need(k > 0 ? k : 1, n, rsb, 1) > b.size() || need(m, n, rsc, csc) > c.size() ||
              rsb < 0 || rsc < 0 || csc < 0)
            throw py::value_error("_ukernel: strides reach outside the arrays");
          if (!(a.flags() & py::array::c_style) || !(b.flags() & py::array::c_style))
            throw py::value_error("_ukernel: a and b must be C-contiguous buffers");
          auto cv = out<T>(c, "c");
          g.ukernel(m, n, k, T(alpha), static_cast<const T*>(a.data()), rsa, csa,
                    static_cast<const T*>(b.data()), rsb, T(beta), cv.p, rsc, csc);
          return py::make_tuple(g.mr, g.nr);
        });
      });
}

}  // namespace fastdl::bind
