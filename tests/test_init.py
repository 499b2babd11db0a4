"""fd.init: torch.nn.init's gains and fans (in fastdl's layouts), sample statistics, seeding."""

import math

import numpy as np
import pytest

import fastdl as fd


@pytest.mark.parametrize("nonlinearity,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                                ("tanh", None), ("relu", None), ("leaky_relu", None),
                                                ("leaky_relu", 0.2), ("selu", None)])
def test_gain_matches_torch(nonlinearity, param):
    torch = pytest.importorskip("torch")
    assert fd.init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


def test_fans_match_torch_for_the_same_layer():
    torch = pytest.importorskip("torch")
    fans = torch.nn.init._calculate_fan_in_and_fan_out
    # affine w (D, M) is torch Linear's weight (M, D) transposed
    assert fd.init.fans((300, 20)) == fans(torch.empty(20, 300)) == (300, 20)
    # conv w (F, C, kh, kw): the same layout as torch
    assert fd.init.fans((16, 3, 5, 7)) == fans(torch.empty(16, 3, 5, 7)) == (105, 560)
    assert fd.init.fans((8, 4, 3)) == fans(torch.empty(8, 4, 3))


SHAPE = (400, 600)  # 240k samples: sample std within ~0.3% of the target


def _check_normal(w, std):
    assert abs(w.mean()) < 5 * std / math.sqrt(w.size)
    assert w.std() == pytest.approx(std, rel=0.01)


def _check_uniform(w, bound):
    assert w.min() >= -bound and w.max() <= bound
    assert w.min() < -0.99 * bound and w.max() > 0.99 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)


def test_xavier():
    fan_in, fan_out = SHAPE
    _check_uniform(fd.init.xavier_uniform(SHAPE, seed=1), math.sqrt(6 / (fan_in + fan_out)))
    _check_normal(fd.init.xavier_normal(SHAPE, gain=2.0, seed=2), 2.0 * math.sqrt(2 / (fan_in + fan_out)))


def test_kaiming():
    shape = (64, 32, 3, 3)  # conv: fan_in = 32 * 9, fan_out = 64 * 9
    _check_normal(fd.init.kaiming_normal(shape, nonlinearity="relu", seed=3), math.sqrt(2 / 288))
    _check_uniform(fd.init.kaiming_uniform(shape, seed=4), math.sqrt(3) * math.sqrt(2) / math.sqrt(288))  # a = 0
    _check_normal(fd.init.kaiming_normal(shape, a=0.1, mode="fan_out", seed=5),
                  math.sqrt(2 / 1.01) / math.sqrt(576))
    # 2-D affine weight (D, M): fan_in = D
    _check_normal(fd.init.kaiming_normal((3072, 100), nonlinearity="relu", seed=6), math.sqrt(2 / 3072))


def test_kaiming_std_matches_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    t = torch.nn.init.kaiming_normal_(torch.empty(200, 3072), nonlinearity="relu")  # Linear(3072, 200)
    w = fd.init.kaiming_normal((3072, 200), nonlinearity="relu", seed=0)              # affine (3072, 200)
    assert w.std() == pytest.approx(float(t.std()), rel=0.02)


def test_normal_uniform_and_dtypes():
    _check_normal(fd.init.normal(SHAPE, 0.0, 0.5, seed=7), 0.5)
    u = fd.init.uniform(SHAPE, -2.0, 2.0, seed=8, dtype=np.float64)
    assert u.dtype == np.float64
    _check_uniform(u, 2.0)
    assert fd.init.normal((3, 4)).dtype == np.float32
    assert fd.init.normal(5, seed=0).shape == (5,)


def test_seeding():
    a = fd.init.xavier_uniform((30, 40), seed=123)
    np.testing.assert_array_equal(a, fd.init.xavier_uniform((30, 40), seed=123))
    assert not np.array_equal(a, fd.init.xavier_uniform((30, 40), seed=124))
    assert not np.array_equal(fd.init.normal((10,)), fd.init.normal((10,)))       # seed=None: fresh
    g = np.random.default_rng(9)
    assert not np.array_equal(fd.init.normal((10,), seed=g), fd.init.normal((10,), seed=g))
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    np.testing.assert_array_equal(fd.init.normal((10,), seed=g1), fd.init.normal((10,), seed=g2))


def test_bad_input():
    with pytest.raises(ValueError, match="at least 2 dims, got shape \\(5,\\)"):
        fd.init.xavier_uniform((5,))
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        fd.init.kaiming_normal((4, 4), nonlinearity="swish")
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        fd.init.kaiming_uniform((4, 4), mode="fan_avg")
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got int64"):
        fd.init.normal((2, 2), dtype=np.int64)
    with pytest.raises(ValueError, match="std must be >= 0"):
        fd.init.normal((2, 2), std=-1.0)
    with pytest.raises(ValueError, match="need a <= b"):
        fd.init.uniform((2, 2), 1.0, 0.0)
    with pytest.raises(ValueError, match="negative sizes"):
        fd.init.normal((2, -1))
