import os

import numpy as np
import pytest
from hypothesis import settings

import fastdl
from fastdl import _cpu, _dispatch

# Property tests: compiled code has no meaningful per-example deadline; CI
# (HYPOTHESIS_PROFILE=ci) runs fewer examples with a fixed seed; "stress" runs
# many, to look for rare failing draws.
settings.register_profile("default", max_examples=40, deadline=None)
settings.register_profile("ci", max_examples=15, deadline=None, derandomize=True)
settings.register_profile("stress", max_examples=2000, deadline=None)  # by hand, for rare draws
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_report_header(config):
    info = fastdl.backend_info()
    return [
        f"fastdl {info['version']}: isa {info.get('isa')} (supported {info.get('isa_supported')}), "
        f"threads {info['threads']}, backends {info['backends']}, cuda {info['cuda']}",
        f"FASTDL_ISA={os.environ.get('FASTDL_ISA', '')} OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')}",
    ]


def cpu_backends():
    """CPU backends that import here; a missing Numba is reported, not hidden."""
    return [b for b in _dispatch.CPU_BACKENDS if _dispatch.load(b) is not None]


def pytest_generate_tests(metafunc):
    # Every test with a `backend` argument runs on each available CPU backend,
    # every test with a `dtype` argument on float32 and float64.
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", cpu_backends())
    if "dtype" in metafunc.fixturenames:
        metafunc.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])


@pytest.fixture
def isa(request):
    # Indirect parametrisation over helpers.ISAS: the native kernels run on
    # that ISA variant for the test, then the previous one is restored.
    old = _cpu.isa()
    _cpu._set_isa(request.param)
    yield request.param
    _cpu._set_isa(old)


@pytest.fixture
def rng(request):
    # Fresh inputs for every test run; the seed is in the failure report.
    seed = int.from_bytes(os.urandom(4), "little")
    request.node.user_properties.append(("seed", seed))
    return np.random.default_rng(seed)


def pytest_collection_modifyitems(config, items):
    cuda = _dispatch.load("cuda")
    if cuda is not None and cuda.device_count() > 0:
        return
    skip = pytest.mark.skip(reason="needs a cuda device (gpu marker)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
