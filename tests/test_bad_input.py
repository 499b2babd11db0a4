"""Bad input gets a clear TypeError/ValueError naming the argument -- never a
crash, a hang or a silent wrong answer -- and inputs are never modified."""

import numpy as np
import pytest

import fastdl as fd
from fastdl import _cpu

F = np.float32


@pytest.mark.parametrize("bad", [np.ones((2, 2), np.int64), np.ones((2, 2), np.complex64),
                                 np.array([[object()]]), np.ones((2, 2), np.float16), "abc"], ids=str)
def test_matmul_rejects_non_float(bad):
    with pytest.raises(TypeError, match="a: expected"):
        fd.matmul(bad, np.ones((2, 2), F))
    with pytest.raises(TypeError, match="b: expected"):
        fd.matmul(np.ones((2, 2), F), bad)


def test_mixed_dtypes():
    with pytest.raises(TypeError, match="a is float32 but b is float64"):
        fd.matmul(np.ones((2, 2), F), np.ones((2, 2)))
    with pytest.raises(TypeError, match="mixed float dtypes: x float32, w float64"):
        fd.affine(np.ones((2, 2), F), np.ones((2, 2)))
    with pytest.raises(TypeError, match="b float64"):
        fd.affine(np.ones((2, 2), F), np.ones((2, 2), F), np.ones(2))


@pytest.mark.parametrize("a,b,msg", [
    ((2, 3), (4, 5), r"a's last dim must equal b's second-to-last dim; got a \(2, 3\) and b \(4, 5\)"),
    ((3,), (4,), r"got a \(3,\) and b \(4,\)"),
    ((2, 2, 3), (3, 3, 4), r"batch dims \(2,\) of a \(2, 2, 3\) and \(3,\) of b \(3, 3, 4\) do not broadcast"),
    ((), (3, 3), r"at least 1 dim"),
])
def test_matmul_shape_errors(a, b, msg):
    with pytest.raises(ValueError, match=msg):
        fd.matmul(np.ones(a, F), np.ones(b, F))


def test_affine_shape_errors():
    x = np.ones((4, 2, 3), F)
    with pytest.raises(ValueError, match=r"w must be \(6, M\) to match x \(4, 2, 3\) flattened to \(4, 6\), got w \(5, 2\)"):
        fd.affine(x, np.ones((5, 2), F))
    with pytest.raises(ValueError, match=r"w: expected 2 dims"):
        fd.affine(x, np.ones(6, F))
    with pytest.raises(ValueError, match=r"b: expected shape \(2,\) to match w \(6, 2\), got \(3,\)"):
        fd.affine(x, np.ones((6, 2), F), np.ones(3, F))
    with pytest.raises(ValueError, match="at least 2 dims"):
        fd.affine(np.ones(6, F), np.ones((6, 2), F))


def test_backward_checks_dout():
    out, cache = fd.matmul_forward(np.ones((2, 3), F), np.ones((3, 4), F))
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 4\) \(the forward output\), got \(4, 2\)"):
        fd.matmul_backward(np.ones((4, 2), F), cache)
    with pytest.raises(TypeError, match="dout: expected dtype float32"):
        fd.matmul_backward(np.ones((2, 4)), cache)
    y, cache = fd.affine_forward(np.ones((2, 3), F), np.ones((3, 4), F))
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 4\)"):
        fd.affine_backward(np.ones((2, 5), F), cache)


def test_read_only_inputs_are_fine_and_untouched():
    a = np.arange(6, dtype=F).reshape(2, 3)
    b = np.arange(12, dtype=F).reshape(3, 4)
    a.flags.writeable = b.flags.writeable = False
    out, cache = fd.matmul_forward(a, b)
    da, db = fd.matmul_backward(np.ones_like(out), cache)
    np.testing.assert_array_equal(out, a @ b)
    np.testing.assert_array_equal(a, np.arange(6, dtype=F).reshape(2, 3))


def test_native_binding_checks():
    # The C++ layer's second line of defence, for direct _cpu calls.
    a = np.ones((2, 3), F)
    with pytest.raises(TypeError, match="b: dtype float64 differs"):
        _cpu.bmm(np.empty((2, 4), F), a, np.ones((3, 4)))
    with pytest.raises(ValueError, match="do not chain"):
        _cpu.bmm(np.empty((2, 4), F), a, np.ones((2, 4), F))
    ro = np.empty((2, 4), F)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _cpu.bmm(ro, a, np.ones((3, 4), F))
    with pytest.raises(ValueError, match="_ukernel"):
        _cpu._ukernel("generic", np.empty(1, F), np.empty(4, F), np.empty(1, F), 5, 1, 1, 1.0, 0.0, 1, 4, 1, 1, 1)
    with pytest.raises(ValueError, match="strides reach outside"):
        _cpu._ukernel("generic", np.empty(4, F), np.empty(4, F), np.empty(4, F), 2, 2, 100, 1.0, 0.0, 1, 4, 8, 2, 1)
