"""sgd_step, rmsprop_step, adam_step (AdamW), clip_grad_norm: many steps against the
reference and torch.optim, state handling, bad input, determinism.

Optimiser steps update arrays in place and carry state, so they do not fit
check_op; check_optimizer is their helper (test_dispatch counts it as the
op's correctness test).
"""

import numpy as np
import pytest

import fastdl as fd
from fastdl import reference
from helpers import at_threads, rel_err, tolerance

SHAPES = [(3, 4), (7,), (2, 3, 5), (1,), (0, 3), (40000,)]  # 40000: more than one thread's chunk


def _torch_optimizer(op, tparams, hyper):
    torch = pytest.importorskip("torch")
    h = dict(hyper)
    if op == "sgd_step":
        return torch.optim.SGD(tparams, **h)
    if op == "rmsprop_step":
        return torch.optim.RMSprop(tparams, **h)
    decoupled = h.pop("decoupled", False)
    h.setdefault("weight_decay", 0.0)
    return (torch.optim.AdamW if decoupled else torch.optim.Adam)(tparams, **h)


def _flat(arrays):
    return np.concatenate([np.asarray(a, np.float64).reshape(-1) for a in arrays]) if arrays else np.zeros(0)


def _compare(got, ref64, ref32, dtype, what):
    # DESIGN's norm-wise relative error over the whole list (a one-element
    # tensor, e.g. a moving average near zero, has no meaningful error of its own)
    assert len(got) == len(ref64)
    for g, r in zip(got, ref64):
        assert g.shape == r.shape, f"{what}: shape {g.shape} != {r.shape}"
    err, tol = rel_err(_flat(got), _flat(ref64)), tolerance(dtype, _flat(ref64), _flat(ref32))
    assert err <= tol, f"{what}: rel err {err:.3g} > {tol:.3g}"


def check_optimizer(op, hyper, *, backend, dtype, rng, shapes=SHAPES, steps=6):
    """Run `steps` steps of fd.<op> on fresh random grads; after each, params and
    state match the reference (float64 oracle, float32 tolerance from plain float32
    NumPy as in check_op); params are updated in place, grads untouched, the state
    dict is the one passed in. With float64, the final params also match torch.optim."""
    fd_fn, ref_fn = getattr(fd, op), getattr(reference, op)
    if op == "clip_grad_norm":
        for max_norm in (hyper["max_norm"], 1e9):           # clipping, and a no-op
            grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
            g64, g32 = [g.astype(np.float64) for g in grads], [g.astype(np.float32) for g in grads]
            tg = [g.astype(np.float64) for g in grads]  # for torch: the reference clips g64 in place
            with fd.use_backend(backend):
                total = fd_fn(grads, max_norm)
            ref_total, _ = ref_fn(g64, max_norm), ref_fn(g32, max_norm)
            assert isinstance(total, float)
            assert abs(total - ref_total) <= 1e-12 * ref_total  # both sum the same values in float64
            _compare(grads, g64, g32, dtype, "grads")
            torch = pytest.importorskip("torch")
            tp = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in tg]
            for p, g in zip(tp, tg):
                p.grad = torch.from_numpy(g)
            tnorm = torch.nn.utils.clip_grad_norm_(tp, max_norm)
            assert abs(float(tnorm) - ref_total) <= 1e-12 * ref_total
            for p, g in zip(tp, g64):
                np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-12, atol=0)
        return

    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ids = [id(p) for p in params]
    p64 = [p.astype(np.float64) for p in params]
    p32 = [p.astype(np.float32) for p in params]
    state, s64, s32 = ({} if "weight_decay" in hyper else None), None, None
    given = state
    torch = None
    if dtype == np.float64:
        torch = pytest.importorskip("torch")
        tparams = [torch.from_numpy(p.copy()).requires_grad_() for p in params]
        topt = _torch_optimizer(op, tparams, hyper)
    for _ in range(steps):
        grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
        before = [g.copy() for g in grads]
        with fd.use_backend(backend):
            state = fd_fn(params, grads, state, **hyper)
        s64 = ref_fn(p64, [g.astype(np.float64) for g in grads], s64, **hyper)
        s32 = ref_fn(p32, [g.astype(np.float32) for g in grads], s32, **hyper)
        assert given is None or state is given, "the state dict passed in must be updated and returned"
        given = state
        assert [id(p) for p in params] == ids
        for g, b in zip(grads, before):
            np.testing.assert_array_equal(g, b, err_msg=f"{op} modified a grad")
        _compare(params, p64, p32, dtype, f"{op} params")
        assert state["step"] == s64["step"]
        for name in set(s64) - {"step"}:
            _compare(state[name], s64[name], s32[name], dtype, f"{op} state[{name!r}]")
            assert all(b.dtype == dtype and b.flags.c_contiguous for b in state[name])
        if torch is not None:
            for tp, g in zip(tparams, grads):
                tp.grad = torch.from_numpy(g)
            topt.step()
    if torch is not None:
        err = rel_err(_flat(params), _flat([tp.detach().numpy() for tp in tparams]))
        assert err <= 1e-12, f"{op} params differ from torch.optim: rel err {err:.3g}"


SGD = [
    {"lr": 0.1},
    {"lr": 0.1, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01},
    {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1},
]


@pytest.mark.parametrize("hyper", SGD, ids=str)
def test_sgd(hyper, backend, dtype, rng):
    check_optimizer("sgd_step", hyper, backend=backend, dtype=dtype, rng=rng)


@pytest.mark.parametrize("hyper", [{}, {"lr": 0.003, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.05}], ids=str)
def test_rmsprop(hyper, backend, dtype, rng):
    check_optimizer("rmsprop_step", hyper, backend=backend, dtype=dtype, rng=rng)


ADAM = [
    {},
    {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1},
    {"lr": 0.01, "weight_decay": 0.1, "decoupled": True},     # AdamW
    {"lr": 0.002, "betas": (0.0, 0.5), "decoupled": True, "weight_decay": 0.0},
]


@pytest.mark.parametrize("hyper", ADAM, ids=str)
def test_adam(hyper, backend, dtype, rng):
    check_optimizer("adam_step", hyper, backend=backend, dtype=dtype, rng=rng)


@pytest.mark.parametrize("max_norm", [0.5, 3.0])
def test_clip_grad_norm(max_norm, backend, dtype, rng):
    check_optimizer("clip_grad_norm", {"max_norm": max_norm}, backend=backend, dtype=dtype, rng=rng)


def test_mixed_dtypes_and_empty_lists(backend, rng):
    # float32 and float64 params in one list: one kernel call per dtype, each in its own precision.
    params = [rng.standard_normal(5).astype(np.float32), rng.standard_normal(4), rng.standard_normal(3).astype(np.float32)]
    grads = [rng.standard_normal(p.shape).astype(p.dtype) for p in params]
    ref = [p.copy() for p in params]
    with fd.use_backend(backend):
        state = fd.adam_step(params, grads, lr=0.1)
        assert fd.sgd_step([], [], lr=0.1) == {"step": 1}
        assert fd.clip_grad_norm([], 1.0) == 0.0
    reference.adam_step(ref, [g.copy() for g in grads], lr=0.1)
    for p, r in zip(params, ref):
        assert p.dtype == r.dtype and rel_err(p, r) < 1e-6
    assert [m.dtype for m in state["exp_avg"]] == [np.float32, np.float64, np.float32]


def test_state_round_trip_and_resume(backend, rng):
    # A state dict filled by one call continues where it left off (as torch's does),
    # whether it was created by fastdl or handed in empty.
    p1 = [rng.standard_normal((4, 3))]
    p2 = [p1[0].copy()]
    s1, s2 = None, {}
    with fd.use_backend(backend):
        for _ in range(3):
            g = [rng.standard_normal((4, 3))]
            s1 = fd.sgd_step(p1, g, s1, lr=0.1, momentum=0.9)
            fd.sgd_step(p2, g, s2, lr=0.1, momentum=0.9)
    np.testing.assert_array_equal(p1[0], p2[0])
    np.testing.assert_array_equal(s1["momentum_buffer"][0], s2["momentum_buffer"][0])
    assert s1["step"] == s2["step"] == 3


@pytest.mark.parametrize("op,hyper", [("adam_step", {"lr": 0.01}), ("sgd_step", {"lr": 0.1, "momentum": 0.5}),
                                      ("rmsprop_step", {})], ids=str)
def test_bit_identical_for_any_thread_count(op, hyper, backend, rng):
    params = [rng.standard_normal(s).astype(np.float32) for s in [(300, 700), (5,), (100000,)]]
    grads = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
    runs = []
    for threads in (1, 2):
        with at_threads(threads):
            ps, gs = [p.copy() for p in params], [g.copy() for g in grads]
            with fd.use_backend(backend):
                state = getattr(fd, op)(ps, gs, **hyper)
                state = getattr(fd, op)(ps, gs, state, **hyper)
                norm = fd.clip_grad_norm(gs, 1.0)
            runs.append((ps, gs, norm))
    (p1, g1, n1), (p2, g2, n2) = runs
    assert n1 == n2
    for a, b in zip(p1 + g1, p2 + g2):
        np.testing.assert_array_equal(a, b)


def test_nan_grad_gives_nan_param(backend):
    p = [np.ones(4, np.float32)]
    g = [np.array([0, np.nan, 1, 2], np.float32)]
    with fd.use_backend(backend):
        fd.adam_step(p, g, lr=0.1)
        assert np.isnan(p[0][1]) and np.isfinite(p[0][[0, 2, 3]]).all()
        assert np.isnan(fd.clip_grad_norm(g, 1.0)) and np.isnan(g[0]).all()


# ---------------------------------------------------------------------------
# bad input

F32 = np.float32


def test_mismatched_lists():
    p = [np.zeros((2, 3), F32), np.zeros(4, F32)]
    with pytest.raises(ValueError, match=r"adam_step: grads has 1 arrays but params has 2"):
        fd.adam_step(p, [np.zeros((2, 3), F32)])
    with pytest.raises(ValueError, match=r"sgd_step: grads\[1\] has shape \(5,\), expected \(4,\) \(params\[1\]'s\)"):
        fd.sgd_step(p, [np.zeros((2, 3), F32), np.zeros(5, F32)], lr=0.1)
    with pytest.raises(TypeError, match=r"rmsprop_step: grads\[0\] is float64 but params\[0\] is float32"):
        fd.rmsprop_step(p, [np.zeros((2, 3)), np.zeros(4, F32)])
    with pytest.raises(TypeError, match=r"params\[0\]: expected a float32 or float64 array, got int64"):
        fd.adam_step([np.zeros(3, np.int64)], [np.zeros(3, np.int64)])
    with pytest.raises(TypeError, match=r"params\[1\]: expected a float32 or float64 NumPy array, got list"):
        fd.adam_step([np.zeros(3, F32), [1.0, 2.0]], [np.zeros(3, F32), np.zeros(2, F32)])
    with pytest.raises(TypeError, match="params must be a list of arrays"):
        fd.adam_step(3.0, [])
    assert (p[0] == 0).all() and (p[1] == 0).all()  # nothing was updated


def test_params_must_be_updatable():
    p = np.zeros((4, 6), F32)
    with pytest.raises(ValueError, match=r"params\[0\] is updated in place and must be C-contiguous"):
        fd.adam_step([p[:, ::2]], [np.zeros((4, 3), F32)])
    ro = np.zeros(3, F32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"params\[0\] is updated in place and must be writeable"):
        fd.sgd_step([ro], [np.zeros(3, F32)], lr=0.1)
    with pytest.raises(ValueError, match=r"grads\[0\] is updated in place"):
        fd.clip_grad_norm([ro], 1.0)
    # a non-contiguous grad is fine (read only)
    q = [np.zeros((4, 3), F32)]
    fd.sgd_step(q, [np.ones((4, 6), F32)[:, ::2]], lr=0.5)
    np.testing.assert_array_equal(q[0], -0.5)


def test_bad_state():
    p = [np.zeros(3, F32)]
    g = [np.ones(3, F32)]
    with pytest.raises(ValueError, match=r"state\['exp_avg'\] has 2 arrays but params has 1"):
        fd.adam_step(p, g, {"exp_avg": [np.zeros(3, F32)] * 2})
    with pytest.raises(ValueError, match=r"state\['square_avg'\]\[0\] has shape \(4,\), expected \(3,\)"):
        fd.rmsprop_step(p, g, {"square_avg": [np.zeros(4, F32)]})
    with pytest.raises(TypeError, match="state must be a dict or None"):
        fd.adam_step(p, g, [1])


@pytest.mark.parametrize("call,msg", [
    (lambda p, g: fd.sgd_step(p, g, lr=-1.0), "invalid lr: -1.0"),
    (lambda p, g: fd.sgd_step(p, g, lr=0.1, nesterov=True), "Nesterov momentum requires a momentum"),
    (lambda p, g: fd.sgd_step(p, g, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
    (lambda p, g: fd.adam_step(p, g, betas=(1.0, 0.9)), "invalid beta parameter at index 0: 1.0"),
    (lambda p, g: fd.adam_step(p, g, betas=(0.9, -0.1)), "invalid beta parameter at index 1"),
    (lambda p, g: fd.adam_step(p, g, eps=-1e-8), "invalid eps"),
    (lambda p, g: fd.rmsprop_step(p, g, alpha=-0.5), "invalid alpha"),
    (lambda p, g: fd.rmsprop_step(p, g, weight_decay=-0.5), "invalid weight_decay"),
    (lambda p, g: fd.clip_grad_norm(g, -1.0), "invalid max_norm"),
])
def test_bad_hyperparameters(call, msg):
    p = [np.zeros(3, F32)]
    with pytest.raises(ValueError, match=msg):
        call(p, [np.ones(3, F32)])
    assert (p[0] == 0).all()


def test_sgd_requires_lr():
    with pytest.raises(TypeError, match="lr"):
        fd.sgd_step([np.zeros(3, F32)], [np.ones(3, F32)])
