"""Reliability-registry entries for the norm, dropout and embed families.

main's tests/opinfo.py (the OpInfo-style registry that tests/test_reliability.py
runs through layout, mutation, aliasing, error, determinism, concurrency and
leak checks) arrived after this branch started; this module holds this
branch's entries in its format, so that merging needs two lines at the end of
opinfo.py:

    from opinfo_norm import register_norm
    register_norm(register, OpInfo, ErrorInput)

tests/test_opinfo_norm.py checks the entries on this branch.

The optimiser ops (sgd_step, rmsprop_step, adam_step, clip_grad_norm) have no
forward/backward pair and update their inputs in place by contract, so the
generic checks do not apply to them (see OPTIM_OPS); tests/test_optim.py holds
them to the same standards (reference and torch over many steps, bad input,
bit-identical results for 1 and 2 threads).
"""

from __future__ import annotations

import numpy as np

F = np.float32
OPTIM_OPS = ("sgd_step", "rmsprop_step", "adam_step", "clip_grad_norm")


def _r(rng, *shape):
    return rng.standard_normal(shape)


def register_norm(register, OpInfo, ErrorInput):
    """Adds an entry for every functional op of the norm, dropout and embed families."""

    def entry(name, samples, errors, has_backward=True):
        register(OpInfo(name, samples=samples, errors=lambda: [ErrorInput(*e) for e in errors()],
                        has_backward=has_backward))

    def not_float(*extra):
        return ((np.ones((4, 3, 5), np.int64), *extra), {}, TypeError,
                "x: expected a float32 or float64 array, got int64")

    # ---- batch_norm: training without running stats (with them the call updates
    # its inputs, by contract), and evaluation with positive running variances
    def bn_samples(rng):
        out = []
        for shape in ((3, 1), (8, 5), (7, 130), (2, 3, 4, 5), (300, 70)):
            c = shape[1]
            out.append(((_r(rng, *shape), _r(rng, c), _r(rng, c), None, None), {}))
            out.append(((_r(rng, *shape), _r(rng, c), None, _r(rng, c), 0.5 + rng.random(c)),
                        {"training": False}))
        out.append(((_r(rng, 0, 3, 4), None, None, np.zeros(3), np.ones(3)), {"training": False}))
        return out

    entry("batch_norm", bn_samples, lambda: [
        not_float(None, None, None, None),
        ((np.ones((4, 3, 5), F), np.ones(4, F), None, None, None), {}, ValueError, r"gamma must have shape \(3,\)"),
        ((np.ones((4, 3, 5), F), None, None, np.zeros(3, F), np.ones(2, F)), {}, ValueError,
         r"running_var must have shape \(3,\)"),
        ((np.ones((4, 3), F), np.ones(3), None, None, None), {}, TypeError, "mixed float dtypes"),
        ((np.ones((1, 3), F), None, None, None, None), {}, ValueError, "more than 1 value per channel"),
        ((np.ones((4, 3), F), None, None, None, None), {"training": False}, ValueError, "needs running_mean"),
    ])

    # ---- layer_norm
    def ln_samples(rng):
        out = []
        for shape, k in (((1, 7), 1), ((4, 10), 1), ((2, 3, 4, 5), 2), ((3, 2100), 1), ((130, 7), 1), ((0, 5), 1)):
            p = shape[len(shape) - k:]
            out.append(((_r(rng, *shape), _r(rng, *p), _r(rng, *p), k), {}))
        out.append(((_r(rng, 6, 8), None, None), {"eps": 1e-2}))
        return out

    entry("layer_norm", ln_samples, lambda: [
        not_float(None, None),
        ((np.ones((4, 3, 5), F), np.ones(3, F), None), {}, ValueError, r"gamma must have shape \(5,\)"),
        ((np.ones((4, 3, 5), F), None, None, 4), {}, ValueError, r"normalized_ndim must be in \[1, x.ndim = 3\]"),
    ])

    # ---- group_norm and instance_norm
    def gn_samples(rng):
        out = []
        for shape, g in (((2, 6, 4, 5), 3), ((2, 6, 4, 5), 1), ((3, 8), 2), ((1, 4, 3), 2), ((70, 4, 3), 2),
                         ((2, 4, 33, 40), 2), ((0, 4, 3), 2)):
            c = shape[1]
            out.append(((_r(rng, *shape), g, _r(rng, c), _r(rng, c)), {}))
        out.append(((_r(rng, 3, 4, 5), 2, None, None), {}))
        return out

    entry("group_norm", gn_samples, lambda: [
        not_float(3, None, None),
        ((np.ones((4, 6, 5), F), 4, None, None), {}, ValueError, "num_groups must be >= 1 and divide C = 6"),
        ((np.ones((4, 6, 5), F), 2, None, np.ones((6, 1), F)), {}, ValueError, r"beta must have shape \(6,\)"),
    ])

    def in_samples(rng):
        return [((_r(rng, *shape), _r(rng, shape[1]), _r(rng, shape[1])), {})
                for shape in ((2, 3, 4, 5), (1, 2, 7), (3, 2, 2, 2, 2), (2, 1, 40, 60))] + \
               [((_r(rng, 2, 3, 4), None, None), {})]

    entry("instance_norm", in_samples, lambda: [
        not_float(None, None),
        ((np.ones((2, 3, 1), F), None, None), {}, ValueError, "more than 1 spatial element"),
        ((np.ones((2, 3), F), None, None), {}, ValueError, "at least one spatial dim"),
    ])

    # ---- dropout: always with a seed (seed=None draws a fresh one: not repeatable by design)
    def do_samples(rng):
        return [((_r(rng, *shape),), {"p": p, "seed": 1234 + i})
                for i, (shape, p) in enumerate((((1,), 0.5), ((7,), 0.3), ((4, 5), 0.9), ((3, 4, 5, 6), 0.5),
                                                ((1000,), 0.5), ((0, 3), 0.5), ((5, 6), 0.0)))] + \
               [((_r(rng, 5, 6),), {"p": 0.5, "training": False})]

    entry("dropout", do_samples, lambda: [
        ((np.ones((2, 3), np.int64),), {"seed": 1}, TypeError, "x: expected a float32 or float64 array, got int64"),
        ((np.ones(4, F),), {"p": 1.0, "seed": 1}, ValueError, r"p must be in \[0, 1\)"),
        ((np.ones(4, F),), {"p": 0.5, "seed": -1}, ValueError, r"seed must be in \[0, 2\*\*64\)"),
        ((np.ones(4, F),), {"p": 0.5, "seed": 1.5}, TypeError, "seed must be an int or None"),
    ])

    # ---- embedding: integer indices (not cast), float weight
    def emb_samples(rng):
        out = []
        for shape, idtype, v, d in (((5,), np.int64, 10, 4), ((3, 4), np.int32, 7, 3), ((), np.int16, 6, 5),
                                    ((0,), np.int64, 4, 3), ((50,), np.uint8, 3, 8), ((2000,), np.int64, 500, 16)):
            out.append(((rng.integers(0, v, shape).astype(idtype), _r(rng, v, d)), {}))
        return out

    entry("embedding", emb_samples, lambda: [
        ((np.array([0, 5]), np.ones((5, 3), F)), {}, ValueError, r"indices must be in \[0, 5\)"),
        ((np.array([-1]), np.ones((5, 3), F)), {}, ValueError, r"indices must be in \[0, 5\)"),
        ((np.array([1.0]), np.ones((5, 3), F)), {}, TypeError, "indices must be an integer array, got float64"),
        ((np.array([1]), np.ones(5, F)), {}, ValueError, "weight: expected 2 dims"),
    ])

    # ---- positional_encoding: no array inputs, no backward worth checking
    entry("positional_encoding",
          lambda rng: [((length, d), {}) for length, d in ((1, 1), (50, 16), (7, 9), (0, 4))] +
                      [((30, 8), {"dtype": np.float64})],
          lambda: [((-1, 4), {}, ValueError, "must be >= 0"),
                   ((3.5, 4), {}, TypeError, "length and d_model must be ints"),
                   ((3, 4), {"dtype": np.int32}, TypeError, "dtype must be float32 or float64")],
          has_backward=False)
