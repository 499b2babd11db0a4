"""The dispatch table and the process-level API: completeness, forcing, info, threads."""

import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import fastdl as fd
from fastdl import _dispatch, benchmark

ROOT = pathlib.Path(__file__).resolve().parent


def test_every_table_row_has_tests_and_benchmarks():
    # Each op in the table needs a check_op test (which runs forward, backward,
    # reference comparison and gradcheck on every backend x dtype through the
    # conftest parametrisation) -- or, for in-place optimiser ops, a
    # check_optimizer test (many steps against the reference and torch.optim) --
    # and at least one benchmark case.
    tested = set()
    for path in ROOT.glob("test_*.py"):
        tested |= set(re.findall(r'(?:check_op|check_optimizer)\(\s*"(\w+)"', path.read_text()))
    benched = {c.op for c in benchmark.CASES}
    ops = {op for op, _, _ in _dispatch.TABLE}
    assert ops - tested == set(), f"ops without a check_op test: {ops - tested}"
    assert ops - benched == set(), f"ops without a benchmark case: {ops - benched}"


def test_every_listed_backend_implements_its_rows():
    # A backend named in a row must expose the public op's entry points; the
    # cheap structural check here, the numerical one in the family tests.
    for (op, device, dtype), impls in _dispatch.TABLE.items():
        assert impls, (op, device, dtype)
        for name in impls:
            assert name in _dispatch.BACKENDS
        stateful = op in fd.ops.optim.__all__  # in-place steps: no forward/backward pair
        for entry in (op,) if stateful else (op, op + "_forward", op + "_backward"):
            assert callable(getattr(fd, entry)), entry


def test_use_backend_forces_and_restores(rng):
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal((4, 5))
    with fd.use_backend("cpu"):
        assert _dispatch.backend("matmul", "cpu", a.dtype) is _dispatch.load("cpu")
        np.testing.assert_allclose(fd.matmul(a, b), a @ b, rtol=1e-12)
    if _dispatch.load("numba") is not None:
        with fd.use_backend("numba"):
            assert _dispatch.backend("matmul", "cpu", a.dtype) is _dispatch.load("numba")
            np.testing.assert_allclose(fd.matmul(a, b), a @ b, rtol=1e-12)
    assert _dispatch.backend("matmul", "cpu", a.dtype) is _dispatch.load("cpu")


def test_use_backend_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown backend 'fortran'"):
        with fd.use_backend("fortran"):
            pass


def test_forced_backend_that_lacks_the_op_raises(monkeypatch):
    monkeypatch.setitem(_dispatch.TABLE, ("matmul", "cpu", "float32"), ("cpu",))
    monkeypatch.setattr(_dispatch, "_resolved", {})
    with fd.use_backend("numba"), pytest.raises(NotImplementedError, match="numba"):
        fd.matmul(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32))


def test_bad_env_backend_is_reported():
    env = dict(os.environ, FASTDL_BACKEND="nope")
    r = subprocess.run([sys.executable, "-c", "import fastdl"], env=env, capture_output=True, text=True)
    assert r.returncode != 0 and "FASTDL_BACKEND='nope'" in r.stderr


def test_env_backend_numba():
    pytest.importorskip("numba")  # the test extra installs it; the sanitizer job does not
    env = dict(os.environ, FASTDL_BACKEND="numba")
    code = ("import fastdl as fd, numpy as np; from fastdl import _dispatch;"
            "print(_dispatch.backend('matmul', 'cpu', np.dtype('float64')).__name__)")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "fastdl.backends.numba_cpu"


def test_backend_info():
    info = fd.backend_info()
    assert info["version"] == fd.__version__
    assert info["backends"]["cpu"] is True
    assert info["isa"] in ("generic", "avx2", "avx512")
    assert info["threads"] == fd.get_num_threads() >= 1
    assert isinstance(info["cuda"], (str, list))


def test_isa_env_forces_generic():
    env = dict(os.environ, FASTDL_ISA="generic")
    r = subprocess.run([sys.executable, "-c", "import fastdl as fd; print(fd.backend_info()['isa'])"],
                       env=env, capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "generic"


def test_set_num_threads():
    old = fd.get_num_threads()
    try:
        fd.set_num_threads(1)
        assert fd.get_num_threads() == 1
        fd.set_num_threads(3)
        assert fd.get_num_threads() == 3
        with pytest.raises(ValueError, match="n must be >= 1"):
            fd.set_num_threads(0)
    finally:
        fd.set_num_threads(old)


def test_cuda_module_imports_without_a_gpu():
    # Importing never fails; without a device the count is 0 and info says so.
    cuda = _dispatch.load("cuda")
    if cuda is None:
        pytest.importorskip("fastdl._cuda", reason="built without _cuda (no nvcc at build time)")
    assert cuda.device_count() >= 0
    assert cuda.runtime_version() >= 12000
    if cuda.device_count() == 0:
        assert fd.backend_info()["cuda"].startswith("unavailable")


@pytest.mark.gpu
def test_cuda_axpy_on_device():
    cupy = pytest.importorskip("cupy")
    cuda = _dispatch.load("cuda")
    x = cupy.arange(1000, dtype=cupy.float32)
    y = cupy.ones(1000, dtype=cupy.float32)
    cuda.axpy(1000, 2.0, x.data.ptr, y.data.ptr, "float32", cupy.cuda.get_current_stream().ptr)
    np.testing.assert_array_equal(cupy.asnumpy(y), 2 * np.arange(1000, dtype=np.float32) + 1)


def test_cli_bench_runs():
    r = subprocess.run([sys.executable, "-m", "fastdl", "bench", "--op", "matmul", "--threads", "1",
                        "--min-time", "0", "--quick"], capture_output=True, text=True, check=True)
    assert "matmul float32 4x4" in r.stdout and "fastdl" in r.stdout
    r = subprocess.run([sys.executable, "-m", "fastdl", "bench", "--op", "nosuchop"], capture_output=True, text=True)
    assert r.returncode == 2 and "known ops" in r.stderr


def test_backend_info_does_not_start_numba():
    # Importing Numba's backend and setting its threads starts an OpenMP pool that
    # turns on nested OpenMP process-wide (torch then oversubscribes the cores):
    # asking what is available must not do that.
    code = "import sys, fastdl as fd; fd.backend_info(); fd.set_num_threads(2); print('numba' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"
