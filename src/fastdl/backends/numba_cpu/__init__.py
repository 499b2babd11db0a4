"""The Numba CPU backend: the same kernel functions and signatures as ``_cpu``.

Used when the C++ extension is missing or when forced
(``fd.use_backend("numba")``, ``FASTDL_BACKEND=numba``). One module per op
family, re-exported here. Kernels are ``@njit(cache=True)``; independent
outputs go to ``prange``, every sum runs in a fixed order, so results do not
depend on the thread count. Importing raises ImportError when Numba is not
installed, which the dispatcher reads as "backend unavailable".
"""

from .act import *  # noqa: F403
from .attention import *  # noqa: F403
from .conv import *  # noqa: F403
from .dropout import *  # noqa: F403
from .embed import *  # noqa: F403
from .loss import *  # noqa: F403
from .matmul import *  # noqa: F403
from .norm import *  # noqa: F403
from .optim import *  # noqa: F403
from .pool import *  # noqa: F403
from .resample import *  # noqa: F403
from .rnn import *  # noqa: F403
from .softmax import *  # noqa: F403
