"""fastdl: compiled forward/backward kernels for the layers of a first deep-learning course.

    import fastdl as fd
    y, cache = fd.affine_forward(x, w, b)
    dx, dw, db = fd.affine_backward(dy, cache)

NumPy arrays run on the CPU (C++ ``_cpu``, or Numba when forced or when the
extension is missing). See ``fd.backend_info()`` for what this machine runs.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from . import _dispatch
from ._alloc import memory_pool_info, set_memory_pool_limit
from ._dispatch import use_backend
from .gradcheck import gradcheck
from .ops import matmul as _ops_matmul
from .ops.matmul import *  # noqa: F403
from .ops import act as _ops_act
from .ops.act import *  # noqa: F403
from .ops import attention as _ops_attention
from .ops.attention import *  # noqa: F403
from .ops import conv as _ops_conv
from .ops.conv import *  # noqa: F403
from .ops import dropout as _ops_dropout
from .ops.dropout import *  # noqa: F403
from .ops import embed as _ops_embed
from .ops.embed import *  # noqa: F403
from .ops import loss as _ops_loss
from .ops.loss import *  # noqa: F403
from .ops import norm as _ops_norm
from .ops.norm import *  # noqa: F403
from .ops import optim as _ops_optim
from .ops.optim import *  # noqa: F403
from .ops import pool as _ops_pool
from .ops.pool import *  # noqa: F403
from .ops import resample as _ops_resample
from .ops.resample import *  # noqa: F403
from .ops import rnn as _ops_rnn
from .ops.rnn import *  # noqa: F403
from .ops import softmax as _ops_softmax
from .ops.softmax import *  # noqa: F403

_FAMILIES = (_ops_matmul, _ops_act, _ops_attention, _ops_conv, _ops_dropout, _ops_embed, _ops_loss, _ops_norm, _ops_optim, _ops_pool, _ops_resample, _ops_rnn, _ops_softmax)


from . import init

try:
    __version__ = _version("fastdl")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"


def set_num_threads(n: int) -> None:
    """Threads for fastdl's CPU kernels (C++ and Numba backends), n >= 1."""
    n = int(n)
    if n < 1:
        raise ValueError(f"set_num_threads: n must be >= 1, got {n}")
    cpu = _dispatch.load("cpu")
    if cpu is not None:
        cpu.set_num_threads(n)
    else:
        _fallback_threads[0] = n
    if "numba" in _dispatch._loaded and _dispatch._loaded["numba"] is not None:
        import numba

        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))


_fallback_threads = [0]


def get_num_threads() -> int:
    """Threads fastdl's CPU kernels use."""
    cpu = _dispatch.load("cpu")
    if cpu is not None:
        return cpu.num_threads()
    import os

    return _fallback_threads[0] or len(os.sched_getaffinity(0))


def backend_info() -> dict:
    """What runs here: version, backends, CPU ISA, threads, CUDA device."""
    info = {"version": __version__, "backends": _dispatch.available_backends(), "threads": get_num_threads()}
    cpu = _dispatch.load("cpu")
    if cpu is not None:
        info["isa"] = cpu.isa()
        info["isa_supported"] = cpu.isa_supported()
        info["gemm_kernels"] = {dt: cpu.gemm_kernel_name(dt, cpu.isa()) for dt in ("float32", "float64")}
    cuda = _dispatch.load("cuda")
    if cuda is None:
        info["cuda"] = "unavailable (fastdl built without _cuda)"
    elif cuda.device_count() == 0:
        info["cuda"] = "unavailable (no CUDA device or driver)"
    else:
        info["cuda"] = [cuda.device_description(i) for i in range(cuda.device_count())]
    return info


__all__ = [
    "__version__",
    "backend_info",
    "get_num_threads",
    "gradcheck",
    "memory_pool_info",
    "set_memory_pool_limit",
    "set_num_threads",
    "use_backend",
    *(name for family in _FAMILIES for name in family.__all__),
]
