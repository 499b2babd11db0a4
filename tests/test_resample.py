"""upsample2d: every backend x dtype x mode against the reference and gradcheck, PyTorch
parity (index rules included), determinism and bad input."""

import numpy as np
import pytest

import fastdl as fd
from helpers import at_threads, check_op, rel_err

# (x shape, size/scale_factor params)
RESIZES = [
    ((2, 3, 4, 5), dict(scale_factor=2)),
    ((1, 2, 5, 4), dict(size=(9, 11))),               # odd factors, batch 1
    ((2, 2, 6, 7), dict(scale_factor=(1.7, 2.5))),     # non-integer: step 1/scale, not in/out
    ((2, 2, 9, 8), dict(size=(4, 5))),                 # downsampling
    ((2, 2, 5, 6), dict(size=(5, 9))),                 # one axis unchanged
    ((2, 2, 1, 4), dict(size=(3, 1))),                 # single row in, single column out
    ((2, 2, 3, 3), dict(scale_factor=3)),
    ((0, 2, 3, 3), dict(scale_factor=2)),              # empty batch
]


def _small(shape):
    return np.prod(shape) < 200


@pytest.mark.parametrize("x_shape,params", RESIZES, ids=str)
@pytest.mark.parametrize("mode,align_corners", [("nearest", False), ("bilinear", False), ("bilinear", True),
                                                ("bicubic", False), ("bicubic", True)])
def test_upsample2d(x_shape, params, mode, align_corners, backend, dtype, rng):
    check_op("upsample2d", [x_shape], dict(params, mode=mode, align_corners=align_corners), backend=backend,
             dtype=dtype, rng=rng, gradcheck=_small(x_shape))


def test_upsample2d_bicubic_same_size_is_a_copy(backend, dtype, rng):
    check_op("upsample2d", [(2, 3, 5, 6)], dict(scale_factor=1.1, mode="bicubic"), backend=backend, dtype=dtype,
             rng=rng)


def test_noncontiguous_input(backend, dtype, rng):
    check_op("upsample2d", [(2, 3, 5, 6)], dict(scale_factor=2, mode="bilinear"), backend=backend, dtype=dtype,
             rng=rng, layouts={0: lambda x: np.asfortranarray(x)}, gradcheck=False)


TORCH_CASES = [
    ((2, 3, 7, 6), dict(scale_factor=2)),
    ((2, 3, 7, 6), dict(scale_factor=(1.3, 2.7))),
    ((2, 3, 7, 6), dict(scale_factor=0.6)),
    ((2, 3, 7, 6), dict(size=(13, 5))),
    ((2, 3, 10, 9), dict(size=(3, 4))),
    ((1, 1, 3, 3), dict(size=(1, 7))),
]


@pytest.mark.parametrize("x_shape,params", TORCH_CASES, ids=str)
@pytest.mark.parametrize("mode,align_corners", [("nearest", None), ("bilinear", False), ("bilinear", True),
                                                ("bicubic", False), ("bicubic", True)])
def test_matches_pytorch(x_shape, params, mode, align_corners, dtype, backend, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(x_shape).astype(dtype)
    with fd.use_backend(backend):
        out, cache = fd.upsample2d_forward(x, mode=mode, align_corners=bool(align_corners), **params)
        dout = rng.standard_normal(out.shape).astype(dtype)
        (dx,) = fd.upsample2d_backward(dout, cache)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.interpolate(tx, mode=mode, align_corners=align_corners, **params)
    ty.backward(torch.tensor(dout))
    tol = 1e-6 if dtype == np.float32 else 1e-14
    assert out.shape == tuple(ty.shape)
    assert rel_err(out, ty.detach().numpy()) < tol
    assert rel_err(dx, tx.grad.numpy()) < tol


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
def test_thread_count_does_not_change_results(mode, rng):
    x = rng.standard_normal((3, 7, 9, 10)).astype(np.float32)
    results = []
    for threads in (1, 2, 3):
        with at_threads(threads):
            out, cache = fd.upsample2d_forward(x, scale_factor=(2.3, 1.5), mode=mode)
            dout = np.random.default_rng(5).standard_normal(out.shape).astype(np.float32)
            results.append((out, *fd.upsample2d_backward(dout, cache)))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


X = np.zeros((2, 3, 4, 4), np.float32)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(), ValueError, r"give exactly one of size and scale_factor"),
    (dict(size=8, scale_factor=2), ValueError, r"give exactly one of size and scale_factor"),
    (dict(size=0), ValueError, r"size must be >= 1"),
    (dict(size=(4, 5, 6)), ValueError, r"size must be an int or an \(h, w\) pair"),
    (dict(scale_factor=0), ValueError, r"scale_factor must be finite and > 0"),
    (dict(scale_factor=float("inf")), ValueError, r"scale_factor must be finite and > 0"),
    (dict(scale_factor=0.1), ValueError, r"gives an empty output \(0, 0\)"),
    (dict(scale_factor="2"), TypeError, r"scale_factor must be a number"),
    (dict(scale_factor=2, mode="area"), ValueError, r"mode must be one of \('nearest', 'bilinear', 'bicubic'\)"),
    (dict(scale_factor=2, align_corners=True), ValueError, r"align_corners=True needs mode 'bilinear' or 'bicubic'"),
    (dict(scale_factor=2, mode="bilinear", align_corners=None), TypeError, r"align_corners must be a bool"),
    (dict(x=np.zeros((3, 4, 4), np.float32), scale_factor=2), ValueError, r"x must be \(N, C, H, W\), got shape \(3, 4, 4\)"),
    (dict(x=np.zeros((2, 3, 4, 4), np.float16), scale_factor=2), TypeError, r"x: expected a float32 or float64 array"),
])
def test_bad_input(kwargs, exc, match):
    args = dict(x=X)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        fd.upsample2d(**args)


def test_backward_checks_dout():
    _, cache = fd.upsample2d_forward(X, scale_factor=2)
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 3, 8, 8\)"):
        fd.upsample2d_backward(np.zeros((2, 3, 8, 7), np.float32), cache)
