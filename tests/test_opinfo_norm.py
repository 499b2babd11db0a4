"""Checks tests/opinfo_norm.py's registry entries on this branch (main's
test_reliability.py runs them through its generic checks once merged):
every sample runs forward and backward; other layouts of each float input give
bit-identical results and are not modified; 1 and 2 threads and repeated runs
agree bit for bit; every error input raises the stated exception and message."""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import pytest

import fastdl as fd
from fastdl import _dispatch
from opinfo_norm import OPTIM_OPS, register_norm


@dataclasses.dataclass
class ErrorInput:  # main's tests/opinfo.py classes, same fields
    args: tuple
    kwargs: dict
    exc: type
    match: str


@dataclasses.dataclass
class OpInfo:
    name: str
    samples: Callable
    errors: Callable
    has_backward: bool = True


REGISTRY: dict[str, OpInfo] = {}
register_norm(lambda info: REGISTRY.__setitem__(info.name, info), OpInfo, ErrorInput)
MINE = ("batch_norm", "layer_norm", "group_norm", "instance_norm", "dropout", "embedding", "positional_encoding")


def test_entries_cover_this_branchs_ops():
    table_ops = {op for op, _, _ in _dispatch.TABLE}
    assert set(MINE) <= table_ops and set(REGISTRY) == set(MINE)
    assert set(OPTIM_OPS) == set(fd.ops.optim.__all__)


def _cast(args, dtype):
    return tuple(a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args)


def _run(name, args, kwargs):
    out, cache = getattr(fd, name + "_forward")(*args, **kwargs)
    results = [np.asarray(out)]
    if REGISTRY[name].has_backward:
        dout = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
        results += [g for g in getattr(fd, name + "_backward")(dout, cache) if g is not None]
    return results


def _same(xs, ys):
    return len(xs) == len(ys) and all(x.shape == y.shape and np.array_equal(x, y, equal_nan=True)
                                      for x, y in zip(xs, ys))


LAYOUTS = {
    "fortran": np.asfortranarray,
    "negative strides": lambda x: np.flip(np.flip(x).copy()) if x.ndim else x,
    "strided view": lambda x: np.repeat(x, 2, axis=-1)[..., ::2] if x.ndim else x,
}


@pytest.mark.parametrize("name", MINE)
def test_samples_layouts_and_determinism(name, backend, dtype):
    info = REGISTRY[name]
    for args, kwargs in info.samples(np.random.default_rng(7)):
        kwargs = dict(kwargs, dtype=dtype) if name == "positional_encoding" and "dtype" not in kwargs else kwargs
        args = _cast(args, dtype)
        with fd.use_backend(backend):
            base = _run(name, args, kwargs)
            assert _same(base, _run(name, args, kwargs)), f"{name}: two runs differ"
            for k, a in enumerate(args):
                if not (isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.size):
                    continue
                for layout, f in LAYOUTS.items():
                    v = f(a)
                    before = v.copy()
                    got = _run(name, args[:k] + (v,) + args[k + 1:], kwargs)
                    assert _same(got, base), f"{name}: {layout} input {k} changes the result"
                    np.testing.assert_array_equal(v, before, err_msg=f"{name} modified input {k}")
        old = fd.get_num_threads()
        try:
            runs = []
            for threads in (1, 2):
                fd.set_num_threads(threads)
                with fd.use_backend(backend):
                    runs.append(_run(name, args, kwargs))
        finally:
            fd.set_num_threads(old)
        assert _same(*runs), f"{name}: 1 and 2 threads differ"


@pytest.mark.parametrize("name", MINE)
def test_error_inputs(name, backend):
    for e in REGISTRY[name].errors():
        with fd.use_backend(backend), pytest.raises(e.exc, match=e.match):
            getattr(fd, name)(*e.args, **e.kwargs)
