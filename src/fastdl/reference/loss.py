"""Reference losses (NumPy, from the formulas).

Reductions: 'none' keeps one value per element (per position for cross
entropy, per sample for hinge), 'sum' adds them, 'mean' divides the sum by
their number (cross entropy: by the positions whose label is not ignored).
Backward takes dout as a float for 'sum' / 'mean', an array for 'none'.
"""

import numpy as np

from .act import logistic

__all__ = [
    "bce_loss_backward", "bce_loss_forward", "bce_with_logits_loss_backward", "bce_with_logits_loss_forward",
    "cross_entropy_loss_backward", "cross_entropy_loss_forward", "gaussian_kl_loss_backward",
    "gaussian_kl_loss_forward", "hinge_loss_backward", "hinge_loss_forward", "l1_loss_backward", "l1_loss_forward",
    "mse_loss_backward", "mse_loss_forward",
]


def _reduce(values, reduction, count):
    if reduction == "none":
        return values
    total = values.sum()
    return np.asarray(total if reduction == "sum" else total / count, values.dtype)


def _scale(dout, reduction, count):
    # d(reduced loss) / d(value_i), broadcastable to the values
    if reduction == "none":
        return dout
    return float(dout) / (count if reduction == "mean" else 1)


def mse_loss_forward(pred, target, reduction="mean"):
    return _reduce((pred - target) ** 2, reduction, pred.size), (pred, target, reduction)


def mse_loss_backward(dout, cache):
    pred, target, reduction = cache
    g = _scale(dout, reduction, pred.size)
    d = 2 * (pred - target) * g
    return d.astype(pred.dtype), (-d).astype(pred.dtype)


def l1_loss_forward(pred, target, reduction="mean"):
    return _reduce(np.abs(pred - target), reduction, pred.size), (pred, target, reduction)


def l1_loss_backward(dout, cache):
    pred, target, reduction = cache
    d = np.sign(pred - target) * _scale(dout, reduction, pred.size)
    return d.astype(pred.dtype), (-d).astype(pred.dtype)


def _clamped_logs(p):
    # PyTorch's BCELoss: each log at least -100
    return np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)


def bce_loss_forward(prob, target, reduction="mean"):
    log_p, log_1mp = _clamped_logs(prob)
    return _reduce(-(target * log_p + (1 - target) * log_1mp), reduction, prob.size), (prob, target, reduction)


def bce_loss_backward(dout, cache):
    prob, target, reduction = cache
    g = _scale(dout, reduction, prob.size)
    log_p, log_1mp = _clamped_logs(prob)
    dprob = g * (prob - target) / np.maximum(prob * (1 - prob), 1e-12)
    return dprob.astype(prob.dtype), (g * (log_1mp - log_p)).astype(prob.dtype)


def bce_with_logits_loss_forward(logits, target, reduction="mean"):
    x = logits
    values = np.maximum(x, 0) - x * target + np.log1p(np.exp(-np.abs(x)))
    return _reduce(values, reduction, x.size), (logits, target, reduction)


def bce_with_logits_loss_backward(dout, cache):
    x, target, reduction = cache
    g = _scale(dout, reduction, x.size)
    return (g * (logistic(x) - target)).astype(x.dtype), (-g * x).astype(x.dtype)


def cross_entropy_loss_forward(logits, labels, ignore_index=-100, reduction="mean"):
    # logits (N, C, d1..dk), labels (N, d1..dk)
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    valid = labels != ignore_index
    safe = np.where(valid, labels, 0)
    picked = np.take_along_axis(logp, np.expand_dims(safe, 1), axis=1).squeeze(1)
    values = np.where(valid, -picked, 0).astype(logits.dtype)
    return _reduce(values, reduction, valid.sum()), (logits, labels, ignore_index, reduction)


def cross_entropy_loss_backward(dout, cache):
    logits, labels, ignore_index, reduction = cache
    valid = labels != ignore_index
    g = _scale(dout, reduction, valid.sum())
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    grad = e / e.sum(axis=1, keepdims=True)
    onehot = np.zeros_like(grad)
    np.put_along_axis(onehot, np.expand_dims(np.where(valid, labels, 0), 1), 1, axis=1)
    grad = (grad - onehot) * np.expand_dims(valid * np.broadcast_to(g, valid.shape), 1)
    return grad.astype(logits.dtype), None


def hinge_loss_forward(scores, labels, margin=1.0, reduction="mean"):
    # scores (N, C), labels (N,): sum over j != y of max(0, margin - s_y + s_j) / C
    n, c = scores.shape
    sy = scores[np.arange(n), labels][:, None]
    m = np.maximum(0, margin - sy + scores)
    m[np.arange(n), labels] = 0
    return _reduce(m.sum(axis=1) / c, reduction, n), (scores, labels, margin, reduction)


def hinge_loss_backward(dout, cache):
    scores, labels, margin, reduction = cache
    n, c = scores.shape
    g = np.broadcast_to(_scale(dout, reduction, n), (n,))[:, None] / c
    sy = scores[np.arange(n), labels][:, None]
    active = (margin - sy + scores > 0).astype(scores.dtype)
    active[np.arange(n), labels] = 0
    grad = active * g
    grad[np.arange(n), labels] = -active.sum(axis=1) * g[:, 0]
    return grad.astype(scores.dtype), None


def gaussian_kl_loss_forward(mu, logvar, reduction="mean"):
    # KL(N(mu, exp(logvar)) || N(0, 1)) per element
    values = -0.5 * (1 + logvar - mu**2 - np.exp(logvar))
    return _reduce(values, reduction, mu.size), (mu, logvar, reduction)


def gaussian_kl_loss_backward(dout, cache):
    mu, logvar, reduction = cache
    g = _scale(dout, reduction, mu.size)
    return (g * mu).astype(mu.dtype), (g * 0.5 * (np.exp(logvar) - 1)).astype(mu.dtype)
