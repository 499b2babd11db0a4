"""The op registry for reliability tests (OpInfo-style), one entry per op of
the dispatch table.

Each entry knows how to draw sample inputs for an op (small, odd, batch 1,
zero-size) and which bad inputs must fail, with the exception type and a
message pattern. tests/test_reliability.py runs every entry through the
same generic checks: layouts (non-contiguous, Fortran, negative strides,
read-only) give the contiguous result, inputs are never modified and outputs
never alias them, errors are clear, results are bit-identical across thread
counts, runs and Python threads, and repeated calls do not leak.

A sample is (args, kwargs): args are arrays (float arrays are cast to the
test's dtype) or plain values. Adding an op family means adding its entries
here; test_registry_is_complete fails until every table op has samples and
error inputs.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np


@dataclasses.dataclass
class ErrorInput:
    args: tuple
    kwargs: dict
    exc: type
    match: str


@dataclasses.dataclass
class OpInfo:
    name: str
    samples: Callable[[np.random.Generator], list[tuple[tuple, dict]]]
    errors: Callable[[], list[ErrorInput]]
    has_backward: bool = True


def _r(rng, *shape):
    return rng.standard_normal(shape)


F = np.float32

REGISTRY: dict[str, OpInfo] = {}


def register(info: OpInfo):
    REGISTRY[info.name] = info


# ---------------------------------------------------------------------------
# matmul family

register(OpInfo(
    "matmul",
    samples=lambda rng: [
        ((_r(rng, 1, 1), _r(rng, 1, 1)), {}),
        ((_r(rng, 7, 13), _r(rng, 13, 5)), {}),
        ((_r(rng, 3, 1, 4, 6), _r(rng, 2, 6, 3)), {}),
        ((_r(rng, 9), _r(rng, 2, 9, 4)), {}),
        ((_r(rng, 0, 4), _r(rng, 4, 3)), {}),
        ((_r(rng, 70, 80), _r(rng, 80, 90)), {}),
        ((_r(rng, 4, 100, 90), _r(rng, 4, 90, 80)), {}),  # packed GEMMs inside the batch's parallel region
    ],
    errors=lambda: [
        ErrorInput((np.ones((2, 3), F), np.ones((4, 5), F)), {}, ValueError, r"got a \(2, 3\) and b \(4, 5\)"),
        ErrorInput((np.ones((2, 3), F), np.ones((3, 5))), {}, TypeError, "a is float32 but b is float64"),
        ErrorInput((np.ones((2, 3), np.int32), np.ones((3, 5), F)), {}, TypeError, "a: expected a float32 or float64 array, got int32"),
        ErrorInput((np.ones((2, 2, 3), F), np.ones((3, 3, 1), F)), {}, ValueError, "do not broadcast"),
    ],
))

register(OpInfo(
    "affine",
    samples=lambda rng: [
        ((_r(rng, 1, 1), _r(rng, 1, 1), _r(rng, 1)), {}),
        ((_r(rng, 5, 2, 3), _r(rng, 6, 7), _r(rng, 7)), {}),
        ((_r(rng, 4, 9), _r(rng, 9, 3), None), {}),
        ((_r(rng, 0, 9), _r(rng, 9, 3), _r(rng, 3)), {}),
        ((_r(rng, 33, 100), _r(rng, 100, 40), _r(rng, 40)), {}),
    ],
    errors=lambda: [
        ErrorInput((np.ones((4, 6), F), np.ones((5, 2), F)), {}, ValueError, r"w must be \(6, M\)"),
        ErrorInput((np.ones((4, 6), F), np.ones((6, 2), F), np.ones(3, F)), {}, ValueError, r"b: expected shape \(2,\)"),
        ErrorInput((np.ones((4, 6), F), np.ones((6, 2))), {}, TypeError, "mixed float dtypes"),
        ErrorInput((np.ones(6, F), np.ones((6, 2), F)), {}, ValueError, "at least 2 dims"),
    ],
))
