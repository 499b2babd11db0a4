"""What a forward pass keeps for its backward pass."""

from __future__ import annotations


class Cache:
    """Opaque to users: the arrays and parameters a backward pass needs.

    ``nbytes`` is what the cache keeps alive (each distinct array counted once,
    inputs included, since holding a reference keeps them alive).
    """

    __slots__ = ("op", "arrays", "params")

    def __init__(self, op: str, arrays: dict, **params):
        self.op = op
        self.arrays = arrays
        self.params = params

    @property
    def nbytes(self) -> int:
        seen, total = set(), 0
        for a in self.arrays.values():
            if a is not None and id(a) not in seen:
                seen.add(id(a))
                total += int(a.nbytes)
        return total

    def __repr__(self):
        held = ", ".join(f"{k}{tuple(v.shape)}" for k, v in self.arrays.items() if v is not None)
        return f"<fastdl cache of {self.op}: {held}; {self.nbytes} bytes>"
