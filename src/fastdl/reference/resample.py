"""Reference upsample2d (NumPy, from the formulas).

Interpolation along each axis is a matrix A (out, in): out = A_h @ x @ A_w^T
per channel plane, and the backward is dx = A_h^T @ dout @ A_w. Source
coordinates follow PyTorch's ``interpolate``: with a scale factor s the
step is 1/s, otherwise in/out; ``align_corners`` maps the corner pixels'
centres onto each other. Coordinates are computed in the input's dtype
(PyTorch's rule), nearest's always in float32.
"""

import numpy as np

__all__ = ["upsample2d_backward", "upsample2d_forward"]

A_CUBIC = -0.75  # Keys' cubic convolution parameter (PyTorch, OpenCV)


def _cubic(d):
    d = np.abs(d)
    return np.where(d <= 1, ((A_CUBIC + 2) * d - (A_CUBIC + 3)) * d * d + 1,
                    np.where(d < 2, ((A_CUBIC * d - 5 * A_CUBIC) * d + 8 * A_CUBIC) * d - 4 * A_CUBIC, 0.0))


def axis_matrix(n_in, n_out, mode, align_corners, scale, dtype):
    """A (n_out, n_in): row o holds the weights that output index o gives the inputs."""
    a = np.zeros((n_out, n_in))
    o = np.arange(n_out)
    if mode == "nearest":
        if n_out == n_in:
            src = o
        elif n_out == 2 * n_in:
            src = o // 2
        else:
            s = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)
            src = np.minimum(np.floor(o.astype(np.float32) * s).astype(np.int64), n_in - 1)
        a[o, src] = 1
        return a
    if mode == "bilinear" and n_out == n_in:
        return np.eye(n_in)
    t = np.dtype(dtype).type
    if align_corners:
        s = t(n_in - 1) / t(n_out - 1) if n_out > 1 else t(0)
        src = s * o.astype(dtype)
    else:
        s = t(1.0 / scale) if scale else t(n_in) / t(n_out)
        src = s * (o.astype(dtype) + t(0.5)) - t(0.5)
    if mode == "bilinear":
        src = np.maximum(src, 0)
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        lam = np.clip(src - i0, 0, 1).astype(np.float64)
        i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
        np.add.at(a, (o, i0), 1 - lam)
        np.add.at(a, (o, i1), lam)
        return a
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    frac = np.clip(src - i0, 0, 1).astype(np.float64)
    for k in range(4):  # taps i0 - 1 .. i0 + 2, at distance frac + 1, frac, 1 - frac, 2 - frac
        np.add.at(a, (o, np.clip(i0 - 1 + k, 0, n_in - 1)), _cubic(frac + 1 - k))
    return a


def upsample2d_forward(x, size=None, scale_factor=None, mode="nearest", align_corners=False):
    # x (N, C, H, W) -> (N, C, Ho, Wo)
    h, w = x.shape[2:]
    sf = (None, None) if scale_factor is None else (
        (scale_factor, scale_factor) if np.isscalar(scale_factor) else tuple(scale_factor))
    if size is not None:
        ho, wo = (size, size) if np.isscalar(size) else tuple(size)
    else:
        ho, wo = int(np.floor(h * sf[0])), int(np.floor(w * sf[1]))
    if mode == "bicubic" and (ho, wo) == (h, w):
        ah, aw = np.eye(h), np.eye(w)     # PyTorch copies a same-size bicubic resize
    else:
        ah = axis_matrix(h, ho, mode, align_corners, sf[0], x.dtype)
        aw = axis_matrix(w, wo, mode, align_corners, sf[1], x.dtype)
    out = np.einsum("ph,nchw,qw->ncpq", ah.astype(x.dtype), x, aw.astype(x.dtype))
    return out, (ah, aw)


def upsample2d_backward(dout, cache):
    ah, aw = cache
    return (np.einsum("ph,ncpq,qw->nchw", ah.astype(dout.dtype), dout, aw.astype(dout.dtype)),)
