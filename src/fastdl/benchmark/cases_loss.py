"""Benchmark cases of the loss family (reduction='mean', forward + backward).

Napkin math: a pointwise loss reads a and b forward and a, b again backward
while writing both gradients: 6 n itemsize. Cross entropy reads the logits
forward (writing one lse per row), reads them again backward and writes
dlogits: 3 n c itemsize -- the fused backward never writes or reads a
separate probability array. torch's F.cross_entropy is log_softmax +
nll_loss; its backward materialises the softmax.
"""

import math

import numpy as np

import fastdl as fd

from . import Case, _rand, _torch


def _pointwise_case(op, n, dtype=np.float32, quick=False):
    def make():
        rng = np.random.default_rng(0)
        if op == "bce_loss":
            a = rng.uniform(0.01, 0.99, n).astype(dtype)
        else:
            a = _rand((n,), dtype, 1)
        b = rng.uniform(0, 1, n).astype(dtype) if op.startswith("bce") else _rand((n,), dtype, 2)
        fwd, bwd = getattr(fd, op + "_forward"), getattr(fd, op + "_backward")

        def fastdl_fb():
            loss, cache = fwd(a, b)
            return bwd(1.0, cache)

        impls = {"fastdl": fastdl_fb}
        torch = _torch()
        if torch:
            F = torch.nn.functional
            ta, tb = torch.from_numpy(a).requires_grad_(), torch.from_numpy(b).requires_grad_()
            tf = {
                "mse_loss": F.mse_loss, "l1_loss": F.l1_loss, "bce_loss": F.binary_cross_entropy,
                "bce_with_logits_loss": F.binary_cross_entropy_with_logits,
                "gaussian_kl_loss": lambda mu, lv: (-0.5 * (1 + lv - mu * mu - lv.exp())).mean(),
            }[op]

            def torch_fb():
                ta.grad = tb.grad = None
                tf(ta, tb).backward()

            impls["torch"] = torch_fb
        if op == "mse_loss":
            def numpy_fb():
                d = a - b
                g = (2.0 / n) * d
                return (d * d).mean(), g, -g

            impls["numpy"] = numpy_fb
        return impls

    return Case(op, f"{op} {np.dtype(dtype).name} {n} fwd+bwd", np.dtype(dtype).name, 0.0,
                6.0 * n * np.dtype(dtype).itemsize, make, quick)


def _ce_case(shape, dtype=np.float32, quick=False):
    def make():
        x = _rand(shape, dtype, 1)
        lab = np.random.default_rng(2).integers(0, shape[1], (shape[0],) + shape[2:])

        def fastdl_fb():
            loss, cache = fd.cross_entropy_loss_forward(x, lab)
            return fd.cross_entropy_loss_backward(1.0, cache)

        def numpy_fb():
            s = x - x.max(axis=1, keepdims=True)
            e = np.exp(s)
            z = e.sum(axis=1, keepdims=True)
            logp = s - np.log(z)
            idx = np.expand_dims(lab, 1)
            loss = -np.take_along_axis(logp, idx, 1).mean()
            g = e / z
            np.put_along_axis(g, idx, np.take_along_axis(g, idx, 1) - 1, 1)
            return loss, g / lab.size

        impls = {"fastdl": fastdl_fb, "numpy": numpy_fb}
        torch = _torch()
        if torch:
            tx, tl = torch.from_numpy(x).requires_grad_(), torch.from_numpy(lab)

            def torch_fb():
                tx.grad = None
                torch.nn.functional.cross_entropy(tx, tl).backward()

            impls["torch"] = torch_fb
        return impls

    n = math.prod(shape)
    return Case("cross_entropy_loss", f"log_softmax+cross_entropy {np.dtype(dtype).name} {shape} fwd+bwd",
                np.dtype(dtype).name, 0.0, 3.0 * n * np.dtype(dtype).itemsize, make, quick)


def _hinge_case(n, c, dtype=np.float32):
    def make():
        x = _rand((n, c), dtype, 1)
        lab = np.random.default_rng(2).integers(0, c, n)

        def fastdl_fb():
            loss, cache = fd.hinge_loss_forward(x, lab)
            return fd.hinge_loss_backward(1.0, cache)

        impls = {"fastdl": fastdl_fb}
        torch = _torch()
        if torch:
            tx, tl = torch.from_numpy(x).requires_grad_(), torch.from_numpy(lab)

            def torch_fb():
                tx.grad = None
                torch.nn.functional.multi_margin_loss(tx, tl).backward()

            impls["torch"] = torch_fb
        return impls

    return Case("hinge_loss", f"hinge_loss {np.dtype(dtype).name} ({n},{c}) fwd+bwd", np.dtype(dtype).name, 0.0,
                3.0 * n * c * np.dtype(dtype).itemsize, make)


BIG = 1 << 24
CASES = [
    _ce_case((4096, 1000), quick=True),
    _ce_case((4096, 1000), dtype=np.float64),
    _ce_case((16, 21, 64, 64)),  # segmentation-style (N, C, H, W): the column kernel
    _pointwise_case("mse_loss", BIG, quick=True),
    _pointwise_case("l1_loss", BIG),
    _pointwise_case("bce_loss", BIG),
    _pointwise_case("bce_with_logits_loss", BIG),
    _pointwise_case("gaussian_kl_loss", BIG),
    _hinge_case(4096, 100),
]
