"""The dispatch table: which implementation runs an op, per device and dtype.

One literal table, read by the ops (to pick a backend per call), the tests
(to parametrise over every row), the benchmarks and ``backend_info()``.

Backends (each a module with the same kernel functions, e.g. ``bmm``):

- ``cpu``: the C++ extension ``fastdl._cpu`` (OpenMP, AVX2/AVX-512 chosen at run time);
- ``numba``: ``fastdl.backends.numba_cpu``, used when ``_cpu`` is missing or when forced;
- ``cuda``: the CUDA extension ``fastdl._cuda`` (GPU arrays);
- ``gpu-fallback``: ``fastdl.backends.gpu_fallback`` (Numba-CUDA + CuPy).

The first available implementation of a row runs, unless ``use_backend(name)``
or the ``FASTDL_BACKEND`` environment variable forces one; a forced backend
that cannot run the op raises instead of silently falling back.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import importlib.util
import os

import numpy as np

F32_F64 = ("float32", "float64")
CPU, GPU = "cpu", "gpu"
CPU_BACKENDS = ("cpu", "numba")
GPU_BACKENDS = ("cuda", "gpu-fallback")

# fmt: off
#  op          device  dtypes    implementations, best first
_ROWS = (
    ("matmul",  CPU,   F32_F64,  ("cpu", "numba")),
    ("affine",  CPU,   F32_F64,  ("cpu", "numba")),
    ("rnn_cell",  CPU, F32_F64,  ("cpu", "numba")),
    ("rnn",       CPU, F32_F64,  ("cpu", "numba")),
    ("lstm_cell", CPU, F32_F64,  ("cpu", "numba")),
    ("lstm",      CPU, F32_F64,  ("cpu", "numba")),
    ("scaled_dot_product_attention", CPU, F32_F64, ("cpu", "numba")),
    ("sigmoid",     CPU, F32_F64, ("cpu", "numba")),
    ("tanh",        CPU, F32_F64, ("cpu", "numba")),
    ("relu",        CPU, F32_F64, ("cpu", "numba")),
    ("leaky_relu",  CPU, F32_F64, ("cpu", "numba")),
    ("elu",         CPU, F32_F64, ("cpu", "numba")),
    ("gelu",        CPU, F32_F64, ("cpu", "numba")),
    ("silu",        CPU, F32_F64, ("cpu", "numba")),
    ("prelu",       CPU, F32_F64, ("cpu", "numba")),
    ("maxout",      CPU, F32_F64, ("cpu", "numba")),
    ("softmax",     CPU, F32_F64, ("cpu", "numba")),
    ("log_softmax", CPU, F32_F64, ("cpu", "numba")),
    ("mse_loss",             CPU, F32_F64, ("cpu", "numba")),
    ("l1_loss",              CPU, F32_F64, ("cpu", "numba")),
    ("bce_loss",             CPU, F32_F64, ("cpu", "numba")),
    ("bce_with_logits_loss", CPU, F32_F64, ("cpu", "numba")),
    ("cross_entropy_loss",   CPU, F32_F64, ("cpu", "numba")),
    ("hinge_loss",           CPU, F32_F64, ("cpu", "numba")),
    ("gaussian_kl_loss",     CPU, F32_F64, ("cpu", "numba")),
    ("batch_norm",    CPU, F32_F64, ("cpu", "numba")),
    ("layer_norm",    CPU, F32_F64, ("cpu", "numba")),
    ("group_norm",    CPU, F32_F64, ("cpu", "numba")),
    ("instance_norm", CPU, F32_F64, ("cpu", "numba")),
    ("sgd_step",       CPU, F32_F64, ("cpu", "numba")),
    ("rmsprop_step",   CPU, F32_F64, ("cpu", "numba")),
    ("adam_step",      CPU, F32_F64, ("cpu", "numba")),
    ("clip_grad_norm", CPU, F32_F64, ("cpu", "numba")),
    ("dropout",        CPU, F32_F64, ("cpu", "numba")),
    ("embedding",           CPU, F32_F64, ("cpu", "numba")),
    ("positional_encoding", CPU, F32_F64, ("cpu", "numba")),
    ("conv2d",  CPU,   F32_F64,  ("cpu", "numba")),
    ("conv_transpose2d", CPU, F32_F64, ("cpu", "numba")),
    ("max_pool2d", CPU, F32_F64,  ("cpu", "numba")),
    ("avg_pool2d", CPU, F32_F64,  ("cpu", "numba")),
    ("upsample2d", CPU, F32_F64,  ("cpu", "numba")),
)
# fmt: on

TABLE: dict[tuple[str, str, str], tuple[str, ...]] = {
    (op, device, dtype): impls for op, device, dtypes, impls in _ROWS for dtype in dtypes
}

_MODULES = {
    "cpu": "fastdl._cpu",
    "numba": "fastdl.backends.numba_cpu",
    "cuda": "fastdl._cuda",
    "gpu-fallback": "fastdl.backends.gpu_fallback",
}
BACKENDS = tuple(_MODULES)

_loaded: dict[str, object] = {}
_load_errors: dict[str, str] = {}


def load(name: str):
    """The backend module `name`, or None when it cannot be imported here."""
    if name in _loaded:
        return _loaded[name]
    if name not in _MODULES:
        raise ValueError(f"unknown backend {name!r}; expected one of {BACKENDS}")
    try:
        module = importlib.import_module(_MODULES[name])
    except ImportError as e:  # not built, or an optional dependency is missing
        module = None
        _load_errors[name] = str(e)
    _loaded[name] = module
    return module


def _env_backend():
    name = os.environ.get("FASTDL_BACKEND", "").strip()
    if name and name not in _MODULES:
        raise ValueError(f"FASTDL_BACKEND={name!r}: expected one of {BACKENDS}")
    return name or None


_forced: contextvars.ContextVar[str | None] = contextvars.ContextVar("fastdl_backend", default=_env_backend())
_resolved: dict[tuple, object] = {}


@contextlib.contextmanager
def use_backend(name: str | None):
    """Force backend `name` ('cpu', 'numba', 'cuda', 'gpu-fallback') inside the block.

    It applies to ops on that backend's device; ``None`` restores the default
    choice. The setting belongs to the current thread (a contextvar).
    """
    if name is not None and name not in _MODULES:
        raise ValueError(f"unknown backend {name!r}; expected one of {BACKENDS}")
    token = _forced.set(name)
    try:
        yield
    finally:
        _forced.reset(token)


def backend(op: str, device: str, dtype: np.dtype):
    """The module that runs `op` for arrays on `device` with `dtype` (cached)."""
    forced = _forced.get()
    key = (op, device, dtype, forced)
    be = _resolved.get(key)
    if be is None:
        be = _resolve(op, device, np.dtype(dtype).name, forced)
        _resolved[key] = be
    return be


def _resolve(op, device, dtype, forced):
    impls = TABLE.get((op, device, dtype))
    if impls is None:
        raise NotImplementedError(f"{op}: no implementation for {dtype} arrays on the {device}")
    device_backends = CPU_BACKENDS if device == CPU else GPU_BACKENDS
    if forced is not None and forced in device_backends:
        if forced not in impls:
            raise NotImplementedError(f"{op}: backend {forced!r} does not implement it (has: {impls})")
        module = load(forced)
        if module is None:
            raise RuntimeError(f"backend {forced!r} is not available: {_load_errors.get(forced)}")
        return module
    for name in impls:
        module = load(name)
        if module is not None and (name != "cuda" or module.device_count() > 0):
            return module
    errors = "; ".join(f"{n}: {_load_errors.get(n, 'no device')}" for n in impls)
    raise RuntimeError(f"{op}: no backend available ({errors})")


# What each Python backend needs importable (checked without importing it).
_REQUIRES = {"numba": ("numba",), "gpu-fallback": ("cupy", "numba.cuda")}


def available_backends() -> dict[str, bool]:
    """Which backends can run here.

    The compiled ones are imported; the Python ones are only looked up: importing
    Numba's backend and setting its thread count starts Numba's OpenMP pool,
    which enables nested OpenMP process-wide and makes torch's threads
    oversubscribe the cores (seen as 10-100x slower 2-thread torch timings).
    """
    out = {}
    for name in BACKENDS:
        if name in _loaded or name not in _REQUIRES:
            out[name] = load(name) is not None
        else:
            out[name] = all(_importable(m) for m in _REQUIRES[name]) and _importable(_MODULES[name])
    return out


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
