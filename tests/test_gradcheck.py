"""fd.gradcheck itself: it passes right gradients, reports wrong ones, and
does not turn the rounding noise of a vanishing gradient into an error."""

import numpy as np
import pytest

import fastdl as fd
from helpers import GRADCHECK_TOL


def _affine_pair(grad_fix=lambda dx, dw, db: (dx, dw, db)):
    def forward(x, w, b):
        return x @ w + b, (x, w)

    def backward(dout, cache):
        x, w = cache
        return grad_fix(dout @ w.T, x.T @ dout, dout.sum(0))

    return forward, backward


def test_right_gradients_pass(rng):
    x, w, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    report = fd.gradcheck(_affine_pair(), x, w, b, check_seed=1)
    assert set(report) == {"input0", "input1", "input2"}
    assert max(report.values()) < 1e-8
    assert max(fd.gradcheck("affine", x, w, b, check_seed=1).values()) < 1e-8


@pytest.mark.parametrize("fix, bad", [
    (lambda dx, dw, db: (dx * 1.0001, dw, db), "input0"),      # 1e-4 off: well above the tolerance
    (lambda dx, dw, db: (dx, dw, db + 1e-3), "input2"),
    (lambda dx, dw, db: (dx, dw[::-1].copy(), db), "input1"),  # rows swapped
])
def test_wrong_gradients_are_reported(rng, fix, bad):
    x, w, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    report = fd.gradcheck(_affine_pair(fix), x, w, b, check_seed=2)
    assert report[bad] > GRADCHECK_TOL
    assert all(v < 1e-8 for k, v in report.items() if k != bad)


def test_small_wrong_gradient_is_reported(rng):
    # y = 1e-3 * x: a gradient well above the noise floor yet small; off by 10%.
    x = rng.standard_normal(50)

    def forward(x):
        return 1e-3 * x, None

    def backward(dout, cache):
        return (1.1e-3 * dout,)

    assert fd.gradcheck((forward, backward), x, check_seed=3)["input0"] > 0.05


def test_vanishing_gradient_is_not_noise(rng):
    # Softmax over one key: the output is v whatever q and k are, so dq and dk are 0
    # and the difference quotients are rounding noise.
    q, k, v = rng.standard_normal((1, 1, 3)), rng.standard_normal((1, 1, 3)), rng.standard_normal((1, 1, 2))
    report = fd.gradcheck("scaled_dot_product_attention", q, k, v, check_seed=4)
    assert max(report.values()) <= GRADCHECK_TOL


def test_float32_inputs_are_refused(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    with pytest.raises(TypeError, match="numerical gradients need float64"):
        fd.gradcheck("relu", x)
