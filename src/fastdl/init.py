"""Weight initialisers with torch.nn.init's formulas, seeded, returning new NumPy arrays.

    w = fd.init.kaiming_normal((3072, 100), nonlinearity="relu", seed=0)   # affine w (D, M)
    k = fd.init.xavier_uniform((16, 3, 3, 3), seed=0)                      # conv w (F, C, kh, kw)

Fans follow fastdl's layouts, which give the same numbers as torch for the same layer:
- 2-D weights are (fan_in, fan_out): fastdl's affine computes x @ w with w (D, M)
  (torch's Linear stores the transpose, (M, D)); recurrent wx (D, H), wh (H, H) alike.
- weights with more dims are (out_channels, in_channels, *kernel), as torch:
  fan_in = shape[1] * prod(kernel), fan_out = shape[0] * prod(kernel).

`seed` is an int, a ``numpy.random.Generator`` (drawn from, so successive calls
differ), or None (fresh OS entropy). NumPy does the drawing: these are not kernels.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "calculate_gain", "fans", "kaiming_normal", "kaiming_uniform", "normal", "uniform", "xavier_normal",
    "xavier_uniform",
]

_LINEAR = {"linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid"}


def calculate_gain(nonlinearity: str, param=None) -> float:
    """torch.nn.init.calculate_gain: the std gain that keeps activations' scale."""
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _shape(shape):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if any(int(n) < 0 for n in shape):
        raise ValueError(f"init: shape must not have negative sizes, got {shape}")
    return tuple(int(n) for n in shape)


def fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of `shape` in fastdl's layout (see the module doc)."""
    shape = _shape(shape)
    if len(shape) < 2:
        raise ValueError(f"init: fan in and fan out need a weight with at least 2 dims, got shape {shape}")
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"init: dtype must be float32 or float64, got {dtype}")
    return dtype


def uniform(shape, a=0.0, b=1.0, *, seed=None, dtype=np.float32):
    """U(a, b) samples."""
    if not a <= b:
        raise ValueError(f"uniform: need a <= b, got a={a}, b={b}")
    return _rng(seed).uniform(a, b, _shape(shape)).astype(_dtype(dtype))


def normal(shape, mean=0.0, std=1.0, *, seed=None, dtype=np.float32):
    """N(mean, std^2) samples."""
    if not std >= 0:
        raise ValueError(f"normal: std must be >= 0, got {std}")
    return _rng(seed).normal(mean, std, _shape(shape)).astype(_dtype(dtype))


def xavier_uniform(shape, gain=1.0, *, seed=None, dtype=np.float32):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    fan_in, fan_out = fans(shape)
    a = gain * math.sqrt(6.0 / max(fan_in + fan_out, 1))
    return uniform(shape, -a, a, seed=seed, dtype=dtype)


def xavier_normal(shape, gain=1.0, *, seed=None, dtype=np.float32):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    return normal(shape, 0.0, gain * math.sqrt(2.0 / max(fan_in + fan_out, 1)), seed=seed, dtype=dtype)


def _kaiming_std(shape, a, mode, nonlinearity):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fans(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(max(fan, 1))


def kaiming_uniform(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", *, seed=None, dtype=np.float32):
    """U(-b, b) with b = gain * sqrt(3 / fan) (He et al., 2015); `a` is leaky_relu's slope."""
    bound = math.sqrt(3.0) * _kaiming_std(shape, a, mode, nonlinearity)
    return uniform(shape, -bound, bound, seed=seed, dtype=dtype)


def kaiming_normal(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", *, seed=None, dtype=np.float32):
    """N(0, std^2) with std = gain / sqrt(fan) (He et al., 2015); `a` is leaky_relu's slope."""
    return normal(shape, 0.0, _kaiming_std(shape, a, mode, nonlinearity), seed=seed, dtype=dtype)
