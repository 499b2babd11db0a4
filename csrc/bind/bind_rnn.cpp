// Bindings of the rnn family (csrc/cpu/rnn.h).
//
// rnn_fwd(hs, x, h0, wx, wh, b)
// rnn_bwd(dx, dh0, dwx, dwh, db, dhs, x, h0, wx, wh, hs)
// lstm_fwd(hs, c_out, gates, cs, x, h0, c0, wx, wh, b)
// lstm_bwd(dx, dh0, dc0, dwx, dwh, db, dhs, dhT, dcT, x, h0, c0, wx, wh, hs, gates, cs)
//
// Sizes come from x (T, N, D) and wh (H, G*H); every other array must have
// its shape from rnn.h and be C-contiguous (wx and wh: any strides). None
// passes a null pointer where rnn.h allows one.
#include "../cpu/rnn.h"

#include "arrays.h"

namespace fastdl::bind {

namespace {

using Opt = std::optional<py::array>;

const py::array* ptr(const Opt& a) { return a ? &*a : nullptr; }

std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(a.shape(d));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

// a has exactly `shape` (and C order unless `any_strides`), else ValueError.
void expect(const py::array* a, const char* name, std::vector<i64> shape, bool any_strides = false) {
  if (!a) return;
  bool ok = a->ndim() == static_cast<py::ssize_t>(shape.size());
  for (size_t d = 0; ok && d < shape.size(); ++d) ok = a->shape(d) == shape[d];
  if (!ok) {
    std::string want = "(";
    for (size_t d = 0; d < shape.size(); ++d) want += (d ? ", " : "") + std::to_string(shape[d]);
    throw py::value_error(std::string(name) + ": expected shape " + want +
                          (shape.size() == 1 ? ",)" : ")") + ", got " + shape_str(*a));
  }
  if (!any_strides && !(a->flags() & py::array::c_style))
    throw py::value_error(std::string(name) + ": must be C-contiguous");
}

// Sizes of a G-gate sequence from x and wh, after checking x, wx and wh.
cpu::RnnParams sizes(const py::array& x, const py::array& wx, const py::array& wh, int G) {
  expect_ndim(x, "x", 3), expect_ndim(wh, "wh", 2);
  cpu::RnnParams p{};
  p.T = x.shape(0), p.N = x.shape(1), p.D = x.shape(2), p.H = wh.shape(0);
  if (p.H < 1) throw py::value_error("wh: hidden size must be >= 1");
  expect(&x, "x", {p.T, p.N, p.D});
  expect(&wh, "wh", {p.H, G * p.H}, true);
  expect(&wx, "wx", {p.D, G * p.H}, true);
  return p;
}

template <typename T>
const T* cptr(const Opt& a) {
  return a ? static_cast<const T*>(a->data()) : nullptr;
}

template <typename T>
T* mptr(Opt& a, const char* name) {
  return a ? out<T>(*a, name).p : nullptr;
}

template <typename T>
void weight_strides(cpu::RnnParams& p, const py::array& wx, const py::array& wh) {
  auto wxv = in<T>(wx), whv = in<T>(wh);
  p.rswx = wxv.stride[0], p.cswx = wxv.stride[1];
  p.rswh = whv.stride[0], p.cswh = whv.stride[1];
}

void rnn_fwd(py::array hs, py::array x, Opt h0, py::array wx, py::array wh, Opt b) {
  const Dtype d = same_float_dtype(
      {{&x, "x"}, {&hs, "hs"}, {ptr(h0), "h0"}, {&wx, "wx"}, {&wh, "wh"}, {ptr(b), "b"}});
  cpu::RnnParams p = sizes(x, wx, wh, 1);
  expect(&hs, "hs", {p.T, p.N, p.H});
  expect(ptr(h0), "h0", {p.N, p.H});
  expect(ptr(b), "b", {p.H});
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    weight_strides<T>(p, wx, wh);
    T* hsp = out<T>(hs, "hs").p;
    const T *xp = static_cast<const T*>(x.data()), *h0p = cptr<T>(h0), *bp = cptr<T>(b);
    const T *wxp = in<T>(wx).p, *whp = in<T>(wh).p;
    py::gil_scoped_release nogil;
    cpu::rnn_fwd<T>(hsp, xp, h0p, wxp, whp, bp, p);
  });
}

void rnn_bwd(py::array dx, Opt dh0, py::array dwx, py::array dwh, Opt db, Opt dhs, py::array x,
             Opt h0, py::array wx, py::array wh, py::array hs) {
  const Dtype d = same_float_dtype({{&x, "x"}, {&dx, "dx"}, {ptr(dh0), "dh0"}, {&dwx, "dwx"},
                                    {&dwh, "dwh"}, {ptr(db), "db"}, {ptr(dhs), "dhs"},
                                    {ptr(h0), "h0"}, {&wx, "wx"}, {&wh, "wh"}, {&hs, "hs"}});
  cpu::RnnParams p = sizes(x, wx, wh, 1);
  expect(&dx, "dx", {p.T, p.N, p.D});
  expect(ptr(dh0), "dh0", {p.N, p.H});
  expect(&dwx, "dwx", {p.D, p.H});
  expect(&dwh, "dwh", {p.H, p.H});
  expect(ptr(db), "db", {p.H});
  expect(ptr(dhs), "dhs", {p.T, p.N, p.H});
  expect(ptr(h0), "h0", {p.N, p.H});
  expect(&hs, "hs", {p.T, p.N, p.H});
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    weight_strides<T>(p, wx, wh);
    T *dxp = out<T>(dx, "dx").p, *dh0p = mptr<T>(dh0, "dh0"), *dwxp = out<T>(dwx, "dwx").p;
    T *dwhp = out<T>(dwh, "dwh").p, *dbp = mptr<T>(db, "db");
    const T *dhsp = cptr<T>(dhs), *xp = static_cast<const T*>(x.data()), *h0p = cptr<T>(h0);
    const T *wxp = in<T>(wx).p, *whp = in<T>(wh).p, *hsp = static_cast<const T*>(hs.data());
    py::gil_scoped_release nogil;
    cpu::rnn_bwd<T>(dxp, dh0p, dwxp, dwhp, dbp, dhsp, xp, h0p, wxp, whp, hsp, p);
  });
}

void lstm_fwd(py::array hs, py::array c_out, Opt gates, Opt cs, py::array x, Opt h0, Opt c0,
              py::array wx, py::array wh, Opt b) {
  const Dtype d = same_float_dtype({{&x, "x"}, {&hs, "hs"}, {&c_out, "c_out"}, {ptr(gates), "gates"},
                                    {ptr(cs), "cs"}, {ptr(h0), "h0"}, {ptr(c0), "c0"}, {&wx, "wx"},
                                    {&wh, "wh"}, {ptr(b), "b"}});
  cpu::RnnParams p = sizes(x, wx, wh, 4);
  if (bool(gates) != bool(cs)) throw py::value_error("lstm_fwd: pass both gates and cs, or neither");
  expect(&hs, "hs", {p.T, p.N, p.H});
  expect(&c_out, "c_out", {p.N, p.H});
  expect(ptr(gates), "gates", {p.T, p.N, 4 * p.H});
  expect(ptr(cs), "cs", {p.T, p.N, p.H});
  expect(ptr(h0), "h0", {p.N, p.H});
  expect(ptr(c0), "c0", {p.N, p.H});
  expect(ptr(b), "b", {4 * p.H});
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    weight_strides<T>(p, wx, wh);
    T *hsp = out<T>(hs, "hs").p, *cp = out<T>(c_out, "c_out").p;
    T *gp = mptr<T>(gates, "gates"), *csp = mptr<T>(cs, "cs");
    const T *xp = static_cast<const T*>(x.data()), *h0p = cptr<T>(h0), *c0p = cptr<T>(c0);
    const T *wxp = in<T>(wx).p, *whp = in<T>(wh).p, *bp = cptr<T>(b);
    py::gil_scoped_release nogil;
    cpu::lstm_fwd<T>(hsp, cp, gp, csp, xp, h0p, c0p, wxp, whp, bp, p);
  });
}

void lstm_bwd(py::array dx, Opt dh0, Opt dc0, py::array dwx, py::array dwh, Opt db, Opt dhs,
              Opt dhT, Opt dcT, py::array x, Opt h0, Opt c0, py::array wx, py::array wh,
              py::array hs, py::array gates, py::array cs) {
  const Dtype d = same_float_dtype(
      {{&x, "x"}, {&dx, "dx"}, {ptr(dh0), "dh0"}, {ptr(dc0), "dc0"}, {&dwx, "dwx"}, {&dwh, "dwh"},
       {ptr(db), "db"}, {ptr(dhs), "dhs"}, {ptr(dhT), "dhT"}, {ptr(dcT), "dcT"}, {ptr(h0), "h0"},
       {ptr(c0), "c0"}, {&wx, "wx"}, {&wh, "wh"}, {&hs, "hs"}, {&gates, "gates"}, {&cs, "cs"}});
  cpu::RnnParams p = sizes(x, wx, wh, 4);
  const i64 GH = 4 * p.H;
  expect(&dx, "dx", {p.T, p.N, p.D});
  expect(ptr(dh0), "dh0", {p.N, p.H});
  expect(ptr(dc0), "dc0", {p.N, p.H});
  expect(&dwx, "dwx", {p.D, GH});
  expect(&dwh, "dwh", {p.H, GH});
  expect(ptr(db), "db", {GH});
  expect(ptr(dhs), "dhs", {p.T, p.N, p.H});
  expect(ptr(dhT), "dhT", {p.N, p.H});
  expect(ptr(dcT), "dcT", {p.N, p.H});
  expect(ptr(h0), "h0", {p.N, p.H});
  expect(ptr(c0), "c0", {p.N, p.H});
  expect(&hs, "hs", {p.T, p.N, p.H});
  expect(&gates, "gates", {p.T, p.N, GH});
  expect(&cs, "cs", {p.T, p.N, p.H});
  with_dtype(d, [&](auto t) {
    using T = decltype(t);
    weight_strides<T>(p, wx, wh);
    T *dxp = out<T>(dx, "dx").p, *dh0p = mptr<T>(dh0, "dh0"), *dc0p = mptr<T>(dc0, "dc0");
    T *dwxp = out<T>(dwx, "dwx").p, *dwhp = out<T>(dwh, "dwh").p, *dbp = mptr<T>(db, "db");
    const T *dhsp = cptr<T>(dhs), *dhTp = cptr<T>(dhT), *dcTp = cptr<T>(dcT);
    const T *xp = static_cast<const T*>(x.data()), *h0p = cptr<T>(h0), *c0p = cptr<T>(c0);
    const T *wxp = in<T>(wx).p, *whp = in<T>(wh).p, *hsp = static_cast<const T*>(hs.data());
    const T *gp = static_cast<const T*>(gates.data()), *csp = static_cast<const T*>(cs.data());
    py::gil_scoped_release nogil;
    cpu::lstm_bwd<T>(dxp, dh0p, dc0p, dwxp, dwhp, dbp, dhsp, dhTp, dcTp, xp, h0p, c0p, wxp, whp, hsp,
                     gp, csp, p);
  });
}

}  // namespace

void bind_rnn(py::module_& m) {
  m.def("rnn_fwd", &rnn_fwd, py::arg("hs"), py::arg("x"), py::arg("h0"), py::arg("wx"),
        py::arg("wh"), py::arg("b"));
  m.def("rnn_bwd", &rnn_bwd, py::arg("dx"), py::arg("dh0"), py::arg("dwx"), py::arg("dwh"),
        py::arg("db"), py::arg("dhs"), py::arg("x"), py::arg("h0"), py::arg("wx"), py::arg("wh"),
        py::arg("hs"));
  m.def("lstm_fwd", &lstm_fwd, py::arg("hs"), py::arg("c_out"), py::arg("gates"), py::arg("cs"),
        py::arg("x"), py::arg("h0"), py::arg("c0"), py::arg("wx"), py::arg("wh"), py::arg("b"));
  m.def("lstm_bwd", &lstm_bwd, py::arg("dx"), py::arg("dh0"), py::arg("dc0"), py::arg("dwx"),
        py::arg("dwh"), py::arg("db"), py::arg("dhs"), py::arg("dhT"), py::arg("dcT"), py::arg("x"),
        py::arg("h0"), py::arg("c0"), py::arg("wx"), py::arg("wh"), py::arg("hs"), py::arg("gates"),
        py::arg("cs"));
}

}  // namespace fastdl::bind
