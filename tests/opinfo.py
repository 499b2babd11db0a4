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


# ---------------------------------------------------------------------------
# rnn family: x (T, N, D) time-major (cells: (N, D)), wx (D, gH), wh (H, gH)


def _rnn_samples(gates, seq, states):
    def samples(rng):
        out = []
        for T, N, D, H in ((3, 1, 1, 1), (4, 5, 7, 13), (2, 3, 6, 40), (0, 2, 3, 4)):
            if not seq and T == 0:
                continue
            s = 1 / np.sqrt(D + H)
            x = _r(rng, T, N, D) if seq else _r(rng, N, D)
            st = tuple(_r(rng, N, H) for _ in range(states))
            out.append(((x, *st, s * _r(rng, D, gates * H), s * _r(rng, H, gates * H), _r(rng, gates * H)), {}))
        return out
    return samples


def _rnn_errors(op, gates, seq, states):
    def errors():
        x = np.ones((2, 3, 4) if seq else (3, 4), F)
        st = tuple(np.ones((3, 5), F) for _ in range(states))
        wx, wh, b = np.ones((4, gates * 5), F), np.ones((5, gates * 5), F), np.ones(gates * 5, F)
        return [
            ErrorInput((x, *st, np.ones((4, gates * 5 + 1), F), wh, b), {}, ValueError, rf"{op}: wx: expected shape"),
            ErrorInput((x, *st, wx, np.ones((5, 5 * gates + 2), F), b), {}, ValueError, rf"{op}: wh: expected shape"),
            ErrorInput((x, *st, wx, wh, np.ones(3, F)), {}, ValueError, rf"{op}: b: expected shape"),
            ErrorInput((x, *(np.ones((3, 6), F) for _ in range(states)), wx, wh, b), {}, ValueError, "expected shape \\(N, H\\)"),
            ErrorInput((x.astype(np.float64), *st, wx, wh, b), {}, TypeError, "mixed float dtypes"),
        ]
    return errors


for _op, _gates, _seq, _states in (("rnn_cell", 1, False, 1), ("rnn", 1, True, 1),
                                   ("lstm_cell", 4, False, 2), ("lstm", 4, True, 2)):
    register(OpInfo(_op, samples=_rnn_samples(_gates, _seq, _states), errors=_rnn_errors(_op, _gates, _seq, _states)))


# ---------------------------------------------------------------------------
# attention: q (..., Lq, D), k (..., Lk, D), v (..., Lk, Dv)


def _sdpa_samples(rng):
    bool_mask = rng.random((1, 5, 9)) < 0.7
    return [
        ((_r(rng, 1, 1), _r(rng, 1, 1), _r(rng, 1, 1)), {}),
        ((_r(rng, 2, 5, 8), _r(rng, 2, 9, 8), _r(rng, 2, 9, 3)), {}),
        ((_r(rng, 2, 5, 8), _r(rng, 2, 9, 8), _r(rng, 2, 9, 3)), {"causal": True}),
        ((_r(rng, 2, 5, 8), _r(rng, 2, 9, 8), _r(rng, 2, 9, 3), bool_mask), {"scale": 0.3}),
        ((_r(rng, 2, 3, 100, 16), _r(rng, 2, 3, 130, 16), _r(rng, 2, 3, 130, 16)), {"causal": True}),
        ((_r(rng, 0, 4, 8), _r(rng, 0, 6, 8), _r(rng, 0, 6, 8)), {}),
    ]


register(OpInfo(
    "scaled_dot_product_attention",
    samples=_sdpa_samples,
    errors=lambda: [
        ErrorInput((np.ones((2, 4, 8), F), np.ones((2, 5, 7), F), np.ones((2, 5, 3), F)), {}, ValueError, "head dim must equal"),
        ErrorInput((np.ones((2, 4, 8), F), np.ones((3, 5, 8), F), np.ones((3, 5, 3), F)), {}, ValueError, "batch dims of q, k, v must be equal"),
        ErrorInput((np.ones((2, 4, 8), F), np.ones((2, 5, 8), F), np.ones((2, 6, 3), F)), {}, ValueError, "as many keys"),
        ErrorInput((np.ones((2, 4, 8), F), np.ones((2, 5, 8), F), np.ones((2, 5, 3), F), np.ones((3, 4, 5), bool)), {},
                   ValueError, "does not broadcast"),
        ErrorInput((np.ones((2, 4, 8), F), np.ones((2, 5, 8)), np.ones((2, 5, 3), F)), {}, TypeError, "mixed float dtypes|float64"),
    ],
))


# ---------------------------------------------------------------------------
# act, softmax, loss families (entries in opinfo_pointwise.py)

from opinfo_pointwise import register_pointwise  # noqa: E402

register_pointwise(register, OpInfo, ErrorInput)


# ---------------------------------------------------------------------------
# norm, dropout, embed families (entries in opinfo_norm.py). The optimiser
# steps update their inputs in place by contract and have no forward/backward
# pair: tests/test_optim.py holds them to the same standards (EXEMPT).

from opinfo_norm import OPTIM_OPS, register_norm  # noqa: E402

register_norm(register, OpInfo, ErrorInput)
EXEMPT = {op: "in-place optimiser step, checked by tests/test_optim.py" for op in OPTIM_OPS}


# ---------------------------------------------------------------------------
# conv, pool, resample families (entries in opinfo_conv.py)

from opinfo_conv import register_conv  # noqa: E402

register_conv(register, OpInfo, ErrorInput)
