"""Numba kernels of the rnn family (contract: fastdl/ops/rnn.py).

A batch row's recurrence depends on no other row, so rows go to prange and
each thread runs the whole sequence (forward, or backward through time) for
its rows. The weight and input gradients are then GEMMs over all steps at
once, with the matmul family's deterministic kernels. None arguments become
empty placeholders plus a flag (Numba compiles one version per flag type).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .matmul import _gemm_acc, _sum_rows

__all__ = ["lstm_bwd", "lstm_fwd", "rnn_bwd", "rnn_fwd"]


def _arg(a, ndim, dtype):
    """(array, present) with a 1-element placeholder for None."""
    return (np.zeros((1,) * ndim, dtype), False) if a is None else (a, True)


@njit(inline="always")
def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


@njit(inline="always")
def _project(acc, xt, h, wx, wh, b, has_b):
    # acc (GH,) = xt (D,) @ wx + h (H,) @ wh + b, summed in index order
    acc[:] = 0
    for d in range(xt.shape[0]):
        v = xt[d]
        for r in range(acc.shape[0]):
            acc[r] += v * wx[d, r]
    for j in range(h.shape[0]):
        v = h[j]
        for r in range(acc.shape[0]):
            acc[r] += v * wh[j, r]
    if has_b:
        for r in range(acc.shape[0]):
            acc[r] += b[r]


@njit(inline="always")
def _back_project(dh, dpre_row, wh):
    # dh (H,) = dpre_row (GH,) @ wh^T, summed in index order
    dh[:] = 0
    for r in range(dpre_row.shape[0]):
        v = dpre_row[r]
        for j in range(dh.shape[0]):
            dh[j] += v * wh[j, r]


def _input_and_weight_grads(dx, dwx, dwh, db, dpre, x, h0, wx, hs):
    # dx = dpre @ wx^T, dwx = x^T @ dpre, dwh = [h0; hs[:-1]]^T @ dpre, db = sum_rows(dpre)
    T, N, D = x.shape
    H, GH = hs.shape[2], dpre.shape[2]
    d2 = dpre.reshape(T * N, GH)
    _gemm_acc(dx.reshape(T * N, D), d2, wx.T, False)
    _gemm_acc(dwx, x.reshape(T * N, D).T, d2, False)
    started = False
    if h0 is not None and T > 0:
        _gemm_acc(dwh, h0.T, dpre[0], False)
        started = True
    if T > 1:
        _gemm_acc(dwh, hs[:-1].reshape((T - 1) * N, H).T, dpre[1:].reshape((T - 1) * N, GH), started)
        started = True
    if not started:
        dwh[...] = 0
    if db is not None:
        _sum_rows(db, d2)


# ---------------------------------------------------------------------------
# tanh RNN


@njit(parallel=True, cache=True)
def _rnn_fwd(hs, x, h0, has_h0, wx, wh, b, has_b):
    T, N, _ = x.shape
    H = wh.shape[0]
    for n in prange(N):
        h = np.zeros(H, hs.dtype)
        if has_h0:
            h[:] = h0[n]
        acc = np.empty(H, hs.dtype)
        for t in range(T):
            _project(acc, x[t, n], h, wx, wh, b, has_b)
            for r in range(H):
                h[r] = np.tanh(acc[r])
                hs[t, n, r] = h[r]


@njit(parallel=True, cache=True)
def _rnn_bwd_steps(dpre, dh0, want_dh0, dhs, has_dhs, wh, hs):
    T, N, H = hs.shape
    for n in prange(N):
        dh = np.zeros(H, hs.dtype)  # from step t+1
        for t in range(T - 1, -1, -1):
            for r in range(H):
                g = dh[r] + dhs[t, n, r] if has_dhs else dh[r]
                dpre[t, n, r] = g * (1 - hs[t, n, r] * hs[t, n, r])
            _back_project(dh, dpre[t, n], wh)
        if want_dh0:
            dh0[n] = dh


def rnn_fwd(hs, x, h0, wx, wh, b):
    dt = x.dtype
    _rnn_fwd(hs, x, *_arg(h0, 2, dt), wx, wh, *_arg(b, 1, dt))


def rnn_bwd(dx, dh0, dwx, dwh, db, dhs, x, h0, wx, wh, hs):
    dt = x.dtype
    dpre = np.empty(hs.shape, dt)
    _rnn_bwd_steps(dpre, *_arg(dh0, 2, dt), *_arg(dhs, 3, dt), wh, hs)
    _input_and_weight_grads(dx, dwx, dwh, db, dpre, x, h0, wx, hs)


# ---------------------------------------------------------------------------
# LSTM


@njit(parallel=True, cache=True)
def _lstm_fwd(hs, c_out, gates, cs, keep, x, h0, has_h0, c0, has_c0, wx, wh, b, has_b):
    T, N, _ = x.shape
    H = wh.shape[0]
    for n in prange(N):
        h = np.zeros(H, hs.dtype)
        c = np.zeros(H, hs.dtype)
        if has_h0:
            h[:] = h0[n]
        if has_c0:
            c[:] = c0[n]
        a = np.empty(4 * H, hs.dtype)
        for t in range(T):
            _project(a, x[t, n], h, wx, wh, b, has_b)
            for j in range(H):
                i, f = _sigmoid(a[j]), _sigmoid(a[H + j])
                g, o = np.tanh(a[2 * H + j]), _sigmoid(a[3 * H + j])
                c[j] = f * c[j] + i * g
                h[j] = o * np.tanh(c[j])
                hs[t, n, j] = h[j]
                if keep:
                    gates[t, n, j], gates[t, n, H + j], gates[t, n, 2 * H + j], gates[t, n, 3 * H + j] = i, f, g, o
                    cs[t, n, j] = c[j]
        c_out[n] = c


@njit(parallel=True, cache=True)
def _lstm_bwd_steps(dpre, dh0, want_dh0, dc0, want_dc0, dhs, has_dhs, dhT, has_dhT, dcT, has_dcT,
                    c0, has_c0, wh, gates, cs):
    T, N, H = cs.shape
    for n in prange(N):
        dh = np.zeros(H, cs.dtype)  # into step t from step t+1
        dc = np.zeros(H, cs.dtype)
        if has_dhT:
            dh[:] = dhT[n]
        if has_dcT:
            dc[:] = dcT[n]
        for t in range(T - 1, -1, -1):
            for j in range(H):
                i, f = gates[t, n, j], gates[t, n, H + j]
                g, o = gates[t, n, 2 * H + j], gates[t, n, 3 * H + j]
                tc = np.tanh(cs[t, n, j])
                dhj = dh[j] + dhs[t, n, j] if has_dhs else dh[j]
                dcj = dc[j] + dhj * o * (1 - tc * tc)
                if t > 0:
                    cp = cs[t - 1, n, j]
                elif has_c0:
                    cp = c0[n, j]
                else:
                    cp = 0.0
                dpre[t, n, j] = dcj * g * (i * (1 - i))
                dpre[t, n, H + j] = dcj * cp * (f * (1 - f))
                dpre[t, n, 2 * H + j] = dcj * i * (1 - g * g)
                dpre[t, n, 3 * H + j] = dhj * tc * (o * (1 - o))
                dc[j] = dcj * f
            _back_project(dh, dpre[t, n], wh)
        if want_dh0:
            dh0[n] = dh
        if want_dc0:
            dc0[n] = dc


def lstm_fwd(hs, c_out, gates, cs, x, h0, c0, wx, wh, b):
    dt = x.dtype
    keep = gates is not None
    _lstm_fwd(hs, c_out, *((gates, cs) if keep else (np.zeros((1, 1, 1), dt),) * 2), keep, x,
              *_arg(h0, 2, dt), *_arg(c0, 2, dt), wx, wh, *_arg(b, 1, dt))


def lstm_bwd(dx, dh0, dc0, dwx, dwh, db, dhs, dhT, dcT, x, h0, c0, wx, wh, hs, gates, cs):
    dt = x.dtype
    dpre = np.empty(gates.shape, dt)
    _lstm_bwd_steps(dpre, *_arg(dh0, 2, dt), *_arg(dc0, 2, dt), *_arg(dhs, 3, dt), *_arg(dhT, 2, dt),
                    *_arg(dcT, 2, dt), *_arg(c0, 2, dt), wh, gates, cs)
    _input_and_weight_grads(dx, dwx, dwh, db, dpre, x, h0, wx, hs)
