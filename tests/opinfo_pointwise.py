"""Reliability-registry entries for the pointwise families (act, softmax, loss).

main's tests/opinfo.py (the OpInfo-style registry that tests/test_reliability.py
runs through layout, mutation, aliasing, error, determinism, concurrency and
leak checks) arrived after this branch started; this module holds this
branch's entries in its format, so that merging needs two lines at the end of
opinfo.py:

    from opinfo_pointwise import register_pointwise
    register_pointwise(register, OpInfo, ErrorInput)

tests/test_opinfo_pointwise.py checks the entries on this branch.
"""

from __future__ import annotations

import numpy as np

F = np.float32
REDUCTIONS = ("mean", "sum", "none")


def _r(rng, *shape):
    return rng.standard_normal(shape)


def _labels(rng, shape, c, ignore_frac=0.0):
    lab = rng.integers(0, c, shape)
    if ignore_frac:
        lab[rng.random(shape) < ignore_frac] = -100
    return lab


def _not_float(op, extra=()):
    return [((np.ones((2, 3), np.int64), *extra), {}, TypeError, "x: expected a float32 or float64 array, got int64")]


def register_pointwise(register, OpInfo, ErrorInput):
    """Adds an entry for every op of the act, softmax and loss families."""

    def entry(name, samples, errors):
        register(OpInfo(name, samples=samples, errors=lambda: [ErrorInput(*e) for e in errors()]))

    # ---- act: elementwise activations (kwargs: their modes)
    modes = {"sigmoid": [{}], "tanh": [{}], "relu": [{}], "silu": [{}],
             "leaky_relu": [{}, {"alpha": 0.2}], "elu": [{}, {"alpha": 0.5}],
             "gelu": [{}, {"approximate": "tanh"}]}
    extra_errors = {
        "leaky_relu": [((np.ones(3, F),), {"alpha": "big"}, TypeError, "alpha: expected a real number")],
        "elu": [((np.ones(3, F),), {"alpha": None}, TypeError, "alpha: expected a real number")],
        "gelu": [((np.ones(3, F),), {"approximate": "erf"}, ValueError, "approximate must be 'none' or 'tanh'")],
    }
    for name, kws in modes.items():
        def samples(rng, kws=kws):
            shapes = [(1,), (7, 13), (2, 3, 4, 5), (0, 4), (300, 257)]
            return [((_r(rng, *s),), kw) for s in shapes for kw in kws]

        entry(name, samples, lambda name=name: _not_float(name) + extra_errors.get(name, []))

    entry("prelu",
          lambda rng: [((_r(rng, 4, 3, 5), _r(rng, 3)), {}), ((_r(rng, 5, 19), _r(rng, 1)), {}),
                       ((_r(rng, 7), _r(rng, 1)), {}), ((_r(rng, 0, 3, 4), _r(rng, 3)), {}),
                       ((_r(rng, 3, 2, 300), _r(rng, 2)), {})],
          lambda: [((np.ones((2, 3, 4), F), np.ones(4, F)), {}, ValueError, r"alpha must be \(1,\) or \(3,\)"),
                   ((np.ones((2, 3), F), np.ones(3)), {}, TypeError, "mixed float dtypes")])
    entry("maxout",
          lambda rng: [((_r(rng, 1, 1),), {"pieces": 1}), ((_r(rng, 4, 12),), {"pieces": 3}),
                       ((_r(rng, 6, 66),), {"pieces": 2}), ((_r(rng, 0, 6),), {"pieces": 2})],
          lambda: [((np.ones((2, 7), F), 2), {}, ValueError, "not a multiple of pieces=2"),
                   ((np.ones((2, 6), F), 0), {}, ValueError, "pieces must be >= 1"),
                   ((np.ones(6, F), 2), {}, ValueError, "expected 2 dims")])

    # ---- softmax
    for name in ("softmax", "log_softmax"):
        entry(name,
              lambda rng: [((_r(rng, 1, 1),), {}), ((_r(rng, 4, 37),), {}), ((_r(rng, 4, 37),), {"axis": 0}),
                           ((_r(rng, 2, 5, 130),), {"axis": 1}), ((_r(rng, 0, 5),), {}),
                           ((_r(rng, 2, 70_001),), {})],
              lambda name=name: [((np.ones((2, 3), F),), {"axis": 2}, ValueError, "axis 2 is out of range"),
                                 ((np.float32(1.0),), {}, ValueError, "at least 1 dim")] + _not_float(name))

    # ---- losses
    def pair(make_a, make_b):
        def samples(rng):
            shapes = [(1,), (4, 5), (3, 2, 7), (1000,)]
            out = [((make_a(rng, s), make_b(rng, s)), {"reduction": r}) for s in shapes for r in REDUCTIONS]
            out.append(((make_a(rng, (0, 3)), make_b(rng, (0, 3))), {"reduction": "sum"}))
            return out
        return samples

    normal = lambda rng, s: rng.standard_normal(s)  # noqa: E731
    prob = lambda rng, s: rng.uniform(0.02, 0.98, s)  # noqa: E731
    unit = lambda rng, s: rng.uniform(0, 1, s)  # noqa: E731
    for name, a, b, names in (("mse_loss", normal, normal, ("pred", "target")),
                              ("l1_loss", normal, normal, ("pred", "target")),
                              ("bce_loss", prob, unit, ("prob", "target")),
                              ("bce_with_logits_loss", normal, unit, ("logits", "target")),
                              ("gaussian_kl_loss", normal, normal, ("mu", "logvar"))):
        def errors(name=name, names=names):
            errs = [((np.ones((3, 4), F), np.ones((4, 3), F)), {}, ValueError,
                     rf"{names[1]} must have {names[0]}'s shape \(3, 4\)"),
                    ((np.ones(3, F), np.ones(3)), {}, TypeError, "mixed float dtypes"),
                    ((np.ones(3, F), np.ones(3, F)), {"reduction": "avg"}, ValueError, "reduction must be")]
            if name == "bce_loss":
                errs.append(((np.array([0.5, 1.5], F), np.ones(2, F)), {}, ValueError, r"prob must lie in \[0, 1\]"))
            return errs

        entry(name, pair(a, b), errors)

    entry("cross_entropy_loss",
          lambda rng: [((_r(rng, 1, 1), _labels(rng, 1, 1)), {}),
                       ((_r(rng, 6, 37), _labels(rng, 6, 37, 0.2)), {"reduction": "none"}),
                       ((_r(rng, 64, 100), _labels(rng, 64, 100, 0.1)), {}),
                       ((_r(rng, 2, 5, 3, 4), _labels(rng, (2, 3, 4), 5, 0.2)), {"reduction": "sum"}),
                       ((_r(rng, 3, 4, 130), _labels(rng, (3, 130), 4).astype(np.int16)), {}),
                       ((_r(rng, 0, 4), _labels(rng, 0, 4)), {"reduction": "sum"})],
          lambda: [((np.ones((3, 4), F), np.array([0, 4, 1])), {}, ValueError, r"labels must lie in \[0, 4\)"),
                   ((np.ones((3, 4), F), np.array([0, 1, 2], F)), {}, TypeError, "labels must be an integer array"),
                   ((np.ones((3, 4), F), np.array([0, 1])), {}, ValueError, r"labels must have shape \(3,\)"),
                   ((np.ones(4, F), np.array(1)), {}, ValueError, r"logits must be \(N, C\)")])
    entry("hinge_loss",
          lambda rng: [((_r(rng, 1, 1), _labels(rng, 1, 1)), {}),
                       ((_r(rng, 5, 4), _labels(rng, 5, 4)), {"reduction": "none"}),
                       ((_r(rng, 40, 10), _labels(rng, 40, 10)), {"margin": 0.3}),
                       ((_r(rng, 0, 3), _labels(rng, 0, 3)), {"reduction": "sum"})],
          lambda: [((np.ones((3, 4), F), np.array([0, 9, 1])), {}, ValueError, r"labels must lie in \[0, 4\)"),
                   ((np.ones((2, 3, 4), F), np.zeros(2, np.int64)), {}, ValueError, r"scores must be \(N, C\)")])
