"""loss family: mse, l1, bce, bce_with_logits, cross_entropy, hinge, gaussian KL.

Every loss takes ``reduction='mean' | 'sum' | 'none'``: 'none' returns one
value per element (per position for cross entropy, per sample for hinge),
'sum' and 'mean' a 0-d array of the input dtype; 'mean' divides by the number
of values (cross entropy: the positions whose label is not ``ignore_index``).
``NAME_backward(dout, cache)`` takes dout as a float for 'sum' / 'mean' and as
an array for 'none', and returns one gradient per input: float targets get
theirs (mse, l1, bce, bce_with_logits; gaussian_kl's logvar), integer labels
get None.

Backend kernels (``_cpu``, ``backends.numba_cpu``); kinds as in csrc/cpu/loss.h:
    pointwise_loss_fwd(kind, loss, a, b) -> (sum, bad)            loss (per element) may be None
    pointwise_loss_bwd(kind, da, db, a, b, dout, scale)          g = scale * dout (or scale)
    cross_entropy_fwd(loss, lse, x, labels, ignore) -> (sum, count, bad)   x (n, c, s), labels int64 (n, s)
    cross_entropy_bwd(dx, x, lse, labels, dout, scale, ignore)   dx = g (exp(x - lse) - onehot)
    hinge_fwd(loss, x, labels, margin) -> (sum, bad)             x (n, c)
    hinge_bwd(dx, x, labels, dout, scale, margin)
`bad` counts values outside the loss's domain (bce probabilities outside
[0, 1], labels out of range); the kernels never read at a bad label, and the
op raises ValueError. Sums are computed in double in a fixed order.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from .._alloc import empty
from .._cache import Cache
from .._dispatch import backend
from .._validate import device_of, float_array, grad_output, same_dtype

__all__ = [
    "bce_loss", "bce_loss_backward", "bce_loss_forward", "bce_with_logits_loss", "bce_with_logits_loss_backward",
    "bce_with_logits_loss_forward", "cross_entropy_loss", "cross_entropy_loss_backward", "cross_entropy_loss_forward",
    "gaussian_kl_loss", "gaussian_kl_loss_backward", "gaussian_kl_loss_forward", "hinge_loss", "hinge_loss_backward",
    "hinge_loss_forward", "l1_loss", "l1_loss_backward", "l1_loss_forward", "mse_loss", "mse_loss_backward",
    "mse_loss_forward",
]

# pointwise kinds (csrc/cpu/loss.h, enum Loss)
MSE, L1, BCE, BCE_LOGITS, GAUSSIAN_KL = range(5)
_REDUCTIONS = ("mean", "sum", "none")


def _reduction(op, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def _device(x):
    return "cpu" if type(x) is np.ndarray else "gpu"


def _reduced(total, count, reduction, dtype):
    """The 0-d result of a 'sum' / 'mean' reduction (mean of nothing: NaN, as torch)."""
    if reduction == "sum":
        return np.array(total, dtype)
    return np.array(total / count if count else math.nan, dtype)


def _dout(dout, cache, shape, dtype):
    """(dout array or None, scale) for the backward kernels."""
    reduction, count = cache.params["reduction"], cache.params["count"]
    if reduction == "none":
        g = grad_output("dout", dout, shape, dtype)
        return (np.ascontiguousarray(g) if type(g) is np.ndarray else g), 1.0
    if isinstance(dout, np.ndarray) and dout.ndim != 0:
        raise ValueError(f"dout: expected a scalar (the loss is reduced with {reduction!r}), got shape {dout.shape}")
    try:
        g = float(dout)
    except (TypeError, ValueError):
        raise TypeError(f"dout: expected a real number, got {type(dout).__name__}") from None
    if reduction == "mean":
        g = g / count if count else math.nan
    return None, g


# ---------------------------------------------------------------------------
# pointwise losses: a and b of one shape, one value per element


def _pointwise(op, kind, names, a, b, reduction):
    reduction = _reduction(op, reduction)
    a = float_array(names[0], a)
    b = float_array(names[1], b)
    dtype = same_dtype(**{names[0]: a, names[1]: b})
    device = device_of(**{names[0]: a, names[1]: b})
    if a.shape != b.shape:
        raise ValueError(f"{op}: {names[1]} must have {names[0]}'s shape {tuple(a.shape)}, got {tuple(b.shape)}")
    if device == "cpu":
        a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    values = empty(a.shape, dtype, a) if reduction == "none" else None
    total, bad = backend(op, device, dtype).pointwise_loss_fwd(kind, values, a, b)
    if bad:
        raise ValueError(f"{op}: {names[0]} must lie in [0, 1]; {bad} of its {a.size} values do not "
                         f"(min {np.nanmin(a)}, max {np.nanmax(a)})")
    out = values if reduction == "none" else _reduced(total, a.size, reduction, dtype)
    return out, Cache(op, {"a": a, "b": b}, kind=kind, reduction=reduction, count=a.size)


def _pointwise_backward(dout, cache):
    a, b = cache.arrays["a"], cache.arrays["b"]
    shape = a.shape
    g, scale = _dout(dout, cache, shape, a.dtype)
    da = empty(shape, a.dtype, a)
    db = empty(shape, a.dtype, a)
    backend(cache.op, _device(a), a.dtype).pointwise_loss_bwd(cache.params["kind"], da, db, a, b, g, scale)
    return da, db


def mse_loss(pred, target, reduction="mean"):
    """(pred - target)^2, reduced."""
    return _pointwise("mse_loss", MSE, ("pred", "target"), pred, target, reduction)[0]


def mse_loss_forward(pred, target, reduction="mean"):
    return _pointwise("mse_loss", MSE, ("pred", "target"), pred, target, reduction)


def mse_loss_backward(dout, cache):
    """(dpred, dtarget)."""
    return _pointwise_backward(dout, cache)


def l1_loss(pred, target, reduction="mean"):
    """|pred - target|, reduced; the gradient at pred == target is 0 (sign(0))."""
    return _pointwise("l1_loss", L1, ("pred", "target"), pred, target, reduction)[0]


def l1_loss_forward(pred, target, reduction="mean"):
    return _pointwise("l1_loss", L1, ("pred", "target"), pred, target, reduction)


def l1_loss_backward(dout, cache):
    """(dpred, dtarget)."""
    return _pointwise_backward(dout, cache)


def bce_loss(prob, target, reduction="mean"):
    """-(target log prob + (1 - target) log(1 - prob)), reduced.

    As PyTorch's BCELoss: each log is clamped at -100 (so prob = 0 or 1 gives
    a finite loss) and the gradient (prob - target) / (prob (1 - prob)) has
    its denominator clamped at eps = 1e-12. prob outside [0, 1] is a
    ValueError; NaN propagates.
    """
    return _pointwise("bce_loss", BCE, ("prob", "target"), prob, target, reduction)[0]


def bce_loss_forward(prob, target, reduction="mean"):
    return _pointwise("bce_loss", BCE, ("prob", "target"), prob, target, reduction)


def bce_loss_backward(dout, cache):
    """(dprob, dtarget)."""
    return _pointwise_backward(dout, cache)


def bce_with_logits_loss(logits, target, reduction="mean"):
    """bce_loss(sigmoid(logits), target) computed stably: max(x, 0) - x t + log(1 + exp(-|x|))."""
    return _pointwise("bce_with_logits_loss", BCE_LOGITS, ("logits", "target"), logits, target, reduction)[0]


def bce_with_logits_loss_forward(logits, target, reduction="mean"):
    return _pointwise("bce_with_logits_loss", BCE_LOGITS, ("logits", "target"), logits, target, reduction)


def bce_with_logits_loss_backward(dout, cache):
    """(dlogits, dtarget) = (g (sigmoid(x) - t), -g x)."""
    return _pointwise_backward(dout, cache)


def gaussian_kl_loss(mu, logvar, reduction="mean"):
    """KL(N(mu, exp(logvar)) || N(0, 1)) per element: -(1 + logvar - mu^2 - exp(logvar)) / 2.

    A VAE's usual term is reduction='sum' (over latent dims and batch).
    """
    return _pointwise("gaussian_kl_loss", GAUSSIAN_KL, ("mu", "logvar"), mu, logvar, reduction)[0]


def gaussian_kl_loss_forward(mu, logvar, reduction="mean"):
    return _pointwise("gaussian_kl_loss", GAUSSIAN_KL, ("mu", "logvar"), mu, logvar, reduction)


def gaussian_kl_loss_backward(dout, cache):
    """(dmu, dlogvar) = (g mu, g (exp(logvar) - 1) / 2)."""
    return _pointwise_backward(dout, cache)


# ---------------------------------------------------------------------------
# losses with integer labels


def _labels(op, labels, shape, x):
    if type(labels) is not np.ndarray:
        if hasattr(labels, "__cuda_array_interface__"):
            device_of(logits=x, labels=labels)  # raises when the devices differ
            return labels
        labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{op}: labels must be an integer array, got {labels.dtype}")
    if labels.shape != tuple(shape):
        raise ValueError(f"{op}: labels must have shape {tuple(shape)} to match the scores {tuple(x.shape)}, "
                         f"got {labels.shape}")
    if labels.dtype == np.uint64 and labels.size and labels.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{op}: labels must be class indices; got {labels.max()}")
    device_of(logits=x, labels=labels)
    return np.ascontiguousarray(labels, dtype=np.int64)


def _bad_labels(op, labels, c, ignore=None):
    lab = labels[labels != ignore] if ignore is not None else labels
    bad = lab[(lab < 0) | (lab >= c)]
    extra = f" or equal ignore_index={ignore}" if ignore is not None else ""
    return ValueError(f"{op}: labels must lie in [0, {c}){extra}; got {bad.size} that do not "
                      f"(e.g. {int(bad.flat[0])})")


def _cross_entropy(logits, labels, ignore_index, reduction):
    op = "cross_entropy_loss"
    reduction = _reduction(op, reduction)
    x = float_array("logits", logits)
    if x.ndim < 2:
        raise ValueError(f"{op}: logits must be (N, C) or (N, C, d1, ...), got shape {tuple(x.shape)}")
    try:
        ignore = operator.index(ignore_index)
    except TypeError:
        raise TypeError(f"{op}: ignore_index must be an int, got {type(ignore_index).__name__}") from None
    out_shape = (x.shape[0],) + tuple(x.shape[2:])
    lab = _labels(op, labels, out_shape, x)
    device = _device(x)
    if device == "cpu":
        x = np.ascontiguousarray(x)
    n, c, s = x.shape[0], x.shape[1], math.prod(x.shape[2:])
    values = empty(out_shape, x.dtype, x)
    lse = empty(out_shape, x.dtype, x)
    total, count, bad = backend(op, device, x.dtype).cross_entropy_fwd(
        values.reshape(n, s), lse.reshape(n, s), x.reshape(n, c, s), lab.reshape(n, s), ignore)
    if bad:
        raise _bad_labels(op, lab, c, ignore)
    out = values if reduction == "none" else _reduced(total, count, reduction, x.dtype)
    return out, Cache(op, {"logits": x, "labels": lab, "lse": lse}, ignore=ignore, reduction=reduction, count=count)


def cross_entropy_loss(logits, labels, ignore_index=-100, reduction="mean"):
    """-log_softmax(logits, axis=1)[label] per position; logits (N, C) or (N, C, d1, ...),
    labels (N,) or (N, d1, ...) of any integer dtype. Positions labelled
    ignore_index contribute 0 and are not counted by 'mean'."""
    return _cross_entropy(logits, labels, ignore_index, reduction)[0]


def cross_entropy_loss_forward(logits, labels, ignore_index=-100, reduction="mean"):
    """(loss, cache); the cache keeps logits, labels and one log-sum-exp per position."""
    return _cross_entropy(logits, labels, ignore_index, reduction)


def cross_entropy_loss_backward(dout, cache):
    """(dlogits, None): g (softmax(logits) - onehot(labels)), written in one pass from the logits."""
    x, lab, lse = cache.arrays["logits"], cache.arrays["labels"], cache.arrays["lse"]
    g, scale = _dout(dout, cache, lse.shape, x.dtype)
    n, c, s = x.shape[0], x.shape[1], math.prod(x.shape[2:])
    dx = empty(x.shape, x.dtype, x)
    backend(cache.op, _device(x), x.dtype).cross_entropy_bwd(
        dx.reshape(n, c, s), x.reshape(n, c, s), lse.reshape(n, s), lab.reshape(n, s),
        None if g is None else g.reshape(n, s), scale, cache.params["ignore"])
    return dx, None


def _hinge(scores, labels, margin, reduction):
    op = "hinge_loss"
    reduction = _reduction(op, reduction)
    x = float_array("scores", scores)
    if x.ndim != 2:
        raise ValueError(f"{op}: scores must be (N, C), got shape {tuple(x.shape)}")
    try:
        margin = float(margin)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: margin must be a real number, got {type(margin).__name__}") from None
    lab = _labels(op, labels, x.shape[:1], x)
    device = _device(x)
    if device == "cpu":
        x = np.ascontiguousarray(x)
    values = empty(x.shape[:1], x.dtype, x)
    total, bad = backend(op, device, x.dtype).hinge_fwd(values, x, lab, margin)
    if bad:
        raise _bad_labels(op, lab, x.shape[1])
    out = values if reduction == "none" else _reduced(total, x.shape[0], reduction, x.dtype)
    return out, Cache(op, {"scores": x, "labels": lab}, margin=margin, reduction=reduction, count=x.shape[0])


def hinge_loss(scores, labels, margin=1.0, reduction="mean"):
    """Multiclass hinge (PyTorch's MultiMarginLoss): per sample
    sum over j != y of max(0, margin - scores[y] + scores[j]) / C."""
    return _hinge(scores, labels, margin, reduction)[0]


def hinge_loss_forward(scores, labels, margin=1.0, reduction="mean"):
    return _hinge(scores, labels, margin, reduction)


def hinge_loss_backward(dout, cache):
    """(dscores, None)."""
    x, lab = cache.arrays["scores"], cache.arrays["labels"]
    g, scale = _dout(dout, cache, x.shape[:1], x.dtype)
    dx = empty(x.shape, x.dtype, x)
    backend(cache.op, _device(x), x.dtype).hinge_bwd(dx, x, lab, g, scale, cache.params["margin"])
    return dx, None
