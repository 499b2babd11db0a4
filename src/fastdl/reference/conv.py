"""Reference conv2d and conv_transpose2d (NumPy, from the formulas).

conv2d is a cross-correlation (PyTorch's convention):

    out[n, f, i, j] = b[f] + sum_{c, p, q} w[f, c, p, q] * xpad[n, g*Cg + c, i*sh + p*dh, j*sw + q*dw]

for f in group g, with xpad the input zero-padded by (ph, pw). Each kernel tap
(p, q) is one strided slice of xpad, so the loops below run over groups and
taps only.
"""

import numpy as np

__all__ = ["conv2d_backward", "conv2d_forward", "conv_transpose2d_backward", "conv_transpose2d_forward"]


def _pair(v):
    return (v, v) if np.isscalar(v) else tuple(v)


def _tap(a, p, q, sh, sw, dh, dw, oh, ow):
    """The (..., oh, ow) slice of a (..., H, W) that kernel tap (p, q) meets."""
    return a[..., p * dh: p * dh + sh * (oh - 1) + 1: sh, q * dw: q * dw + sw * (ow - 1) + 1: sw]


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    # x (N, C, H, W), w (F, C/groups, kh, kw), b (F,) -> out (N, F, oh, ow)
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    fg = f // groups
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((n, f, oh, ow), x.dtype)
    for g in range(groups):
        xg, wg = xpad[:, g * cg:(g + 1) * cg], w[g * fg:(g + 1) * fg]
        for p in range(kh):
            for q in range(kw):
                patch = _tap(xg, p, q, sh, sw, dh, dw, oh, ow)                    # (N, Cg, oh, ow)
                out[:, g * fg:(g + 1) * fg] += np.einsum("nchw,fc->nfhw", patch, wg[:, :, p, q])
    if b is not None:
        out += b[None, :, None, None]
    return out, (x, w, b, (sh, sw), (ph, pw), (dh, dw), groups)


def conv2d_backward(dout, cache):
    x, w, b, (sh, sw), (ph, pw), (dh, dw), groups = cache
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    fg = f // groups
    oh, ow = dout.shape[2:]
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxpad = np.zeros_like(xpad)
    dw_ = np.zeros_like(w)
    for g in range(groups):
        xg, wg, dg = xpad[:, g * cg:(g + 1) * cg], w[g * fg:(g + 1) * fg], dout[:, g * fg:(g + 1) * fg]
        dxg = dxpad[:, g * cg:(g + 1) * cg]
        for p in range(kh):
            for q in range(kw):
                patch = _tap(xg, p, q, sh, sw, dh, dw, oh, ow)                    # (N, Cg, oh, ow)
                dw_[g * fg:(g + 1) * fg, :, p, q] = np.einsum("nfhw,nchw->fc", dg, patch)
                _tap(dxg, p, q, sh, sw, dh, dw, oh, ow)[...] += np.einsum("nfhw,fc->nchw", dg, wg[:, :, p, q])
    dx = dxpad[:, :, ph:ph + h, pw:pw + wd]
    db = None if b is None else dout.sum(axis=(0, 2, 3))
    return dx, dw_, db


def conv_transpose2d_forward(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    # x (N, C, H, W), w (C, F/groups, kh, kw), b (F,) -> y (N, F, Ho, Wo) with
    # Ho = (H - 1) sh - 2 ph + dh (kh - 1) + oph + 1:
    #   yfull[n, g*Fg + f, i*sh + p*dh, j*sw + q*dw] += x[n, g*Cg + c, i, j] * w[g*Cg + c, f, p, q]
    #   y = yfull cropped by the padding (extended by output_padding at the bottom/right)
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = _pair(stride), _pair(padding), _pair(output_padding), _pair(dilation)
    n, c, h, wd = x.shape
    _, fg, kh, kw = w.shape
    cg, f = c // groups, fg * groups
    ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    wo = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    full_h = max((h - 1) * sh + dh * (kh - 1) + 1, ph + ho)
    full_w = max((wd - 1) * sw + dw * (kw - 1) + 1, pw + wo)
    yfull = np.zeros((n, f, full_h, full_w), x.dtype)
    for g in range(groups):
        xg, wg = x[:, g * cg:(g + 1) * cg], w[g * cg:(g + 1) * cg]
        yg = yfull[:, g * fg:(g + 1) * fg]
        for p in range(kh):
            for q in range(kw):
                _tap(yg, p, q, sh, sw, dh, dw, h, wd)[...] += np.einsum("nchw,cf->nfhw", xg, wg[:, :, p, q])
    y = yfull[:, :, ph:ph + ho, pw:pw + wo].copy()
    if b is not None:
        y += b[None, :, None, None]
    return y, (x, w, b, (sh, sw), (ph, pw), (dh, dw), groups, full_h, full_w)


def conv_transpose2d_backward(dout, cache):
    x, w, b, (sh, sw), (ph, pw), (dh, dw), groups, full_h, full_w = cache
    n, c, h, wd = x.shape
    _, fg, kh, kw = w.shape
    cg = c // groups
    ho, wo = dout.shape[2:]
    dfull = np.zeros((n, fg * groups, full_h, full_w), dout.dtype)
    dfull[:, :, ph:ph + ho, pw:pw + wo] = dout
    dx = np.zeros_like(x)
    dw_ = np.zeros_like(w)
    for g in range(groups):
        xg, wg, dg = x[:, g * cg:(g + 1) * cg], w[g * cg:(g + 1) * cg], dfull[:, g * fg:(g + 1) * fg]
        for p in range(kh):
            for q in range(kw):
                patch = _tap(dg, p, q, sh, sw, dh, dw, h, wd)                     # (N, Fg, H, W)
                dx[:, g * cg:(g + 1) * cg] += np.einsum("nfhw,cf->nchw", patch, wg[:, :, p, q])
                dw_[g * cg:(g + 1) * cg, :, p, q] = np.einsum("nchw,nfhw->cf", xg, patch)
    db = None if b is None else dout.sum(axis=(0, 2, 3))
    return dx, dw_, db
