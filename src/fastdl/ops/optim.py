"""optim family: in-place optimiser steps with torch.optim's formulas, and gradient clipping.

    state = fd.adam_step(params, grads, state, lr=1e-3)   # params updated in place

``params`` and ``grads`` are lists of arrays (one grad per param, same shape and
dtype); params must be writeable and C-contiguous since they are updated in
place. ``state`` is a dict created when None (or filled when empty) and updated
in place, with torch's names: ``momentum_buffer``, ``square_avg``, ``exp_avg``,
``exp_avg_sq`` (lists of arrays, one per param) and ``step`` (int). Every list
is updated by one fused multi-tensor kernel call (one per dtype when params mix
float32 and float64).

Backend kernels (``_cpu``, ``backends.numba_cpu``), lists of C-contiguous arrays:
    sgd_step(params, grads, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, init_buffer)
    rmsprop_step(params, grads, square_avg, lr, alpha, eps, weight_decay)
    adam_step(params, grads, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay, decoupled,
              step_size, bc2_sqrt)
    sum_squares(grads) -> float;  scale_inplace(grads, scale)
"""

from __future__ import annotations

import math

import numpy as np

from .._dispatch import backend
from .._validate import FLOAT_DTYPES

__all__ = ["adam_step", "clip_grad_norm", "rmsprop_step", "sgd_step"]


def _array_list(op, name, xs):
    if isinstance(xs, np.ndarray):
        xs = [xs]
    try:
        xs = list(xs)
    except TypeError:
        raise TypeError(f"{op}: {name} must be a list of arrays, got {type(xs).__name__}") from None
    for i, x in enumerate(xs):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{op}: {name}[{i}]: expected a float32 or float64 NumPy array, got {type(x).__name__}")
        if x.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{op}: {name}[{i}]: expected a float32 or float64 array, got {x.dtype}")
    return xs


def _inplace(op, name, xs):
    for i, x in enumerate(xs):
        if not x.flags.writeable:
            raise ValueError(f"{op}: {name}[{i}] is updated in place and must be writeable")
        if not x.flags.c_contiguous:
            raise ValueError(f"{op}: {name}[{i}] is updated in place and must be C-contiguous")
    return xs


def _matching(op, name, xs, params, contiguous):
    """xs checked against params: one array each, same shape and dtype."""
    xs = _array_list(op, name, xs)
    if len(xs) != len(params):
        raise ValueError(f"{op}: {name} has {len(xs)} arrays but params has {len(params)}")
    for i, (x, p) in enumerate(zip(xs, params)):
        if x.shape != p.shape:
            raise ValueError(f"{op}: {name}[{i}] has shape {x.shape}, expected {p.shape} (params[{i}]'s)")
        if x.dtype != p.dtype:
            raise TypeError(f"{op}: {name}[{i}] is {x.dtype} but params[{i}] is {p.dtype}")
    return [np.ascontiguousarray(x) for x in xs] if not contiguous else _inplace(op, name, xs)


def _setup(op, params, grads, state):
    params = _inplace(op, "params", _array_list(op, "params", params))
    grads = _matching(op, "grads", grads, params, contiguous=False)
    if state is None:
        state = {}
    elif not isinstance(state, dict):
        raise TypeError(f"{op}: state must be a dict or None, got {type(state).__name__}")
    return params, grads, state


def _buffer(op, state, name, params, fresh):
    """state[name], created with `fresh(p)` per param when missing; else checked."""
    bufs = state.get(name)
    if bufs is None:
        bufs = state[name] = [fresh(p) for p in params]
        return bufs, True
    return _matching(op, f"state['{name}']", bufs, params, contiguous=True), False


def _groups(params):
    """Indices of params per dtype (one kernel call each), in order of first appearance."""
    groups = {}
    for i, p in enumerate(params):
        groups.setdefault(p.dtype, []).append(i)
    return groups.items()


def _check(op, **values):
    for name, (v, ok) in values.items():
        if not ok:
            raise ValueError(f"{op}: invalid {name}: {v}")


def _run(op, params, kernel, lists, *scalars):
    for dtype, idx in _groups(params):
        be = backend(op, "cpu", dtype)
        getattr(be, kernel)(*([l[i] for i in idx] if l is not None else None for l in lists), *scalars)


def sgd_step(params, grads, state=None, *, lr, momentum=0, dampening=0, nesterov=False, weight_decay=0):
    """SGD with momentum/Nesterov/weight decay (torch.optim.SGD); returns the state dict."""
    params, grads, state = _setup("sgd_step", params, grads, state)
    lr, momentum, dampening, weight_decay = map(float, (lr, momentum, dampening, weight_decay))
    _check("sgd_step", lr=(lr, lr >= 0), momentum=(momentum, momentum >= 0),
           weight_decay=(weight_decay, weight_decay >= 0))
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("sgd_step: Nesterov momentum requires a momentum and zero dampening")
    bufs, init = None, False
    if momentum != 0:
        bufs, init = _buffer("sgd_step", state, "momentum_buffer", params, np.empty_like)
    _run("sgd_step", params, "sgd_step", (params, grads, bufs), lr, momentum, dampening, weight_decay,
         bool(nesterov), init)
    state["step"] = int(state.get("step", 0)) + 1
    return state


def rmsprop_step(params, grads, state=None, *, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0):
    """RMSprop (torch.optim.RMSprop, not centered, no momentum); returns the state dict."""
    params, grads, state = _setup("rmsprop_step", params, grads, state)
    lr, alpha, eps, weight_decay = map(float, (lr, alpha, eps, weight_decay))
    _check("rmsprop_step", lr=(lr, lr >= 0), alpha=(alpha, alpha >= 0), eps=(eps, eps >= 0),
           weight_decay=(weight_decay, weight_decay >= 0))
    sq, _ = _buffer("rmsprop_step", state, "square_avg", params, np.zeros_like)
    _run("rmsprop_step", params, "rmsprop_step", (params, grads, sq), lr, alpha, eps, weight_decay)
    state["step"] = int(state.get("step", 0)) + 1
    return state


def adam_step(params, grads, state=None, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
              decoupled=False):
    """Adam (torch.optim.Adam), or AdamW when decoupled=True; returns the state dict."""
    op = "adam_step"
    params, grads, state = _setup(op, params, grads, state)
    beta1, beta2 = map(float, betas)
    lr, eps, weight_decay = map(float, (lr, eps, weight_decay))
    _check(op, lr=(lr, lr >= 0), eps=(eps, eps >= 0), weight_decay=(weight_decay, weight_decay >= 0),
           **{"beta parameter at index 0": (beta1, 0 <= beta1 < 1),
              "beta parameter at index 1": (beta2, 0 <= beta2 < 1)})
    m, _ = _buffer(op, state, "exp_avg", params, np.zeros_like)
    v, _ = _buffer(op, state, "exp_avg_sq", params, np.zeros_like)
    step = int(state.get("step", 0)) + 1
    step_size = lr / (1 - beta1**step)
    bc2_sqrt = math.sqrt(1 - beta2**step)
    _run(op, params, "adam_step", (params, grads, m, v), lr, beta1, beta2, eps, weight_decay,
         bool(decoupled), step_size, bc2_sqrt)
    state["step"] = step
    return state


def clip_grad_norm(grads, max_norm):
    """Scale grads in place so that their global 2-norm is at most max_norm
    (torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e-6));
    returns the norm before clipping, as a float."""
    op = "clip_grad_norm"
    grads = _inplace(op, "grads", _array_list(op, "grads", grads))
    max_norm = float(max_norm)
    _check(op, max_norm=(max_norm, max_norm >= 0))
    groups = list(_groups(grads))
    sq = 0.0
    for dtype, idx in groups:
        sq += backend(op, "cpu", dtype).sum_squares([grads[i] for i in idx])
    total = math.sqrt(sq)
    coef = max_norm / (total + 1e-6)
    if not coef >= 1:  # also NaN, as torch: a NaN norm makes NaN grads
        for dtype, idx in groups:
            backend(op, "cpu", dtype).scale_inplace([grads[i] for i in idx], coef)
    return total
