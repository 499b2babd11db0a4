"""The public functional API, one module per op family.

Each op NAME has ``NAME(...)`` (inference), ``NAME_forward(...) -> (out, cache)``
and ``NAME_backward(dout, cache) -> grads`` (a tuple, one entry per
differentiable input). The modules validate arguments, compute output
shapes, allocate outputs and call the backend that ``_dispatch`` picks;
the arithmetic is the backend's.
"""
