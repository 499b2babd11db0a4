// Bindings of the loss family (csrc/cpu/loss.h). Python (fastdl/ops/loss.py)
// validates shapes, converts labels to int64 and turns the returned counts of
// out-of-domain values into ValueErrors; these checks keep direct calls safe.
#include "../cpu/loss.h"

#include "arrays.h"

namespace fastdl::bind {

namespace {

void expect_contiguous(const py::array& a, const char* name) {
  if (!(a.flags() & py::array::c_style)) throw py::value_error(std::string(name) + ": must be C-contiguous");
}

void expect_size(const py::array& a, const char* name, i64 n) {
  if (a.size() != n)
    throw py::value_error(std::string(name) + ": expected " + std::to_string(n) + " elements, got " +
                          std::to_string(a.size()));
}

const std::int64_t* labels_arg(const py::array& labels, i64 n) {
  if (labels.dtype().kind() != 'i' || labels.itemsize() != 8) throw py::type_error("labels: expected int64");
  expect_contiguous(labels, "labels"), expect_size(labels, "labels", n);
  return static_cast<const std::int64_t*>(labels.data());
}

cpu::Loss loss_arg(int kind) {
  if (kind < 0 || kind >= cpu::kLossCount) throw py::value_error("loss: unknown kind " + std::to_string(kind));
  return static_cast<cpu::Loss>(kind);
}

// pointwise_loss_fwd(kind, loss, a, b) -> (sum, bad): per-element values into
// loss (or None), a and b of one size.
py::tuple pointwise_loss_fwd(int kind, std::optional<py::array> loss, py::array a, py::array b) {
  const Dtype d = same_float_dtype({{&a, "a"}, {&b, "b"}, {loss ? &*loss : nullptr, "loss"}});
  const cpu::Loss k = loss_arg(kind);
  const i64 n = a.size();
  expect_contiguous(a, "a"), expect_contiguous(b, "b"), expect_size(b, "b", n);
  if (loss) expect_contiguous(*loss, "loss"), expect_size(*loss, "loss", n);
  double sum = 0;
  i64 bad = 0;
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* lp = loss ? out<T>(*loss, "loss").p : nullptr;
    const T *ap = static_cast<const T*>(a.data()), *bp = static_cast<const T*>(b.data());
    py::gil_scoped_release nogil;
    sum = cpu::pointwise_loss_fwd<T>(lp, ap, bp, n, k, &bad);
  });
  return py::make_tuple(sum, bad);
}

// pointwise_loss_bwd(kind, da, db, a, b, dout, scale): db and dout may be None.
void pointwise_loss_bwd(int kind, py::array da, std::optional<py::array> db, py::array a, py::array b,
                        std::optional<py::array> dout, double scale) {
  const Dtype d = same_float_dtype({{&a, "a"}, {&b, "b"}, {&da, "da"}, {db ? &*db : nullptr, "db"},
                                    {dout ? &*dout : nullptr, "dout"}});
  const cpu::Loss k = loss_arg(kind);
  const i64 n = a.size();
  expect_contiguous(a, "a"), expect_contiguous(b, "b"), expect_size(b, "b", n);
  expect_contiguous(da, "da"), expect_size(da, "da", n);
  if (db) expect_contiguous(*db, "db"), expect_size(*db, "db", n);
  if (dout) expect_contiguous(*dout, "dout"), expect_size(*dout, "dout", n);
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* dap = out<T>(da, "da").p;
    T* dbp = db ? out<T>(*db, "db").p : nullptr;
    const T *ap = static_cast<const T*>(a.data()), *bp = static_cast<const T*>(b.data());
    const T* gp = dout ? static_cast<const T*>(dout->data()) : nullptr;
    py::gil_scoped_release nogil;
    cpu::pointwise_loss_bwd<T>(dap, dbp, ap, bp, gp, T(scale), n, k);
  });
}

// x (n, c, s) contiguous; loss-like arrays (n, s) -> n * s elements.
void check_logits(const py::array& x) {
  expect_ndim(x, "x", 3);
  expect_contiguous(x, "x");
}

// cross_entropy_fwd(loss, lse, x, labels, ignore_index) -> (sum, count, bad):
// x (n, c, s); labels int64, loss, lse: n * s elements.
py::tuple cross_entropy_fwd(py::array loss, py::array lse, py::array x, py::array labels, std::int64_t ignore) {
  const Dtype d = same_float_dtype({{&x, "x"}, {&loss, "loss"}, {&lse, "lse"}});
  check_logits(x);
  const i64 n = x.shape(0), c = x.shape(1), s = x.shape(2);
  const std::int64_t* lp = labels_arg(labels, n * s);
  expect_contiguous(loss, "loss"), expect_size(loss, "loss", n * s);
  expect_contiguous(lse, "lse"), expect_size(lse, "lse", n * s);
  double sum = 0;
  i64 count = 0, bad = 0;
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T *outp = out<T>(loss, "loss").p, *lsep = out<T>(lse, "lse").p;
    const T* xp = static_cast<const T*>(x.data());
    py::gil_scoped_release nogil;
    sum = cpu::cross_entropy_fwd<T>(outp, lsep, xp, lp, n, c, s, ignore, &count, &bad);
  });
  return py::make_tuple(sum, count, bad);
}

// cross_entropy_bwd(dx, x, lse, labels, dout, scale, ignore_index): dout (n * s) or None.
void cross_entropy_bwd(py::array dx, py::array x, py::array lse, py::array labels, std::optional<py::array> dout,
                       double scale, std::int64_t ignore) {
  const Dtype d = same_float_dtype({{&x, "x"}, {&dx, "dx"}, {&lse, "lse"}, {dout ? &*dout : nullptr, "dout"}});
  check_logits(x);
  const i64 n = x.shape(0), c = x.shape(1), s = x.shape(2);
  const std::int64_t* lp = labels_arg(labels, n * s);
  // Labels were checked by the forward pass; check again, cheaply, so that no
  // call can index outside a row.
  for (i64 i = 0; i < n * s; ++i)
    if (lp[i] != ignore && (lp[i] < 0 || lp[i] >= c)) throw py::value_error("labels: value out of range [0, c)");
  expect_contiguous(dx, "dx"), expect_size(dx, "dx", n * c * s);
  expect_contiguous(lse, "lse"), expect_size(lse, "lse", n * s);
  if (dout) expect_contiguous(*dout, "dout"), expect_size(*dout, "dout", n * s);
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* dxp = out<T>(dx, "dx").p;
    const T *xp = static_cast<const T*>(x.data()), *lsep = static_cast<const T*>(lse.data());
    const T* gp = dout ? static_cast<const T*>(dout->data()) : nullptr;
    py::gil_scoped_release nogil;
    cpu::cross_entropy_bwd<T>(dxp, xp, lsep, lp, gp, T(scale), n, c, s, ignore);
  });
}

// hinge_fwd(loss, x, labels, margin) -> (sum, bad): x (n, c), labels int64 (n,), loss (n,).
py::tuple hinge_fwd(py::array loss, py::array x, py::array labels, double margin) {
  const Dtype d = same_float_dtype({{&x, "x"}, {&loss, "loss"}});
  expect_ndim(x, "x", 2), expect_contiguous(x, "x");
  const i64 n = x.shape(0), c = x.shape(1);
  const std::int64_t* lp = labels_arg(labels, n);
  expect_contiguous(loss, "loss"), expect_size(loss, "loss", n);
  double sum = 0;
  i64 bad = 0;
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* outp = out<T>(loss, "loss").p;
    const T* xp = static_cast<const T*>(x.data());
    py::gil_scoped_release nogil;
    sum = cpu::hinge_fwd<T>(outp, xp, lp, n, c, T(margin), &bad);
  });
  return py::make_tuple(sum, bad);
}

// hinge_bwd(dx, x, labels, dout, scale, margin): dout (n,) or None.
void hinge_bwd(py::array dx, py::array x, py::array labels, std::optional<py::array> dout, double scale,
               double margin) {
  const Dtype d = same_float_dtype({{&x, "x"}, {&dx, "dx"}, {dout ? &*dout : nullptr, "dout"}});
  expect_ndim(x, "x", 2), expect_contiguous(x, "x");
  const i64 n = x.shape(0), c = x.shape(1);
  const std::int64_t* lp = labels_arg(labels, n);
  for (i64 i = 0; i < n; ++i)
    if (lp[i] < 0 || lp[i] >= c) throw py::value_error("labels: value out of range [0, c)");
  expect_contiguous(dx, "dx"), expect_size(dx, "dx", n * c);
  if (dout) expect_contiguous(*dout, "dout"), expect_size(*dout, "dout", n);
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    T* dxp = out<T>(dx, "dx").p;
    const T* xp = static_cast<const T*>(x.data());
    const T* gp = dout ? static_cast<const T*>(dout->data()) : nullptr;
    py::gil_scoped_release nogil;
    cpu::hinge_bwd<T>(dxp, xp, lp, gp, T(scale), n, c, T(margin));
  });
}

}  // namespace

void bind_loss(py::module_& m) {
  m.def("pointwise_loss_fwd", &pointwise_loss_fwd, py::arg("kind"), py::arg("loss"), py::arg("a"), py::arg("b"));
  m.def("pointwise_loss_bwd", &pointwise_loss_bwd, py::arg("kind"), py::arg("da"), py::arg("db"), py::arg("a"),
        py::arg("b"), py::arg("dout"), py::arg("scale"));
  m.def("cross_entropy_fwd", &cross_entropy_fwd, py::arg("loss"), py::arg("lse"), py::arg("x"), py::arg("labels"),
        py::arg("ignore_index"));
  m.def("cross_entropy_bwd", &cross_entropy_bwd, py::arg("dx"), py::arg("x"), py::arg("lse"), py::arg("labels"),
        py::arg("dout"), py::arg("scale"), py::arg("ignore_index"));
  m.def("hinge_fwd", &hinge_fwd, py::arg("loss"), py::arg("x"), py::arg("labels"), py::arg("margin"));
  m.def("hinge_bwd", &hinge_bwd, py::arg("dx"), py::arg("x"), py::arg("labels"), py::arg("dout"), py::arg("scale"),
        py::arg("margin"));
}

}  // namespace fastdl::bind
