"""Argument checks shared by every op: clear TypeError/ValueError messages.

Each check names the argument and shows the expected and the actual value.
They sit on every call's path, so they are written to be cheap for the
common case (NumPy float arrays) and only build messages when failing.
"""

from __future__ import annotations

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _kind(x) -> str:
    return type(x).__module__.split(".")[0] + "." + type(x).__name__


def float_array(name: str, x):
    """x as a float32/float64 array (NumPy, or a GPU array left as it is)."""
    if type(x) is not np.ndarray:
        if hasattr(x, "__cuda_array_interface__"):
            if x.dtype not in FLOAT_DTYPES:
                raise TypeError(f"{name}: expected a float32 or float64 array, got {x.dtype}")
            return x
        if isinstance(x, np.ndarray):
            x = np.asarray(x)  # subclasses (np.matrix, masked) become plain arrays
        else:
            try:
                x = np.asarray(x)
            except Exception as e:
                raise TypeError(f"{name}: expected an array, got {_kind(x)}") from e
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: expected a float32 or float64 array, got {x.dtype}")
    return x


def device_of(**arrays) -> str:
    """'cpu' or 'gpu' for arrays that all live on one device, else TypeError."""
    devices = {name: ("gpu" if hasattr(a, "__cuda_array_interface__") else "cpu")
               for name, a in arrays.items() if a is not None}
    if len(set(devices.values())) > 1:
        desc = ", ".join(f"{n} on {d}" for n, d in devices.items())
        raise TypeError(f"arrays on different devices: {desc}")
    return next(iter(devices.values()), "cpu")


def same_dtype(**arrays):
    """The one dtype of all non-None arrays, else TypeError naming them."""
    dtype = None
    for a in arrays.values():
        if a is None:
            continue
        if dtype is None:
            dtype = a.dtype
        elif a.dtype != dtype:
            desc = ", ".join(f"{n} {a.dtype}" for n, a in arrays.items() if a is not None)
            raise TypeError(f"mixed float dtypes: {desc}; cast them to one dtype")
    return dtype


def expect_ndim(name: str, x, ndim: int | tuple[int, ...], what: str = ""):
    ok = x.ndim == ndim if isinstance(ndim, int) else x.ndim in ndim
    if not ok:
        want = ndim if isinstance(ndim, int) else " or ".join(map(str, ndim))
        raise ValueError(f"{name}: expected {want} dims{what}, got shape {tuple(x.shape)}")


def expect_shape(name: str, x, shape: tuple, what: str = ""):
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}{what}, got {tuple(x.shape)}")


def grad_output(name: str, dout, shape: tuple, dtype):
    """dout as an array with the forward output's shape and dtype."""
    dout = float_array(name, dout)
    if dout.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)} (the forward output), got {tuple(dout.shape)}")
    if dout.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {dtype} (the forward output), got {dout.dtype}")
    return dout


def out_array(out, shape, dtype, *inputs):
    """A caller's `out=` buffer: a writeable C-contiguous NumPy array of `shape`
    and `dtype` that either is one of `inputs` exactly (in place) or does not
    overlap any of them."""
    if type(out) is not np.ndarray:
        raise TypeError(f"out: expected a NumPy array, got {_kind(out)}")
    if out.shape != tuple(shape):
        raise ValueError(f"out: expected shape {tuple(shape)}, got {out.shape}")
    if out.dtype != dtype:
        raise TypeError(f"out: expected dtype {np.dtype(dtype)}, got {out.dtype}")
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("out: must be a writeable C-contiguous array")
    for x in inputs:
        if (type(x) is np.ndarray and np.may_share_memory(out, x)
                and not (x.shape == out.shape and x.strides == out.strides
                         and x.__array_interface__["data"][0] == out.__array_interface__["data"][0])
                and np.shares_memory(out, x)):
            raise ValueError("out: overlaps an input without being the same array (in place needs out=x)")
    return out
