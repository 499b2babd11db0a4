"""rnn_cell, rnn, lstm_cell, lstm: every backend x dtype against the reference
and gradcheck (short sequences), edge shapes, layouts, None states and
douts, determinism across thread counts, PyTorch's conventions, bad input."""

import numpy as np
import pytest

import fastdl as fd
from fastdl import reference
from helpers import at_threads, check_op

# (N, D, H): tiny, odd, around the 12-row / 32-column GEMM tiles (and the
# generic kernel's 4 x 8), zero batch
CELL_CASES = [(1, 1, 1), (4, 5, 3), (13, 7, 37), (25, 33, 70), (0, 3, 4)]
# (T, N, D, H): one step, odd, several unit panels, empty sequence, zero batch, D = 0
SEQ_CASES = [(1, 2, 3, 4), (5, 3, 4, 6), (4, 13, 7, 37), (3, 26, 10, 70), (0, 2, 3, 4), (3, 0, 2, 5), (2, 3, 0, 4)]


def _small(shape):
    return int(np.prod(shape)) < 20000


def _weights(rng, g, d, h, bias):
    """wx (D, G*H), wh (H, G*H), b: drawn as an init would (std 1/sqrt(D + H)),
    so pre-activations are ~N(0, 1). With N(0, 1) weights most units saturate,
    and 1 - tanh^2 (or s (1 - s)) of a saturated unit is cancellation-bound in
    float32: any two float32 implementations then differ by more than the
    rounding of the formula, which is what the tolerance measures."""
    scale = 1 / np.sqrt(max(d + h, 1))
    ws = [rng.standard_normal((d, g * h)) * scale, rng.standard_normal((h, g * h)) * scale]
    return ws + ([rng.standard_normal(g * h)] if bias else [])


@pytest.mark.parametrize("bias", [True, False], ids=["b", "no_b"])
@pytest.mark.parametrize("ndh", CELL_CASES, ids=str)
def test_rnn_cell(ndh, bias, backend, dtype, rng):
    n, d, h = ndh
    check_op("rnn_cell", [(n, d), (n, h), *_weights(rng, 1, d, h, bias)], backend=backend, dtype=dtype, rng=rng)


@pytest.mark.parametrize("bias", [True, False], ids=["b", "no_b"])
@pytest.mark.parametrize("tndh", SEQ_CASES, ids=str)
def test_rnn(tndh, bias, backend, dtype, rng):
    t, n, d, h = tndh
    check_op("rnn", [(t, n, d), (n, h), *_weights(rng, 1, d, h, bias)],
             backend=backend, dtype=dtype, rng=rng, gradcheck=_small((t, n, d, h)))


@pytest.mark.parametrize("bias", [True, False], ids=["b", "no_b"])
@pytest.mark.parametrize("ndh", CELL_CASES, ids=str)
def test_lstm_cell(ndh, bias, backend, dtype, rng):
    n, d, h = ndh
    check_op("lstm_cell", [(n, d), (n, h), (n, h), *_weights(rng, 4, d, h, bias)],
             backend=backend, dtype=dtype, rng=rng)


@pytest.mark.parametrize("bias", [True, False], ids=["b", "no_b"])
@pytest.mark.parametrize("tndh", SEQ_CASES, ids=str)
def test_lstm(tndh, bias, backend, dtype, rng):
    t, n, d, h = tndh
    check_op("lstm", [(t, n, d), (n, h), (n, h), *_weights(rng, 4, d, h, bias)],
             backend=backend, dtype=dtype, rng=rng, gradcheck=_small((t, n, d, h)))


def test_zero_initial_state(backend, dtype, rng):
    # h0 / c0 None: zeros, and their gradients are None.
    w1, w4 = _weights(rng, 1, 5, 6, True), _weights(rng, 4, 5, 6, True)
    check_op("rnn", [(4, 3, 5), None, *w1], backend=backend, dtype=dtype, rng=rng)
    check_op("rnn_cell", [(3, 5), None, *w1[:2]], backend=backend, dtype=dtype, rng=rng)
    check_op("lstm", [(4, 3, 5), None, None, *w4], backend=backend, dtype=dtype, rng=rng)
    check_op("lstm", [(4, 3, 5), (3, 6), None, *w4[:2]], backend=backend, dtype=dtype, rng=rng)
    check_op("lstm", [(4, 3, 5), None, (3, 6), *w4[:2]], backend=backend, dtype=dtype, rng=rng)
    check_op("lstm_cell", [(3, 5), None, None, *w4], backend=backend, dtype=dtype, rng=rng)


def test_long_sequence_float32(backend, rng):
    # 64 steps in float32: the error stays within check_op's bound (2 x plain
    # float32 NumPy's, at least 1e-5). With N(0, 1) weights the recurrence is
    # chaotic and any two float32 implementations differ by a random factor
    # of a few; _weights draws them as an init would.
    t, n, d, h = 64, 8, 16, 40
    check_op("lstm", [(t, n, d), (n, h), (n, h), *_weights(rng, 4, d, h, True)],
             backend=backend, dtype=np.float32, rng=rng, gradcheck=False)
    check_op("rnn", [(t, n, d), (n, h), *_weights(rng, 1, d, h, True)],
             backend=backend, dtype=np.float32, rng=rng, gradcheck=False)


LAYOUTS = {
    # PyTorch's weights transposed (weight_ih.T): F-ordered wx and wh, read in place
    "weights transposed": {3: np.asfortranarray, 4: np.asfortranarray},
    "strided x and h0": {0: lambda x: np.repeat(x, 2, axis=2)[:, :, ::2], 1: np.asfortranarray},
    "negative strides": {3: lambda w: w[::-1].copy()[::-1], 4: lambda w: w[:, ::-1].copy()[:, ::-1]},
}


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
def test_lstm_layouts(layout, backend, dtype, rng):
    check_op("lstm", [(3, 13, 7), (13, 37), (13, 37), *_weights(rng, 4, 7, 37, True)],
             backend=backend, dtype=dtype, rng=rng, layouts=LAYOUTS[layout], gradcheck=False)


def test_rnn_layouts(backend, dtype, rng):
    check_op("rnn", [(3, 13, 7), (13, 37), *_weights(rng, 1, 7, 37, True)], backend=backend, dtype=dtype,
             rng=rng, layouts={0: lambda x: x.transpose(1, 0, 2).copy().transpose(1, 0, 2), 2: np.asfortranarray,
                               3: np.asfortranarray}, gradcheck=False)


def _lstm_inputs(rng, dtype, t, n, d, h):
    return [rng.standard_normal(s).astype(dtype) for s in ((t, n, d), (n, h), (n, h), (d, 4 * h), (h, 4 * h), (4 * h,))]


def test_lstm_none_douts_are_zeros(backend, dtype, rng):
    t, n, d, h = 4, 5, 6, 7
    with fd.use_backend(backend):
        out, cache = fd.lstm_forward(*_lstm_inputs(rng, dtype, t, n, d, h))
        dhs, dhT, dcT = (rng.standard_normal(o.shape).astype(dtype) for o in out)
        z = np.zeros((n, h), dtype)
        for given, full in [((dhs, None, None), (dhs, z, z)), ((None, dhT, None), (np.zeros_like(dhs), dhT, z)),
                            ((None, None, dcT), (np.zeros_like(dhs), z, dcT))]:
            for g, f in zip(fd.lstm_backward(given, cache), fd.lstm_backward(full, cache)):
                np.testing.assert_array_equal(g, f)
        (h1, c1), cache = fd.lstm_cell_forward(*(a[0] if a.ndim == 3 else a for a in _lstm_inputs(rng, dtype, 1, n, d, h)))
        dc = rng.standard_normal((n, h)).astype(dtype)
        for g, f in zip(fd.lstm_cell_backward((None, dc), cache), fd.lstm_cell_backward((z, dc), cache)):
            np.testing.assert_array_equal(g, f)


def test_lstm_outputs(backend, dtype, rng):
    # h_T is the last step of hs (a copy), c_T the last cell state; T = 0 gives h0 and c0 back (copies).
    t, n, d, h = 3, 4, 5, 6
    xs = _lstm_inputs(rng, dtype, t, n, d, h)
    with fd.use_backend(backend):
        hs, h_T, c_T = fd.lstm(*xs)
        np.testing.assert_array_equal(h_T, hs[-1])
        assert not np.shares_memory(h_T, hs)
        (h1, c1) = fd.lstm_cell(xs[0][0], *xs[1:])
        hs1, _, c_1 = fd.lstm(xs[0][:1], *xs[1:])
        np.testing.assert_array_equal(h1, hs1[0])
        np.testing.assert_array_equal(c1, c_1)
        hs0, h0, c0 = fd.lstm(xs[0][:0], *xs[1:])
        assert hs0.shape == (0, n, h)
        np.testing.assert_array_equal(h0, xs[1])
        np.testing.assert_array_equal(c0, xs[2])
        assert not np.shares_memory(h0, xs[1]) and not np.shares_memory(c0, xs[2])


def test_cache_keeps_gates_and_cell_states(dtype, rng):
    t, n, d, h = 5, 4, 3, 6
    xs = _lstm_inputs(rng, dtype, t, n, d, h)
    (hs, _, _), cache = fd.lstm_forward(*xs)
    item = np.dtype(dtype).itemsize
    held = sum(a.nbytes for a in xs[:5]) + hs.nbytes + (t * n * 4 * h + t * n * h) * item
    assert cache.nbytes == held  # inputs (no b), hs, gates (T, N, 4H), cell states (T, N, H)
    hs, cache = fd.rnn_forward(xs[0], xs[1], xs[3][:, :h], xs[4][:, :h], xs[5][:h])
    assert cache.nbytes == sum(a.nbytes for a in (xs[0], xs[1], hs)) + (d * h + h * h) * item


# Shapes whose steps split across threads by unit panels (H = 70: 3 panels of
# 32) and by batch rows (H <= 32: one panel); for the numba backend, rows.
THREAD_CASES = [(5, 40, 16, 70), (4, 120, 8, 30)]


@pytest.mark.parametrize("tndh", THREAD_CASES, ids=str)
def test_bit_identical_across_threads(tndh, backend, dtype, rng):
    t, n, d, h = tndh
    xs = _lstm_inputs(rng, dtype, t, n, d, h)
    r = [xs[0], xs[1], xs[3][:, :h], xs[4][:, :h], xs[5][:h]]
    douts = tuple(rng.standard_normal(s).astype(dtype) for s in ((t, n, h), (n, h), (n, h)))
    results = []
    for threads in (1, 2, 3, 4):
        with at_threads(threads):
            with fd.use_backend(backend):
                out, cache = fd.lstm_forward(*xs)
                grads = fd.lstm_backward(douts, cache)
                rout, rcache = fd.rnn_forward(*r)
                rgrads = fd.rnn_backward(douts[0], rcache)
            results.append([*out, *grads, rout, *rgrads])
    for res in results[1:]:
        for a, b in zip(res, results[0]):
            np.testing.assert_array_equal(a, b)


def test_matches_torch(rng):
    # PyTorch's conventions: wx = weight_ih.T, wh = weight_hh.T, b = bias_ih + bias_hh, gates i, f, g, o.
    torch = pytest.importorskip("torch")
    t, n, d, h = 6, 3, 5, 7
    lstm = torch.nn.LSTM(d, h).double()
    rnn = torch.nn.RNN(d, h).double()
    x = rng.standard_normal((t, n, d))
    h0, c0 = rng.standard_normal((n, h)), rng.standard_normal((n, h))
    with torch.no_grad():
        ths, (thT, tcT) = lstm(torch.from_numpy(x), (torch.from_numpy(h0)[None], torch.from_numpy(c0)[None]))
        rhs, _ = rnn(torch.from_numpy(x), torch.from_numpy(h0)[None])

    def w(m, name):
        return getattr(m, name).detach().numpy()

    hs, hT, cT = fd.lstm(x, h0, c0, w(lstm, "weight_ih_l0").T, w(lstm, "weight_hh_l0").T,
                         w(lstm, "bias_ih_l0") + w(lstm, "bias_hh_l0"))
    np.testing.assert_allclose(hs, ths.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cT, tcT[0].numpy(), rtol=1e-12, atol=1e-12)
    rh = fd.rnn(x, h0, w(rnn, "weight_ih_l0").T, w(rnn, "weight_hh_l0").T, w(rnn, "bias_ih_l0") + w(rnn, "bias_hh_l0"))
    np.testing.assert_allclose(rh, rhs.numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# bad input

F = np.float32


def _lstm_args(t=3, n=2, d=4, h=5, **over):
    args = dict(x=np.ones((t, n, d), F), h0=np.ones((n, h), F), c0=np.ones((n, h), F),
                wx=np.ones((d, 4 * h), F), wh=np.ones((h, 4 * h), F), b=np.ones(4 * h, F))
    args.update(over)
    return args


@pytest.mark.parametrize("over,msg", [
    (dict(wh=np.ones((5, 5), F)), r"wh: expected shape \(H, 4H\) = \(5, 20\) with H = wh.shape\[0\], got \(5, 5\)"),
    (dict(wx=np.ones((3, 20), F)), r"wx: expected shape \(D, 4H\) = \(4, 20\) \(D from x \(3, 2, 4\), H from wh \(5, 20\)\), got \(3, 20\)"),
    (dict(b=np.ones(5, F)), r"b: expected shape \(4H,\) = \(20,\) \(H from wh \(5, 20\)\), got \(5,\)"),
    (dict(h0=np.ones((2, 6), F)), r"h0: expected shape \(N, H\) = \(2, 5\) \(N from x \(3, 2, 4\), H from wh \(5, 20\)\), got \(2, 6\)"),
    (dict(c0=np.ones((3, 5), F)), r"c0: expected shape \(N, H\) = \(2, 5\)"),
    (dict(x=np.ones((2, 4), F)), r"x: expected 3 dims \(T, N, D\), got shape \(2, 4\)"),
    (dict(wh=np.ones(20, F)), r"wh: expected 2 dims \(H, 4H\), got shape \(20,\)"),
    (dict(wh=np.ones((0, 0), F), wx=np.ones((4, 0), F), b=None, h0=None, c0=None), r"hidden size H = wh.shape\[0\] must be >= 1"),
])
def test_lstm_shape_errors(over, msg):
    with pytest.raises(ValueError, match=msg):
        fd.lstm(**_lstm_args(**over))
    with pytest.raises(ValueError, match=msg):
        fd.lstm_forward(**_lstm_args(**over))


def test_rnn_and_cell_shape_errors():
    x, h, wx, wh = np.ones((2, 4), F), np.ones((2, 5), F), np.ones((4, 5), F), np.ones((5, 5), F)
    with pytest.raises(ValueError, match=r"rnn_cell: wh: expected shape \(H, H\) = \(5, 5\) with H = wh.shape\[0\], got \(5, 6\)"):
        fd.rnn_cell(x, h, wx, np.ones((5, 6), F))
    with pytest.raises(ValueError, match=r"rnn_cell: h: expected shape \(N, H\) = \(2, 5\)"):
        fd.rnn_cell(x, np.ones((3, 5), F), wx, wh)
    with pytest.raises(ValueError, match=r"x: expected 2 dims \(N, D\), got shape \(1, 2, 4\)"):
        fd.rnn_cell(x[None], h, wx, wh)
    with pytest.raises(ValueError, match=r"rnn: wx: expected shape \(D, H\) = \(4, 5\)"):
        fd.rnn(x[None], h, np.ones((5, 5), F), wh)
    with pytest.raises(ValueError, match=r"lstm_cell: c: expected shape \(N, H\) = \(2, 5\) .* got \(2, 4\)"):
        fd.lstm_cell(x, h, np.ones((2, 4), F), np.ones((4, 20), F), np.ones((5, 20), F))


def test_mixed_dtypes():
    with pytest.raises(TypeError, match="mixed float dtypes: x float32, h0 float32, c0 float64"):
        fd.lstm(**_lstm_args(c0=np.ones((2, 5))))
    with pytest.raises(TypeError, match="wh float64"):
        fd.rnn(np.ones((3, 2, 4), F), None, np.ones((4, 5), F), np.ones((5, 5)))
    with pytest.raises(TypeError, match="h: expected a float32 or float64 array, got int64"):
        fd.rnn_cell(np.ones((2, 4), F), np.ones((2, 5), np.int64), np.ones((4, 5), F), np.ones((5, 5), F))


def test_backward_checks_douts():
    out, cache = fd.lstm_forward(**_lstm_args())
    with pytest.raises(TypeError, match=r"lstm_backward: dout must be a tuple of 3 entries \(hs, h_T, c_T; None for zero\), got ndarray"):
        fd.lstm_backward(out[0], cache)
    with pytest.raises(TypeError, match="got tuple of length 2"):
        fd.lstm_backward(out[:2], cache)
    with pytest.raises(ValueError, match=r"dout\[1\] \(h_T\): expected shape \(2, 5\) \(the forward output\), got \(5, 2\)"):
        fd.lstm_backward((None, np.ones((5, 2), F), None), cache)
    with pytest.raises(TypeError, match=r"dout\[2\] \(c_T\): expected dtype float32"):
        fd.lstm_backward((None, None, np.ones((2, 5))), cache)
    h, cache = fd.rnn_forward(np.ones((3, 2, 4), F), None, np.ones((4, 5), F), np.ones((5, 5), F))
    with pytest.raises(ValueError, match=r"dout: expected shape \(3, 2, 5\)"):
        fd.rnn_backward(np.ones((2, 5), F), cache)


def test_native_binding_checks():
    # The C++ layer's second line of defence, for direct _cpu calls.
    from fastdl import _cpu

    a = _lstm_args()
    hs, c = np.empty((3, 2, 5), F), np.empty((2, 5), F)
    with pytest.raises(ValueError, match=r"wh: expected shape \(5, 20\), got \(5, 5\)"):
        _cpu.lstm_fwd(hs, c, None, None, a["x"], None, None, a["wx"], np.ones((5, 5), F), None)
    with pytest.raises(ValueError, match=r"c_out: expected shape \(2, 5\), got \(2, 4\)"):
        _cpu.lstm_fwd(hs, np.empty((2, 4), F), None, None, a["x"], None, None, a["wx"], a["wh"], None)
    with pytest.raises(ValueError, match="pass both gates and cs"):
        _cpu.lstm_fwd(hs, c, np.empty((3, 2, 20), F), None, a["x"], None, None, a["wx"], a["wh"], None)
    with pytest.raises(TypeError, match="dtype float64 differs"):
        _cpu.rnn_fwd(hs, a["x"], None, np.ones((4, 5)), np.ones((5, 5), F), None)
    with pytest.raises(ValueError, match="h0: must be C-contiguous"):
        _cpu.rnn_fwd(hs, a["x"], np.ones((5, 2), F).T, np.ones((4, 5), F), np.ones((5, 5), F), None)
