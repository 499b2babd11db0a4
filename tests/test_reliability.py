"""Generic reliability checks over every op in tests/opinfo.py's registry.

Layouts, input mutation, aliasing, error messages, determinism across thread
counts / runs / Python threads, and leaks. Per-op numerics (reference,
gradcheck) live in the family test files; these tests hold every op to the
same contract whatever its family.
"""

from __future__ import annotations

import gc
import sys
import threading
import tracemalloc

import numpy as np
import pytest

import fastdl as fd
from fastdl import _dispatch
from helpers import at_threads
from opinfo import EXEMPT, REGISTRY

OPS = sorted(REGISTRY)


def test_registry_is_complete():
    table_ops = {op for op, _, _ in _dispatch.TABLE}
    missing = table_ops - set(REGISTRY) - set(EXEMPT)
    assert not missing, f"ops in the dispatch table without a registry entry: {missing}"
    rng = np.random.default_rng(0)
    for name, info in REGISTRY.items():
        assert info.samples(rng), f"{name}: no samples"
        assert info.errors(), f"{name}: no error inputs"


def _cast(args, dtype):
    return tuple(a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args)


def _run(name, args, kwargs, dout_seed=1):
    """forward, inference and backward outputs, as a flat list of arrays."""
    fwd = getattr(fd, name + "_forward")
    out, cache = fwd(*args, **kwargs)
    outs = list(out) if isinstance(out, tuple) else [out]
    results = [np.asarray(o) for o in outs]
    info = REGISTRY[name]
    if info.has_backward:
        rng = np.random.default_rng(dout_seed)
        douts = [rng.standard_normal(np.shape(o)).astype(np.asarray(o).dtype) for o in outs]
        dout = tuple(douts) if isinstance(out, tuple) else douts[0]
        if not isinstance(out, tuple) and np.ndim(out) == 0:
            dout = 1.0  # a scalar loss takes a float
        grads = getattr(fd, name + "_backward")(dout, cache)
        results += [g for g in grads if g is not None]
    return results


def _same(xs, ys):
    return len(xs) == len(ys) and all(x.shape == y.shape and np.array_equal(x, y, equal_nan=True) for x, y in zip(xs, ys))


# Layout variants of one float input: same values, other memory layout.
LAYOUTS = {
    "fortran": lambda x: np.asfortranarray(x),
    "negative strides": lambda x: np.flip(np.flip(x).copy()) if x.ndim else x,
    "strided view": lambda x: np.repeat(x, 2, axis=-1)[..., ::2] if x.ndim else x,
    "read-only": lambda x: _readonly(x),
}


def _readonly(x):
    y = x.copy()
    y.flags.writeable = False
    return y


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", OPS)
def test_layouts_match_contiguous_and_inputs_untouched(name, layout, backend, dtype):
    rng = np.random.default_rng(123)
    with fd.use_backend(backend):
        for args, kwargs in REGISTRY[name].samples(rng):
            args = _cast(args, dtype)
            want = _run(name, args, kwargs)
            varied = tuple(LAYOUTS[layout](a) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args)
            before = [a.copy() if isinstance(a, np.ndarray) else a for a in varied]
            got = _run(name, varied, kwargs)
            assert _same(got, want), f"{name} with {layout} inputs differs from contiguous"
            for a, b in zip(varied, before):
                if isinstance(a, np.ndarray):
                    assert np.array_equal(a, b, equal_nan=True), f"{name} modified an input"
            for o in got:
                for a in varied:
                    if isinstance(a, np.ndarray):
                        assert not np.shares_memory(o, a), f"{name}: an output aliases an input"


@pytest.mark.parametrize("name", OPS)
def test_error_inputs(name):
    for e in REGISTRY[name].errors():
        with pytest.raises(e.exc, match=e.match):
            getattr(fd, name)(*e.args, **e.kwargs)
        if REGISTRY[name].has_backward:
            with pytest.raises(e.exc, match=e.match):
                getattr(fd, name + "_forward")(*e.args, **e.kwargs)


@pytest.mark.parametrize("name", OPS)
def test_bit_identical_across_threads_and_runs(name, backend, dtype):
    rng = np.random.default_rng(7)
    with fd.use_backend(backend):
        for args, kwargs in REGISTRY[name].samples(rng):
            args = _cast(args, dtype)
            runs = []
            for threads in (1, 2, 3, 2):
                with at_threads(threads):
                    runs.append(_run(name, args, kwargs))
            for r in runs[1:]:
                assert _same(r, runs[0]), f"{name}: results depend on the thread count or the run"


@pytest.mark.parametrize("name", OPS)
def test_concurrent_python_threads_match_serial(name, dtype):
    # The GIL is released inside kernels: several Python threads calling the
    # same op at once must each get exactly the serial result.
    rng = np.random.default_rng(11)
    cases = [_cast(a, dtype) + (k,) for a, k in REGISTRY[name].samples(rng)]
    serial = [_run(name, c[:-1], c[-1]) for c in cases]
    failures = []

    def worker(i):
        for _ in range(5):
            for c, want in zip(cases, serial):
                if not _same(_run(name, c[:-1], c[-1]), want):
                    failures.append(i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, f"{name}: concurrent calls gave different results (threads {failures})"


@pytest.mark.parametrize("name", OPS)
def test_no_leaks(name):
    rng = np.random.default_rng(5)
    args, kwargs = REGISTRY[name].samples(rng)[1]
    args = _cast(args, np.float32)
    arrays = [a for a in args if isinstance(a, np.ndarray)]  # (None's count moves with everything)
    refcounts = [sys.getrefcount(a) for a in arrays]
    errors = REGISTRY[name].errors()

    def once():
        _run(name, args, kwargs)
        for e in errors:
            try:
                getattr(fd, name)(*e.args, **e.kwargs)
            except e.exc:
                pass

    for _ in range(300):  # warm up caches (dispatch, scratch buffers, NumPy's own)
        once()
    # A leak grows memory in every window; caches filling up (slowly under
    # PYTHONMALLOC=malloc, as in the sanitizer job) stop growing. Pass once one
    # window of 300 calls grows less than 32 KiB (about 100 bytes per call).
    tracemalloc.start()
    growth = []
    for _ in range(4):
        gc.collect()
        start = tracemalloc.take_snapshot()
        for _ in range(300):
            once()
        gc.collect()
        growth.append(sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(start, "filename")))
        if growth[-1] < 32 * 1024:
            break
    tracemalloc.stop()
    assert growth[-1] < 32 * 1024, f"{name}: memory grew by {growth} bytes in successive windows of 300 calls"
    assert [sys.getrefcount(a) for a in arrays] == refcounts, f"{name}: input reference counts changed"
