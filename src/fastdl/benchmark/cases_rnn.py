"""Benchmark cases of the rnn family: LSTM and tanh RNN sequences and single
cells, forward + backward, against torch.nn.LSTM / LSTMCell / RNN / RNNCell
with autograd (same weights) and the plain-NumPy reference.

Napkin math: G gates (4 LSTM, 1 RNN); forward 2 T N (D + H) G H flops (the
input projection and the recurrent products), backward twice that (input and
hidden gradients, weight gradients): 3 x 2 T N (D + H) G H in all; the
pointwise gate work is left out. Bytes: x, hs and the weights read once and
their gradients written once.
"""

import numpy as np

import fastdl as fd
from fastdl import reference

from . import Case, _rand, _torch


def _inputs(t, n, d, h, g, dtype):
    s = float(1 / np.sqrt(d + h))
    x = _rand((t, n, d), dtype, 1)
    h0, c0 = _rand((n, h), dtype, 2), _rand((n, h), dtype, 3)
    wx, wh = _rand((d, g * h), dtype, 4) * s, _rand((h, g * h), dtype, 5) * s
    b = _rand((g * h,), dtype, 6)
    dhs = _rand((t, n, h), dtype, 7)
    return x, h0, c0, wx, wh, b, dhs


def _torch_module(torch, cls, wx, wh, b, d, h):
    m = cls(d, h)
    suffix = "_l0" if hasattr(m, "weight_ih_l0") else ""  # sequence modules vs cells
    with torch.no_grad():  # fastdl's wx = weight_ih.T, wh = weight_hh.T, b = bias_ih + bias_hh
        getattr(m, "weight_ih" + suffix).copy_(torch.from_numpy(wx.T))
        getattr(m, "weight_hh" + suffix).copy_(torch.from_numpy(wh.T))
        getattr(m, "bias_ih" + suffix).copy_(torch.from_numpy(b))
        getattr(m, "bias_hh" + suffix).zero_()
    return m.to(torch.float64 if wx.dtype == np.float64 else torch.float32)


def _lstm_case(t, n, d, h, dtype, quick):
    def make():
        x, h0, c0, wx, wh, b, dhs = _inputs(t, n, d, h, 4, dtype)

        def fastdl_fb():
            out, cache = fd.lstm_forward(x, h0, c0, wx, wh, b)
            return fd.lstm_backward((dhs, None, None), cache)

        def numpy_fb():
            out, cache = reference.lstm_forward(x, h0, c0, wx, wh, b)
            return reference.lstm_backward((dhs, None, None), cache)

        impls = {"fastdl": fastdl_fb, "numpy": numpy_fb}
        torch = _torch()
        if torch:
            m = _torch_module(torch, torch.nn.LSTM, wx, wh, b, d, h)
            tx, th0, tc0 = (torch.from_numpy(v).requires_grad_() for v in (x, h0[None], c0[None]))
            tg = torch.from_numpy(dhs)

            def torch_fb():
                tx.grad = th0.grad = tc0.grad = None
                m.zero_grad()
                m(tx, (th0, tc0))[0].backward(tg)

            impls["torch"] = torch_fb
        return impls

    size = np.dtype(dtype).itemsize
    return Case("lstm", f"lstm {np.dtype(dtype).name} T{t} N{n} D{d} H{h} fwd+bwd", np.dtype(dtype).name,
                3 * 2.0 * t * n * (d + h) * 4 * h, (2 * t * n * (d + 2 * h) + 2 * 4 * h * (d + h)) * size, make, quick)


def _lstm_inference_case(t, n, d, h, dtype, quick):
    def make():
        x, h0, c0, wx, wh, b, _ = _inputs(t, n, d, h, 4, dtype)
        impls = {"fastdl": lambda: fd.lstm(x, h0, c0, wx, wh, b),
                 "numpy": lambda: reference.lstm_forward(x, h0, c0, wx, wh, b)}
        torch = _torch()
        if torch:
            m = _torch_module(torch, torch.nn.LSTM, wx, wh, b, d, h)
            tx, th0, tc0 = (torch.from_numpy(v) for v in (x, h0[None], c0[None]))

            def torch_f():
                with torch.no_grad():
                    return m(tx, (th0, tc0))

            impls["torch"] = torch_f
        return impls

    size = np.dtype(dtype).itemsize
    return Case("lstm", f"lstm {np.dtype(dtype).name} T{t} N{n} D{d} H{h} inference", np.dtype(dtype).name,
                2.0 * t * n * (d + h) * 4 * h, (t * n * (d + h) + 4 * h * (d + h)) * size, make, quick)


def _lstm_cell_case(n, d, h, dtype, quick):
    def make():
        x, h0, c0, wx, wh, b, dhs = _inputs(1, n, d, h, 4, dtype)
        x, dh = x[0], dhs[0]
        dc = _rand((n, h), dtype, 8)

        def fastdl_fb():
            out, cache = fd.lstm_cell_forward(x, h0, c0, wx, wh, b)
            return fd.lstm_cell_backward((dh, dc), cache)

        def numpy_fb():
            out, cache = reference.lstm_cell_forward(x, h0, c0, wx, wh, b)
            return reference.lstm_cell_backward((dh, dc), cache)

        impls = {"fastdl": fastdl_fb, "numpy": numpy_fb}
        torch = _torch()
        if torch:
            m = _torch_module(torch, torch.nn.LSTMCell, wx, wh, b, d, h)
            tx, th, tc = (torch.from_numpy(v).requires_grad_() for v in (x, h0, c0))
            tdh, tdc = torch.from_numpy(dh), torch.from_numpy(dc)

            def torch_fb():
                tx.grad = th.grad = tc.grad = None
                m.zero_grad()
                torch.autograd.backward(m(tx, (th, tc)), (tdh, tdc))

            impls["torch"] = torch_fb
        return impls

    size = np.dtype(dtype).itemsize
    return Case("lstm_cell", f"lstm_cell {np.dtype(dtype).name} N{n} D{d} H{h} fwd+bwd (one step)",
                np.dtype(dtype).name, 3 * 2.0 * n * (d + h) * 4 * h,
                (2 * n * (d + 4 * h) + 2 * 4 * h * (d + h)) * size, make, quick)


def _rnn_case(t, n, d, h, dtype, cell, quick):
    op = "rnn_cell" if cell else "rnn"

    def make():
        x, h0, _, wx, wh, b, dhs = _inputs(1 if cell else t, n, d, h, 1, dtype)
        if cell:
            x, dhs = x[0], dhs[0]
        fwd, bwd = getattr(fd, op + "_forward"), getattr(fd, op + "_backward")
        rfwd, rbwd = getattr(reference, op + "_forward"), getattr(reference, op + "_backward")

        def fastdl_fb():
            return bwd(dhs, fwd(x, h0, wx, wh, b)[1])

        def numpy_fb():
            return rbwd(dhs, rfwd(x, h0, wx, wh, b)[1])

        impls = {"fastdl": fastdl_fb, "numpy": numpy_fb}
        torch = _torch()
        if torch:
            m = _torch_module(torch, torch.nn.RNNCell if cell else torch.nn.RNN, wx, wh, b, d, h)
            tx = torch.from_numpy(x).requires_grad_()
            th = torch.from_numpy(h0 if cell else h0[None]).requires_grad_()
            tg = torch.from_numpy(dhs)

            def torch_fb():
                tx.grad = th.grad = None
                m.zero_grad()
                out = m(tx, th)
                (out if cell else out[0]).backward(tg)

            impls["torch"] = torch_fb
        return impls

    size = np.dtype(dtype).itemsize
    steps = 1 if cell else t
    shape = f"N{n} D{d} H{h} fwd+bwd (one step)" if cell else f"T{t} N{n} D{d} H{h} fwd+bwd"
    return Case(op, f"{op} {np.dtype(dtype).name} {shape}", np.dtype(dtype).name,
                3 * 2.0 * steps * n * (d + h) * h, (2 * steps * n * (d + 2 * h) + 2 * h * (d + h)) * size, make, quick)


CASES = [
    _lstm_case(64, 32, 128, 256, np.float32, quick=True),      # issue 5's target shape
    _lstm_case(64, 32, 128, 256, np.float64, quick=False),
    _lstm_inference_case(64, 32, 128, 256, np.float32, quick=False),
    _lstm_cell_case(32, 128, 256, np.float32, quick=True),      # issue 5's per-call target
    _rnn_case(64, 32, 128, 256, np.float32, cell=False, quick=False),
    _rnn_case(1, 32, 128, 256, np.float32, cell=True, quick=False),
]
