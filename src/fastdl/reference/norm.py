"""Reference normalisation layers (NumPy, from the formulas; PyTorch semantics).

All four share one shape of computation: xhat = (x - mean) / sqrt(var + eps)
over some axes (biased variance), y = xhat * gamma + beta, and the backward

    dxhat = dy * gamma
    dx    = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))   (means over the same axes)
    dgamma = sum(dy * xhat), dbeta = sum(dy)                           (over every axis but gamma's)

gamma and beta may be None (no affine part; their gradients are then None).
"""

import math

import numpy as np

__all__ = [
    "batch_norm_backward", "batch_norm_forward", "group_norm_backward", "group_norm_forward",
    "instance_norm_backward", "instance_norm_forward", "layer_norm_backward", "layer_norm_forward",
]


def _affine(xhat, gamma, beta, shape):
    out = xhat
    if gamma is not None:
        out = out * gamma.reshape(shape)
    if beta is not None:
        out = out + beta.reshape(shape)
    return out


def _norm_backward(dy, xhat, rstd, gamma, shape, axes, param_axes):
    # axes: the normalised axes (means); param_axes: the axes gamma/beta are broadcast over
    dxhat = dy if gamma is None else dy * gamma.reshape(shape)
    m1 = dxhat.mean(axis=axes, keepdims=True)
    m2 = (dxhat * xhat).mean(axis=axes, keepdims=True)
    dx = rstd * (dxhat - m1 - xhat * m2)
    dgamma = None if gamma is None else (dy * xhat).sum(axis=param_axes).reshape(gamma.shape)
    return dx, dgamma


def batch_norm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
    # x (N, C, *spatial); gamma, beta, running_mean, running_var (C,)
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if training:
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)
        m = x.size // x.shape[1]
        if running_mean is not None:  # PyTorch's rule, unbiased variance in the running estimate
            running_mean[...] = (1 - momentum) * running_mean + momentum * mean
            running_var[...] = (1 - momentum) * running_var + momentum * var * m / (m - 1)
    else:
        mean, var = running_mean.copy(), running_var.copy()
    rstd = (1 / np.sqrt(var + eps)).reshape(shape)
    xhat = (x - mean.reshape(shape)) * rstd
    out = _affine(xhat, gamma, beta, shape)
    return out, (xhat, rstd, gamma, beta, training, axes, shape)


def batch_norm_backward(dout, cache):
    xhat, rstd, gamma, beta, training, axes, shape = cache
    if training:
        dx, dgamma = _norm_backward(dout, xhat, rstd, gamma, shape, axes, axes)
    else:  # mean and var are constants
        dx = dout * rstd * (1 if gamma is None else gamma.reshape(shape))
        dgamma = None if gamma is None else (dout * xhat).sum(axis=axes)
    dbeta = None if beta is None else dout.sum(axis=axes)
    return dx, dgamma, dbeta


def layer_norm_forward(x, gamma, beta, normalized_ndim=1, eps=1e-5):
    # x (*batch, *norm_shape) with len(norm_shape) = normalized_ndim; gamma, beta norm_shape
    axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    rstd = 1 / np.sqrt(var + eps)
    xhat = (x - mean) * rstd
    shape = x.shape[x.ndim - normalized_ndim:]
    return _affine(xhat, gamma, beta, shape), (xhat, rstd, gamma, beta, axes, shape)


def layer_norm_backward(dout, cache):
    xhat, rstd, gamma, beta, axes, shape = cache
    batch_axes = tuple(range(xhat.ndim - len(shape)))
    dx, dgamma = _norm_backward(dout, xhat, rstd, gamma, shape, axes, batch_axes)
    dbeta = None if beta is None else dout.sum(axis=batch_axes)
    return dx, dgamma, dbeta


def group_norm_forward(x, num_groups, gamma, beta, eps=1e-5):
    # x (N, C, *spatial), C divisible by num_groups; gamma, beta (C,)
    n, c = x.shape[:2]
    xg = x.reshape(n, num_groups, c // num_groups * math.prod(x.shape[2:]))  # (N, G, C/G * S)
    mean = xg.mean(axis=2, keepdims=True)
    var = xg.var(axis=2, keepdims=True)
    rstd = 1 / np.sqrt(var + eps)
    xhat = ((xg - mean) * rstd).reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return _affine(xhat, gamma, beta, shape), (xhat, rstd, num_groups, gamma, beta, shape)


def group_norm_backward(dout, cache):
    xhat, rstd, num_groups, gamma, beta, shape = cache
    n = xhat.shape[0]
    param_axes = (0,) + tuple(range(2, xhat.ndim))
    dxhat = dout if gamma is None else dout * gamma.reshape(shape)
    group = (n, num_groups, math.prod(xhat.shape[1:]) // num_groups)
    dxhat_g = dxhat.reshape(group)
    xhat_g = xhat.reshape(group)
    m1 = dxhat_g.mean(axis=2, keepdims=True)
    m2 = (dxhat_g * xhat_g).mean(axis=2, keepdims=True)
    dx = (rstd * (dxhat_g - m1 - xhat_g * m2)).reshape(xhat.shape)
    dgamma = None if gamma is None else (dout * xhat).sum(axis=param_axes)
    dbeta = None if beta is None else dout.sum(axis=param_axes)
    return dx, None, dgamma, dbeta  # None: num_groups is an integer input


def instance_norm_forward(x, gamma, beta, eps=1e-5):
    # x (N, C, *spatial): group norm with one channel per group
    return group_norm_forward(x, x.shape[1], gamma, beta, eps)


def instance_norm_backward(dout, cache):
    dx, _, dgamma, dbeta = group_norm_backward(dout, cache)
    return dx, dgamma, dbeta
