"""Numba kernels of the optim family (contract: fastdl/ops/optim.py).

One njit kernel per tensor of the list (the C++ backend fuses the list into one
call); elements are independent, so prange order does not matter.
sum_squares adds fixed blocks of each tensor in block order (deterministic).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["adam_step", "rmsprop_step", "scale_inplace", "sgd_step", "sum_squares"]

_BLOCK = 1 << 14


@njit(parallel=True, cache=True)
def _sgd(p, buf, g, lr, mom, damp1, wd, nesterov, init):
    for i in prange(p.size):
        d = g[i] + wd * p[i]
        if mom != 0:
            b = d if init else mom * buf[i] + damp1 * d
            buf[i] = b
            d = d + mom * b if nesterov else b
        p[i] -= lr * d


def sgd_step(params, grads, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, init_buffer):
    for k, (p, g) in enumerate(zip(params, grads)):
        buf = momentum_buffer[k] if momentum_buffer is not None else np.empty(1, p.dtype)
        t = p.dtype.type  # hyperparameters applied in the array's dtype, as in the C++ kernels
        _sgd(p.reshape(-1), buf.reshape(-1), g.reshape(-1), t(lr), t(momentum), t(1 - dampening), t(weight_decay),
             bool(nesterov), bool(init_buffer))


@njit(parallel=True, cache=True)
def _rmsprop(p, sq, g, lr, alpha, alpha1, eps, wd):
    for i in prange(p.size):
        d = g[i] + wd * p[i]
        s = alpha * sq[i] + alpha1 * d * d
        sq[i] = s
        p[i] -= lr * (d / (np.sqrt(s) + eps))


def rmsprop_step(params, grads, square_avg, lr, alpha, eps, weight_decay):
    for p, g, s in zip(params, grads, square_avg):
        t = p.dtype.type
        _rmsprop(p.reshape(-1), s.reshape(-1), g.reshape(-1), t(lr), t(alpha), t(1 - alpha), t(eps), t(weight_decay))


@njit(parallel=True, cache=True)
def _adam(p, m, v, g, b1c, b2, b2c, eps, wd, decay, decoupled, step_size, bc2_sqrt):
    for i in prange(p.size):
        pi = p[i]
        gi = g[i]
        if decoupled:
            pi = pi * decay
        else:
            gi = gi + wd * pi
        mi = m[i] + b1c * (gi - m[i])
        vi = b2 * v[i] + b2c * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] = pi - step_size * (mi / (np.sqrt(vi) / bc2_sqrt + eps))


def adam_step(params, grads, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay, decoupled, step_size,
              bc2_sqrt):
    for p, g, m, v in zip(params, grads, exp_avg, exp_avg_sq):
        t = p.dtype.type
        _adam(p.reshape(-1), m.reshape(-1), v.reshape(-1), g.reshape(-1), t(1 - beta1), t(beta2), t(1 - beta2),
              t(eps), t(weight_decay), t(1 - lr * weight_decay), bool(decoupled), t(step_size), t(bc2_sqrt))


@njit(parallel=True, cache=True)
def _sum_squares(x, block):
    nb = (x.size + block - 1) // block
    part = np.zeros(nb)
    for b in prange(nb):
        acc = 0.0
        for i in range(b * block, min(x.size, (b + 1) * block)):
            v = np.float64(x[i])
            acc += v * v
        part[b] = acc
    s = 0.0
    for b in range(nb):
        s += part[b]
    return s


def sum_squares(x):
    s = 0.0
    for a in x:
        s += _sum_squares(a.reshape(-1), _BLOCK)
    return s


@njit(parallel=True, cache=True)
def _scale(x, scale):
    for i in prange(x.size):
        x[i] *= scale


def scale_inplace(x, scale):
    for a in x:
        _scale(a.reshape(-1), a.dtype.type(scale))

