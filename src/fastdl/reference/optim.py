"""Reference optimiser steps (NumPy, torch.optim's formulas, one tensor at a time).

Same API as fastdl's: params (list of arrays) updated in place, `state` dict with
torch's buffer names created when None, updated in place and returned. The
arithmetic runs in the arrays' dtype (float64 for the oracle).
"""

import math

import numpy as np

__all__ = ["adam_step", "clip_grad_norm", "rmsprop_step", "sgd_step"]


def sgd_step(params, grads, state=None, *, lr, momentum=0, dampening=0, nesterov=False, weight_decay=0):
    state = {} if state is None else state
    bufs = state.get("momentum_buffer")
    new = [None] * len(params)
    for i, (p, g) in enumerate(zip(params, grads)):
        d = g + weight_decay * p
        if momentum != 0:
            if bufs is None:
                b = d.copy()                                  # torch: clone(d_p) on the first step
            else:
                b = momentum * bufs[i] + (1 - dampening) * d
            new[i] = b
            d = d + momentum * b if nesterov else b
        p -= lr * d
    if momentum != 0:
        if bufs is None:
            state["momentum_buffer"] = new
        else:
            for b, n in zip(bufs, new):
                b[...] = n
    state["step"] = state.get("step", 0) + 1
    return state


def rmsprop_step(params, grads, state=None, *, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0):
    state = {} if state is None else state
    sq = state.setdefault("square_avg", [np.zeros_like(p) for p in params])
    for p, g, s in zip(params, grads, sq):
        d = g + weight_decay * p
        s[...] = alpha * s + (1 - alpha) * d * d
        p -= lr * d / (np.sqrt(s) + eps)
    state["step"] = state.get("step", 0) + 1
    return state


def adam_step(params, grads, state=None, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
              decoupled=False):
    state = {} if state is None else state
    beta1, beta2 = betas
    m = state.setdefault("exp_avg", [np.zeros_like(p) for p in params])
    v = state.setdefault("exp_avg_sq", [np.zeros_like(p) for p in params])
    step = state["step"] = state.get("step", 0) + 1
    for p, g, mi, vi in zip(params, grads, m, v):
        if decoupled:
            p *= 1 - lr * weight_decay                        # AdamW
        else:
            g = g + weight_decay * p
        mi[...] = beta1 * mi + (1 - beta1) * g
        vi[...] = beta2 * vi + (1 - beta2) * g * g
        m_hat = mi / (1 - beta1**step)
        denom = np.sqrt(vi) / math.sqrt(1 - beta2**step) + eps
        p -= lr * m_hat / denom
    return state


def clip_grad_norm(grads, max_norm):
    total = math.sqrt(sum(float(np.sum(np.asarray(g, np.float64) ** 2)) for g in grads))
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g *= coef
    return total
