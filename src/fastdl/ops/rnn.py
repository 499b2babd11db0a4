"""rnn family: tanh RNN and LSTM, as cells and as whole sequences.

    rnn_cell(x, h, wx, wh, b=None)         -> h_next (N, H)
    rnn(x, h0, wx, wh, b=None)             -> hs (T, N, H)
    lstm_cell(x, h, c, wx, wh, b=None)     -> (h_next, c_next)
    lstm(x, h0, c0, wx, wh, b=None)        -> (hs (T, N, H), h_T, c_T)

x is (N, D) for a cell and (T, N, D) time-major for a sequence; states are
(N, H); wx (D, G*H), wh (H, G*H), b (G*H,) with G = 1 for the tanh RNN and
G = 4 for the LSTM, gates in the order i, f, g, o (PyTorch's, transposed:
wx = weight_ih.T, wh = weight_hh.T, b = bias_ih + bias_hh). h/h0/c/c0 may be
None (zero state) and b None (no bias); their gradients are then None.
Backward of lstm and lstm_cell takes a tuple dout, one entry per output,
None for zero.

Backend kernels (``_cpu``, ``backends.numba_cpu``), one call per sequence;
a cell is the T = 1 sequence:
    rnn_fwd(hs, x, h0, wx, wh, b)
    rnn_bwd(dx, dh0, dwx, dwh, db, dhs, x, h0, wx, wh, hs)
    lstm_fwd(hs, c_out, gates, cs, x, h0, c0, wx, wh, b)       gates, cs: None for inference
    lstm_bwd(dx, dh0, dc0, dwx, dwh, db, dhs, dhT, dcT, x, h0, c0, wx, wh, hs, gates, cs)

What forward keeps (cache.nbytes counts it): the inputs and hs, and for the
LSTM the activated gates (T, N, 4H) and the cell states (T, N, H). The cache
holds the returned hs itself: modify it in place and backward is wrong.
"""

from __future__ import annotations

import numpy as np

from .._alloc import empty
from .._cache import Cache
from .._dispatch import backend
from .._validate import device_of, expect_ndim, float_array, grad_output, same_dtype

__all__ = [
    "lstm", "lstm_backward", "lstm_cell", "lstm_cell_backward", "lstm_cell_forward", "lstm_forward",
    "rnn", "rnn_backward", "rnn_cell", "rnn_cell_backward", "rnn_cell_forward", "rnn_forward",
]


def _contiguous(a):
    return None if a is None else np.ascontiguousarray(a)


def _operands(op, gates, x, states, wx, wh, b, seq):
    """Validated arrays and sizes of one call. states: {name: array or None}, each (N, H)."""
    x = float_array("x", x)
    wx = float_array("wx", wx)
    wh = float_array("wh", wh)
    b = None if b is None else float_array("b", b)
    states = {k: None if v is None else float_array(k, v) for k, v in states.items()}
    dtype = same_dtype(x=x, **states, wx=wx, wh=wh, b=b)
    device = device_of(x=x, **states, wx=wx, wh=wh, b=b)
    expect_ndim("x", x, 3 if seq else 2, " (T, N, D)" if seq else " (N, D)")
    expect_ndim("wh", wh, 2, f" (H, {gates}H)" if gates > 1 else " (H, H)")
    N, D, H = x.shape[-2], x.shape[-1], wh.shape[0]
    gh = f"{gates}H" if gates > 1 else "H"
    if H == 0:
        raise ValueError(f"{op}: wh: hidden size H = wh.shape[0] must be >= 1, got wh {wh.shape}")
    if wh.shape != (H, gates * H):
        raise ValueError(f"{op}: wh: expected shape (H, {gh}) = {(H, gates * H)} with H = wh.shape[0], "
                         f"got {wh.shape}")
    if wx.shape != (D, gates * H):
        raise ValueError(f"{op}: wx: expected shape (D, {gh}) = {(D, gates * H)} (D from x {x.shape}, "
                         f"H from wh {wh.shape}), got {wx.shape}")
    if b is not None and b.shape != (gates * H,):
        raise ValueError(f"{op}: b: expected shape ({gh},) = {(gates * H,)} (H from wh {wh.shape}), got {b.shape}")
    for name, s in states.items():
        if s is not None and s.shape != (N, H):
            raise ValueError(f"{op}: {name}: expected shape (N, H) = {(N, H)} (N from x {x.shape}, "
                             f"H from wh {wh.shape}), got {s.shape}")
    states = {k: _contiguous(v) for k, v in states.items()}
    return np.ascontiguousarray(x), states, wx, wh, _contiguous(b), dtype, device


def _douts(op, dout, names, shapes, dtype):
    """A tuple dout of a multi-output op: each entry None or the output's shape and dtype."""
    if not isinstance(dout, (tuple, list)) or len(dout) != len(names):
        raise TypeError(f"{op}_backward: dout must be a tuple of {len(names)} entries "
                        f"({', '.join(names)}; None for zero), got {type(dout).__name__}"
                        + (f" of length {len(dout)}" if isinstance(dout, (tuple, list)) else ""))
    return [None if d is None else np.ascontiguousarray(grad_output(f"dout[{k}] ({n})", d, s, dtype))
            for k, (d, n, s) in enumerate(zip(dout, names, shapes))]


def _zeros_or_copy(a, shape, dtype, like):
    out = empty(shape, dtype, like)
    out[...] = 0 if a is None else a
    return out


# ---------------------------------------------------------------------------
# tanh RNN


def _rnn(op, x, h0, wx, wh, b, seq):
    x, s, wx, wh, b, dtype, device = _operands(op, 1, x, {"h" if not seq else "h0": h0}, wx, wh, b, seq)
    h0 = next(iter(s.values()))
    x3 = x if seq else x[None]
    hs = empty(x3.shape[:2] + (wh.shape[0],), dtype, x)
    backend(op, device, dtype).rnn_fwd(hs, x3, h0, wx, wh, b)
    cache = Cache(op, {"x": x3, "h0": h0, "wx": wx, "wh": wh, "hs": hs}, has_b=b is not None,
                  x_shape=x.shape, device=device)
    return (hs if seq else hs[0]), cache


def _rnn_backward(op, dout, cache):
    a = cache.arrays
    x, h0, wx, wh, hs = a["x"], a["h0"], a["wx"], a["wh"], a["hs"]
    dtype = x.dtype
    dhs = np.ascontiguousarray(grad_output("dout", dout, hs.shape if op == "rnn" else hs.shape[1:], dtype))
    T, N, D = x.shape
    H = wh.shape[0]
    dx = empty((T, N, D), dtype, x)
    dh0 = None if h0 is None else empty((N, H), dtype, x)
    dwx, dwh = empty(wx.shape, dtype, x), empty(wh.shape, dtype, x)
    db = empty((H,), dtype, x) if cache.params["has_b"] else None
    backend(op, cache.params["device"], dtype).rnn_bwd(dx, dh0, dwx, dwh, db, dhs.reshape(hs.shape),
                                                        x, h0, wx, wh, hs)
    return dx.reshape(cache.params["x_shape"]), dh0, dwx, dwh, db


def rnn_cell(x, h, wx, wh, b=None):
    """h_next = tanh(x @ wx + h @ wh + b); x (N, D), h (N, H) or None."""
    return _rnn("rnn_cell", x, h, wx, wh, b, False)[0]


def rnn_cell_forward(x, h, wx, wh, b=None):
    """(h_next, cache)."""
    return _rnn("rnn_cell", x, h, wx, wh, b, False)


def rnn_cell_backward(dout, cache):
    """(dx, dh, dwx, dwh, db); dh is None when h was None, db when b was None."""
    return _rnn_backward("rnn_cell", dout, cache)


def rnn(x, h0, wx, wh, b=None):
    """hs (T, N, H): the tanh RNN over x (T, N, D) from h0 (N, H) or None (zeros)."""
    return _rnn("rnn", x, h0, wx, wh, b, True)[0]


def rnn_forward(x, h0, wx, wh, b=None):
    """(hs, cache)."""
    return _rnn("rnn", x, h0, wx, wh, b, True)


def rnn_backward(dout, cache):
    """(dx, dh0, dwx, dwh, db) from dout = d hs (T, N, H) (BPTT)."""
    return _rnn_backward("rnn", dout, cache)


# ---------------------------------------------------------------------------
# LSTM


def _lstm(op, x, h0, c0, wx, wh, b, seq, keep):
    names = ("h0", "c0") if seq else ("h", "c")
    x, s, wx, wh, b, dtype, device = _operands(op, 4, x, dict(zip(names, (h0, c0))), wx, wh, b, seq)
    h0, c0 = s[names[0]], s[names[1]]
    x3 = x if seq else x[None]
    T, N, _ = x3.shape
    H = wh.shape[0]
    hs = empty((T, N, H), dtype, x)
    c_T = empty((N, H), dtype, x)
    gates = empty((T, N, 4 * H), dtype, x) if keep else None
    cs = empty((T, N, H), dtype, x) if keep else None
    backend(op, device, dtype).lstm_fwd(hs, c_T, gates, cs, x3, h0, c0, wx, wh, b)
    if seq:
        out = (hs, _zeros_or_copy(hs[-1] if T else h0, (N, H), dtype, x), c_T)
    else:
        out = (hs[0], c_T)
    if not keep:
        return out, None
    cache = Cache(op, {"x": x3, "h0": h0, "c0": c0, "wx": wx, "wh": wh, "hs": hs, "gates": gates, "cs": cs},
                  has_b=b is not None, x_shape=x.shape, device=device)
    return out, cache


def _lstm_backward(op, dout, cache):
    a = cache.arrays
    x, h0, c0, wx, wh, hs = a["x"], a["h0"], a["c0"], a["wx"], a["wh"], a["hs"]
    dtype = x.dtype
    T, N, D = x.shape
    H = wh.shape[0]
    if op == "lstm":
        dhs, dhT, dcT = _douts(op, dout, ("hs", "h_T", "c_T"), ((T, N, H), (N, H), (N, H)), dtype)
    else:  # a cell: d h_next is dhs of the one step
        dhs, dcT = _douts(op, dout, ("h_next", "c_next"), ((N, H), (N, H)), dtype)
        dhs, dhT = (None if dhs is None else dhs[None]), None
    dx = empty((T, N, D), dtype, x)
    dh0 = None if h0 is None else empty((N, H), dtype, x)
    dc0 = None if c0 is None else empty((N, H), dtype, x)
    dwx, dwh = empty(wx.shape, dtype, x), empty(wh.shape, dtype, x)
    db = empty((4 * H,), dtype, x) if cache.params["has_b"] else None
    backend(op, cache.params["device"], dtype).lstm_bwd(dx, dh0, dc0, dwx, dwh, db, dhs, dhT, dcT, x, h0, c0,
                                                         wx, wh, hs, a["gates"], a["cs"])
    return dx.reshape(cache.params["x_shape"]), dh0, dc0, dwx, dwh, db


def lstm_cell(x, h, c, wx, wh, b=None):
    """(h_next, c_next) of one LSTM step; x (N, D), h and c (N, H) or None."""
    return _lstm("lstm_cell", x, h, c, wx, wh, b, False, False)[0]


def lstm_cell_forward(x, h, c, wx, wh, b=None):
    """((h_next, c_next), cache)."""
    return _lstm("lstm_cell", x, h, c, wx, wh, b, False, True)


def lstm_cell_backward(dout, cache):
    """(dx, dh, dc, dwx, dwh, db) from dout = (d h_next, d c_next), None entries zero."""
    return _lstm_backward("lstm_cell", dout, cache)


def lstm(x, h0, c0, wx, wh, b=None):
    """(hs (T, N, H), h_T, c_T): the LSTM over x (T, N, D) from h0, c0 (N, H) or None."""
    return _lstm("lstm", x, h0, c0, wx, wh, b, True, False)[0]


def lstm_forward(x, h0, c0, wx, wh, b=None):
    """((hs, h_T, c_T), cache)."""
    return _lstm("lstm", x, h0, c0, wx, wh, b, True, True)


def lstm_backward(dout, cache):
    """(dx, dh0, dc0, dwx, dwh, db) from dout = (d hs, d h_T, d c_T), None entries zero (BPTT)."""
    return _lstm_backward("lstm", dout, cache)
