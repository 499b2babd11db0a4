"""The pointwise families' registry entries (tests/opinfo_pointwise.py): one
entry per op of the act, softmax and loss families, whose samples run
forward and backward on every backend, give the same bits for another
layout and another thread count, and whose error inputs raise as listed."""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import pytest

import fastdl as fd
from fastdl import _dispatch
from opinfo_pointwise import register_pointwise


@dataclasses.dataclass
class ErrorInput:
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
register_pointwise(lambda info: REGISTRY.__setitem__(info.name, info), OpInfo, ErrorInput)
OPS = sorted(REGISTRY)
FAMILIES = ("act", "softmax", "loss")


def test_every_op_of_the_families_has_an_entry():
    ops = {n for f in FAMILIES for n in getattr(fd.ops, f).__all__ if not n.endswith(("_forward", "_backward"))}
    assert ops == set(OPS)
    assert set(OPS) <= {op for op, _, _ in _dispatch.TABLE}


def _run(name, args, kwargs):
    out, cache = getattr(fd, name + "_forward")(*args, **kwargs)
    dout = 1.0 if np.ndim(out) == 0 else np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
    return [np.asarray(out)] + [g for g in getattr(fd, name + "_backward")(dout, cache) if g is not None]


def _cast(args, dtype):
    return tuple(a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args)


def _same(xs, ys):
    return len(xs) == len(ys) and all(x.shape == y.shape and np.array_equal(x, y, equal_nan=True) for x, y in zip(xs, ys))


@pytest.mark.parametrize("name", OPS)
def test_samples_layouts_threads(name, backend, dtype):
    rng = np.random.default_rng(3)
    old = fd.get_num_threads()
    try:
        with fd.use_backend(backend):
            for args, kwargs in REGISTRY[name].samples(rng):
                args = _cast(args, dtype)
                want = _run(name, args, kwargs)
                fortran = tuple(np.asfortranarray(a) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
                                for a in args)
                assert _same(_run(name, fortran, kwargs), want), f"{name}: Fortran-ordered inputs differ"
                fd.set_num_threads(1)
                assert _same(_run(name, args, kwargs), want), f"{name}: 1 thread differs"
                fd.set_num_threads(old)
    finally:
        fd.set_num_threads(old)


@pytest.mark.parametrize("name", OPS)
def test_error_inputs(name):
    for e in REGISTRY[name].errors():
        with pytest.raises(e.exc, match=e.match):
            getattr(fd, name)(*e.args, **e.kwargs)
        with pytest.raises(e.exc, match=e.match):
            getattr(fd, name + "_forward")(*e.args, **e.kwargs)
