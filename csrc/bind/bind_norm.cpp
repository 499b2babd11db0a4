// Bindings of the norm family (csrc/cpu/norm.h). Every array is C-contiguous;
// fastdl/ops/norm.py has validated shapes and made inputs contiguous.
#include "../cpu/norm.h"

#include "arrays.h"

namespace fastdl::bind {

namespace {

using OptArray = std::optional<py::array>;

// A C-contiguous array of `size` elements of dtype T (checked), as a pointer; null for None.
template <typename T>
const T* in_ptr(const OptArray& a, const char* name, i64 size) {
  if (!a) return nullptr;
  if (!(a->flags() & py::array::c_style))
    throw py::value_error(std::string(name) + ": must be C-contiguous");
  if (a->size() != size)
    throw py::value_error(std::string(name) + ": expected " + std::to_string(size) +
                          " elements, got " + std::to_string(a->size()));
  return static_cast<const T*>(a->data());
}

template <typename T>
T* out_ptr(OptArray& a, const char* name, i64 size) {
  if (!a) return nullptr;
  auto v = out<T>(*a, name);
  if (a->size() != size)
    throw py::value_error(std::string(name) + ": expected " + std::to_string(size) +
                          " elements, got " + std::to_string(a->size()));
  return v.p;
}

Dtype dtype_of(std::initializer_list<std::pair<const OptArray*, const char*>> arrays) {
  std::vector<std::pair<const py::array*, const char*>> list;
  const py::array* first = nullptr;
  const char* first_name = nullptr;
  for (const auto& [a, name] : arrays) {
    if (!*a) continue;
    if (!first) first = &**a, first_name = name;
    list.push_back({&**a, name});
  }
  const Dtype d = float_dtype(*first, first_name);
  for (const auto& [a, name] : list)
    if (float_dtype(*a, name) != d)
      throw py::type_error(std::string(name) + ": dtype differs from " + first_name + "'s");
  return d;
}

// row_norm_fwd(y, mean, rstd, x, gamma, beta, groups, cg, s, eps): x, y (rows, cg * s) as any
// shape with rows * cg * s elements; mean, rstd (rows,).
void row_norm_fwd(py::array y, py::array mean, py::array rstd, py::array x, OptArray gamma,
                  OptArray beta, i64 groups, i64 cg, i64 s, double eps) {
  OptArray oy(y), om(mean), ors(rstd), ox(x);
  const Dtype d = dtype_of({{&oy, "y"}, {&om, "mean"}, {&ors, "rstd"}, {&ox, "x"}, {&gamma, "gamma"},
                            {&beta, "beta"}});
  if (groups < 1 || cg < 0 || s < 0) throw py::value_error("row_norm_fwd: bad groups/cg/s");
  const i64 L = cg * s, rows = L > 0 ? x.size() / L : mean.size();
  if (rows * L != x.size() || (rows % groups) != 0)
    throw py::value_error("row_norm_fwd: x size is not rows * cg * s with rows a multiple of groups");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    cpu::RowNormParams p{rows, groups, cg, s, eps};
    T* yp = out_ptr<T>(oy, "y", x.size());
    T* mp = out_ptr<T>(om, "mean", rows);
    T* rp = out_ptr<T>(ors, "rstd", rows);
    const T* xp = in_ptr<T>(ox, "x", x.size());
    const T* gp = in_ptr<T>(gamma, "gamma", groups * cg);
    const T* bp = in_ptr<T>(beta, "beta", groups * cg);
    py::gil_scoped_release nogil;
    cpu::row_norm_fwd<T>(yp, mp, rp, xp, gp, bp, p);
  });
}

// row_norm_bwd(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, groups, cg, s)
void row_norm_bwd(py::array dx, OptArray dgamma, OptArray dbeta, py::array dy, py::array x,
                  py::array mean, py::array rstd, OptArray gamma, i64 groups, i64 cg, i64 s) {
  OptArray odx(dx), ody(dy), ox(x), om(mean), ors(rstd);
  const Dtype d = dtype_of({{&odx, "dx"}, {&dgamma, "dgamma"}, {&dbeta, "dbeta"}, {&ody, "dy"},
                            {&ox, "x"}, {&om, "mean"}, {&ors, "rstd"}, {&gamma, "gamma"}});
  if (groups < 1 || cg < 0 || s < 0) throw py::value_error("row_norm_bwd: bad groups/cg/s");
  const i64 L = cg * s, rows = mean.size();
  if (rows * L != x.size() || (rows % groups) != 0)
    throw py::value_error("row_norm_bwd: x size is not rows * cg * s with rows a multiple of groups");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    cpu::RowNormParams p{rows, groups, cg, s, 0.0};
    T* dxp = out_ptr<T>(odx, "dx", x.size());
    T* dgp = out_ptr<T>(dgamma, "dgamma", groups * cg);
    T* dbp = out_ptr<T>(dbeta, "dbeta", groups * cg);
    const T* dyp = in_ptr<T>(ody, "dy", x.size());
    const T* xp = in_ptr<T>(ox, "x", x.size());
    const T* mp = in_ptr<T>(om, "mean", rows);
    const T* rp = in_ptr<T>(ors, "rstd", rows);
    const T* gp = in_ptr<T>(gamma, "gamma", groups * cg);
    py::gil_scoped_release nogil;
    cpu::row_norm_bwd<T>(dxp, dgp, dbp, dyp, xp, mp, rp, gp, p);
  });
}

// x as (n, c, s): n = shape[0], c = shape[1] (1 if 1-D), s = the rest.
cpu::BatchNormParams bn_params(const py::array& x, bool training, double momentum, double eps) {
  if (x.ndim() < 2) throw py::value_error("batch_norm: x needs at least 2 dims");
  i64 s = 1;
  for (py::ssize_t d = 2; d < x.ndim(); ++d) s *= x.shape(d);
  return {static_cast<i64>(x.shape(0)), static_cast<i64>(x.shape(1)), s, training, momentum, eps};
}

// batch_norm_fwd(y, mean, rstd, running_mean, running_var, x, gamma, beta, training, momentum, eps)
void batch_norm_fwd(py::array y, py::array mean, py::array rstd, OptArray running_mean,
                    OptArray running_var, py::array x, OptArray gamma, OptArray beta, bool training,
                    double momentum, double eps) {
  OptArray oy(y), om(mean), ors(rstd), ox(x);
  const Dtype d = dtype_of({{&oy, "y"}, {&om, "mean"}, {&ors, "rstd"}, {&running_mean, "running_mean"},
                            {&running_var, "running_var"}, {&ox, "x"}, {&gamma, "gamma"}, {&beta, "beta"}});
  const cpu::BatchNormParams p = bn_params(x, training, momentum, eps);
  if (bool(running_mean) != bool(running_var))
    throw py::value_error("batch_norm_fwd: running_mean and running_var go together");
  if (!training && !running_mean) throw py::value_error("batch_norm_fwd: evaluation needs running stats");
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* yp = out_ptr<T>(oy, "y", x.size());
    T* mp = out_ptr<T>(om, "mean", p.c);
    T* rp = out_ptr<T>(ors, "rstd", p.c);
    // Training updates the running stats in place; evaluation only reads them
    // (so read-only arrays are fine there).
    T* rmp = training ? out_ptr<T>(running_mean, "running_mean", p.c)
                      : const_cast<T*>(in_ptr<T>(running_mean, "running_mean", p.c));
    T* rvp = training ? out_ptr<T>(running_var, "running_var", p.c)
                      : const_cast<T*>(in_ptr<T>(running_var, "running_var", p.c));
    const T* xp = in_ptr<T>(ox, "x", x.size());
    const T* gp = in_ptr<T>(gamma, "gamma", p.c);
    const T* bp = in_ptr<T>(beta, "beta", p.c);
    py::gil_scoped_release nogil;
    cpu::batch_norm_fwd<T>(yp, mp, rp, rmp, rvp, xp, gp, bp, p);
  });
}

// batch_norm_bwd(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, training)
void batch_norm_bwd(py::array dx, OptArray dgamma, OptArray dbeta, py::array dy, py::array x,
                    py::array mean, py::array rstd, OptArray gamma, bool training) {
  OptArray odx(dx), ody(dy), ox(x), om(mean), ors(rstd);
  const Dtype d = dtype_of({{&odx, "dx"}, {&dgamma, "dgamma"}, {&dbeta, "dbeta"}, {&ody, "dy"},
                            {&ox, "x"}, {&om, "mean"}, {&ors, "rstd"}, {&gamma, "gamma"}});
  const cpu::BatchNormParams p = bn_params(x, training, 0.0, 0.0);
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* dxp = out_ptr<T>(odx, "dx", x.size());
    T* dgp = out_ptr<T>(dgamma, "dgamma", p.c);
    T* dbp = out_ptr<T>(dbeta, "dbeta", p.c);
    const T* dyp = in_ptr<T>(ody, "dy", x.size());
    const T* xp = in_ptr<T>(ox, "x", x.size());
    const T* mp = in_ptr<T>(om, "mean", p.c);
    const T* rp = in_ptr<T>(ors, "rstd", p.c);
    const T* gp = in_ptr<T>(gamma, "gamma", p.c);
    py::gil_scoped_release nogil;
    cpu::batch_norm_bwd<T>(dxp, dgp, dbp, dyp, xp, mp, rp, gp, p);
  });
}

}  // namespace

void bind_norm(py::module_& m) {
  m.def("row_norm_fwd", &row_norm_fwd, py::arg("y"), py::arg("mean"), py::arg("rstd"), py::arg("x"),
        py::arg("gamma"), py::arg("beta"), py::arg("groups"), py::arg("cg"), py::arg("s"), py::arg("eps"));
  m.def("row_norm_bwd", &row_norm_bwd, py::arg("dx"), py::arg("dgamma"), py::arg("dbeta"), py::arg("dy"),
        py::arg("x"), py::arg("mean"), py::arg("rstd"), py::arg("gamma"), py::arg("groups"), py::arg("cg"),
        py::arg("s"));
  m.def("batch_norm_fwd", &batch_norm_fwd, py::arg("y"), py::arg("mean"), py::arg("rstd"),
        py::arg("running_mean"), py::arg("running_var"), py::arg("x"), py::arg("gamma"), py::arg("beta"),
        py::arg("training"), py::arg("momentum"), py::arg("eps"));
  m.def("batch_norm_bwd", &batch_norm_bwd, py::arg("dx"), py::arg("dgamma"), py::arg("dbeta"), py::arg("dy"),
        py::arg("x"), py::arg("mean"), py::arg("rstd"), py::arg("gamma"), py::arg("training"));
}

}  // namespace fastdl::bind
