"""Reference tanh RNN and LSTM (NumPy, from the formulas): cells, then sequences
as a loop over the cells.

Shapes: x (N, D) for a cell, (T, N, D) time-major for a sequence; states
(N, H); wx (D, G*H), wh (H, G*H), b (G*H,) with G = 1 (tanh RNN) or 4 (LSTM,
gates i, f, g, o). h, h0, c, c0 and b may be None (zero state, no bias);
their gradients are then None. Multi-output ops take a tuple dout with None
for a zero gradient.
"""

import numpy as np

from .act import logistic

__all__ = [
    "lstm_backward", "lstm_cell_backward", "lstm_cell_forward", "lstm_forward",
    "rnn_backward", "rnn_cell_backward", "rnn_cell_forward", "rnn_forward",
]


def _zeros_if_none(a, shape, dtype):
    return np.zeros(shape, dtype) if a is None else a


def rnn_cell_forward(x, h, wx, wh, b=None):
    # x (N, D), h (N, H) -> h_next (N, H) = tanh(x wx + h wh + b)
    hh = _zeros_if_none(h, (x.shape[0], wh.shape[0]), x.dtype)
    z = x @ wx + hh @ wh
    if b is not None:
        z = z + b
    h_next = np.tanh(z)
    return h_next, (x, h, hh, wx, wh, b, h_next)


def rnn_cell_backward(dout, cache):
    x, h, hh, wx, wh, b, h_next = cache
    dz = dout * (1 - h_next * h_next)                 # (N, H)
    dh = None if h is None else dz @ wh.T
    db = None if b is None else dz.sum(axis=0)
    return dz @ wx.T, dh, x.T @ dz, hh.T @ dz, db


def rnn_forward(x, h0, wx, wh, b=None):
    # x (T, N, D), h0 (N, H) -> hs (T, N, H)
    h, caches, hs = h0, [], []
    for t in range(x.shape[0]):
        h, cache = rnn_cell_forward(x[t], h, wx, wh, b)
        hs.append(h)
        caches.append(cache)
    hs = np.stack(hs) if hs else np.zeros((0, x.shape[1], wh.shape[0]), x.dtype)
    return hs, (x, h0, wx, wh, b, caches)


def rnn_backward(dout, cache):
    x, h0, wx, wh, b, caches = cache
    dx = np.zeros_like(x)
    dwx, dwh = np.zeros_like(wx), np.zeros_like(wh)
    db = None if b is None else np.zeros_like(b)
    dh = np.zeros((x.shape[1], wh.shape[0]), x.dtype)  # from step t+1
    for t in reversed(range(x.shape[0])):
        dx[t], dh, dwx_t, dwh_t, db_t = rnn_cell_backward(dout[t] + dh, caches[t])
        dwx += dwx_t
        dwh += dwh_t
        if b is not None:
            db += db_t
        if dh is None:  # t == 0 without h0
            break
    return dx, (None if h0 is None else dh), dwx, dwh, db


def lstm_cell_forward(x, h, c, wx, wh, b=None):
    # x (N, D), h (N, H), c (N, H) -> (h_next, c_next)
    N, H = x.shape[0], wh.shape[0]
    hh = _zeros_if_none(h, (N, H), x.dtype)
    cc = _zeros_if_none(c, (N, H), x.dtype)
    a = x @ wx + hh @ wh                              # (N, 4H)
    if b is not None:
        a = a + b
    i, f = logistic(a[:, :H]), logistic(a[:, H:2 * H])
    g, o = np.tanh(a[:, 2 * H:3 * H]), logistic(a[:, 3 * H:])
    c_next = f * cc + i * g
    tc = np.tanh(c_next)
    h_next = o * tc
    return (h_next, c_next), (x, h, c, hh, cc, wx, wh, b, i, f, g, o, tc)


def lstm_cell_backward(dout, cache):
    x, h, c, hh, cc, wx, wh, b, i, f, g, o, tc = cache
    dh_next, dc_next = dout
    dh_next = np.zeros_like(tc) if dh_next is None else dh_next
    dc = (np.zeros_like(tc) if dc_next is None else dc_next) + dh_next * o * (1 - tc * tc)
    da = np.concatenate([
        dc * g * i * (1 - i),                         # d a_i
        dc * cc * f * (1 - f),                        # d a_f
        dc * i * (1 - g * g),                         # d a_g
        dh_next * tc * o * (1 - o),                   # d a_o
    ], axis=1)                                        # (N, 4H)
    dh = None if h is None else da @ wh.T
    dcp = None if c is None else dc * f
    db = None if b is None else da.sum(axis=0)
    return da @ wx.T, dh, dcp, x.T @ da, hh.T @ da, db


def lstm_forward(x, h0, c0, wx, wh, b=None):
    # x (T, N, D) -> (hs (T, N, H), h_T, c_T)
    N, H = x.shape[1], wh.shape[0]
    h, c, caches, hs = h0, c0, [], []
    for t in range(x.shape[0]):
        (h, c), cache = lstm_cell_forward(x[t], h, c, wx, wh, b)
        hs.append(h)
        caches.append(cache)
    hs = np.stack(hs) if hs else np.zeros((0, N, H), x.dtype)
    h_T = np.array(_zeros_if_none(h, (N, H), x.dtype))
    c_T = np.array(_zeros_if_none(c, (N, H), x.dtype))
    return (hs, h_T, c_T), (x, h0, c0, wx, wh, b, caches)


def lstm_backward(dout, cache):
    x, h0, c0, wx, wh, b, caches = cache
    T, N, H = x.shape[0], x.shape[1], wh.shape[0]
    dhs, dh, dc = dout
    zeros = np.zeros((N, H), x.dtype)
    dh = zeros if dh is None else dh                  # into step T-1 from after the sequence
    dc = zeros if dc is None else dc
    dx = np.zeros_like(x)
    dwx, dwh = np.zeros_like(wx), np.zeros_like(wh)
    db = None if b is None else np.zeros_like(b)
    for t in reversed(range(T)):
        dh_t = dh if dhs is None else dh + dhs[t]
        dx[t], dh, dc, dwx_t, dwh_t, db_t = lstm_cell_backward((dh_t, dc), caches[t])
        dwx += dwx_t
        dwh += dwh_t
        if b is not None:
            db += db_t
    return dx, (None if h0 is None else dh), (None if c0 is None else dc), dwx, dwh, db
