"""Plain-NumPy reference implementations: the test oracle, never the fast path.

Written from the formulas, readable and deliberately slow (like XNNPACK's
reference kernels, they exist to be obviously right). Every function mirrors
the public API: ``NAME_forward(...) -> (out, cache)`` and
``NAME_backward(dout, cache) -> grads``, with the cache a plain tuple. Fed
float64 they give the values fastdl is compared with; fed float32 they give
the "plain float32 NumPy" error that float32 tolerances are derived from.
One module per op family, re-exported here.
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
