"""Numerical gradient checks: central differences in float64.

``gradcheck("affine", x, w, b)`` runs ``fd.affine_forward`` and
``fd.affine_backward`` on the given inputs and compares every analytic
gradient with ``(f(x + step) - f(x - step)) / (2 step)`` of the scalar
``sum(out * dout)`` for a random ``dout``. It reports, per input, the max
absolute difference divided by the largest gradient magnitude (so entries
that are zero in both do not blow up the ratio). With float64 inputs and
step = 1e-6 a correct backward gives about 1e-9 or less.

That divisor never drops below 1e6 times the rounding noise of a difference
quotient, eps * sum|out * dout| / step: a gradient that vanishes, or nearly
(softmax over one key, a norm over two values), is then judged against what
float64 can resolve instead of reporting the noise as a relative error of
order one. A wrong gradient of ordinary size is still reported at full size.
"""

from __future__ import annotations

import inspect

import numpy as np


def _objective(out, dout):
    if isinstance(out, tuple):
        return sum(_objective(o, d) for o, d in zip(out, dout) if d is not None)
    if np.ndim(out) == 0:
        return float(out) * float(dout)
    return float(np.sum(np.asarray(out, np.float64) * dout))


def _magnitude(out, dout):
    """sum |out * dout|: the size of the terms the objective adds up."""
    if isinstance(out, tuple):
        return sum(_magnitude(o, d) for o, d in zip(out, dout) if d is not None)
    return float(np.sum(np.abs(np.asarray(out, np.float64) * dout)))


def _random_dout(out, rng):
    if isinstance(out, tuple):
        return tuple(_random_dout(o, rng) for o in out)
    if np.ndim(out) == 0:
        return float(rng.uniform(0.5, 1.5))
    return rng.standard_normal(np.shape(out)).astype(np.asarray(out).dtype)


def gradcheck(op, *inputs, step: float = 1e-6, max_checks: int = 64, check_seed: int | None = None, **params):
    """Max relative error of each analytic gradient of `op` (a name or a
    (forward, backward) pair) against central differences.

    `params` go to the op (so an op's own `eps` or `seed` pass through);
    `step` is the finite-difference step, `check_seed` seeds the random dout
    and the choice of perturbed elements. Returns a dict {input name: error};
    inputs whose gradient is None (integer labels, absent optional inputs)
    are left out. At most `max_checks` randomly chosen elements of each
    input are perturbed.
    """
    import fastdl

    if isinstance(op, str):
        forward, backward = getattr(fastdl, op + "_forward"), getattr(fastdl, op + "_backward")
        names = list(inspect.signature(forward).parameters)
    else:
        forward, backward = op
        names = [f"input{i}" for i in range(len(inputs))]
    rng = np.random.default_rng(check_seed)
    inputs = [np.array(x, copy=True, order="C") if isinstance(x, np.ndarray) else x for x in inputs]

    out, cache = forward(*inputs, **params)
    dout = _random_dout(out, rng)
    grads = backward(dout, cache)

    noise = np.finfo(np.float64).eps * _magnitude(out, dout) / step
    report = {}
    for i, (x, g) in enumerate(zip(inputs, grads)):
        if g is None or not isinstance(x, np.ndarray) or x.dtype.kind != "f":
            continue
        if x.dtype != np.float64:
            raise TypeError(f"gradcheck: input {names[i]} is {x.dtype}; numerical gradients need float64")
        flat = x.reshape(-1)  # a view: inputs were copied above, so they are contiguous
        picks = np.arange(flat.size) if flat.size <= max_checks else rng.choice(flat.size, max_checks, replace=False)
        g = np.asarray(g, np.float64).reshape(-1)
        num = np.empty(len(picks))
        for j, idx in enumerate(picks):
            orig = flat[idx]
            flat[idx] = orig + step
            f_plus = _objective(forward(*inputs, **params)[0], dout)
            flat[idx] = orig - step
            f_minus = _objective(forward(*inputs, **params)[0], dout)
            flat[idx] = orig
            num[j] = (f_plus - f_minus) / (2 * step)
        ana = g[picks]
        scale = max(np.max(np.abs(num), initial=0.0), np.max(np.abs(ana), initial=0.0), 1e6 * noise, 1e-12)
        report[names[i] if i < len(names) else f"input{i}"] = float(np.max(np.abs(num - ana), initial=0.0) / scale)
    return report
