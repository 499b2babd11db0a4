"""Fallback backends with the same kernel signatures as ``fastdl._cpu``.

``numba_cpu``: Numba on the CPU (``pip install fastdl[numba]``).
"""
