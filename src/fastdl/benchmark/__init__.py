"""Benchmark cases and the runner behind ``python -m fastdl bench``.

Each case measures one op at one shape for several implementations --
fastdl, NumPy and PyTorch (when installed) -- in the same process at the
same thread count, and carries its napkin math: flops and the minimum bytes
moved per call. The report prints the median time, GFLOP/s or GB/s, the
share of this machine's measured FMA peak, and the ratios to NumPy and
PyTorch. The pytest-benchmark suites in bench/ run the same cases.
Cases live in one module per op family (cases_<family>.py).

Timing: each implementation is warmed up, then timed in batches of calls
long enough (>= 2 ms) for the clock; the median per-call time of the
batches is reported. Between implementations the runner sleeps 50 ms so
another library's spinning thread pool (OpenBLAS, torch's OpenMP) has gone
idle and does not steal this one's cores -- on a 2-core machine that
otherwise costs whole scheduler slices.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Callable

import numpy as np

import fastdl as fd


@dataclasses.dataclass
class Case:
    op: str                     # the dispatch-table op this measures
    name: str                   # shown in reports, and the pytest-benchmark group
    dtype: str
    flops: float                # per call; 0 for memory-bound cases
    nbytes: float               # minimum bytes read + written per call
    make: Callable[[], dict]    # -> {implementation: zero-argument callable}
    quick: bool = False         # part of --quick


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _rand(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _all_cases():
    # One module per op family, each with a CASES list.
    from . import cases_act, cases_attention, cases_conv, cases_dropout, cases_embed, cases_loss, cases_matmul, cases_norm, cases_optim, cases_pool, cases_resample, cases_rnn, cases_softmax

    return [*cases_matmul.CASES, *cases_act.CASES, *cases_attention.CASES, *cases_conv.CASES, *cases_dropout.CASES, *cases_embed.CASES, *cases_loss.CASES, *cases_norm.CASES, *cases_optim.CASES, *cases_pool.CASES, *cases_resample.CASES, *cases_rnn.CASES, *cases_softmax.CASES]


# ---------------------------------------------------------------------------
# runner


def _time(fn, min_time):
    """Median seconds per call."""
    fn()  # warm-up: first-touch of outputs, JIT, thread pool start
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    per_batch = max(1, int(2e-3 / once))
    samples, spent = [], 0.0
    while spent < min_time or len(samples) < 5:
        t0 = time.perf_counter()
        for _ in range(per_batch):
            fn()
        dt = time.perf_counter() - t0
        samples.append(dt / per_batch)
        spent += dt
        if len(samples) >= 200:
            break
    return float(np.median(samples))


class _Threads:
    """Same thread count for fastdl, NumPy's BLAS and torch inside the block."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        self.old_fd = fd.get_num_threads()
        fd.set_num_threads(self.n)
        torch = _torch()
        if torch:
            self.old_torch = torch.get_num_threads()
            torch.set_num_threads(self.n)
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            self.limits = None
        else:
            self.limits = threadpool_limits(self.n)
        return self

    def __exit__(self, *exc):
        fd.set_num_threads(self.old_fd)
        torch = _torch()
        if torch:
            torch.set_num_threads(self.old_torch)
        if self.limits is not None:
            self.limits.restore_original_limits()


_SETTLE_S = float(__import__("os").environ.get("FASTDL_BENCH_SETTLE", "0.05"))

_peaks: dict = {}


def peak_gflops(dtype: str, threads: int) -> float | None:
    """This machine's measured FMA peak (ISA in use) for `threads` threads."""
    cpu = fd._dispatch.load("cpu")
    if cpu is None:
        return None
    if dtype not in _peaks:
        _peaks[dtype] = cpu.peak_gflops(dtype, 0.2)
    return _peaks[dtype] * threads


def __getattr__(name):  # CASES is built on first use (the case modules import this one)
    if name == "CASES":
        global CASES
        CASES = _all_cases()
        return CASES
    raise AttributeError(name)


def run(cases, threads_list, min_time=0.5, progress=True):
    """Time every case; returns a list of result dicts (one per case, threads, impl)."""
    rows = []
    total = len(cases) * len(threads_list)
    step = 0
    for threads in threads_list:
        for case in cases:
            step += 1
            if progress:
                print(f"[{step}/{total}] {case.name}, {threads} thread(s)", file=sys.stderr, flush=True)
            with _Threads(threads):
                impls = case.make()
                times = {}
                for impl, fn in impls.items():
                    time.sleep(_SETTLE_S)
                    times[impl] = _time(fn, min_time)
            peak = peak_gflops(case.dtype, threads)
            for impl, t in times.items():
                rows.append({
                    "case": case.name, "op": case.op, "dtype": case.dtype, "threads": threads, "impl": impl,
                    "median_s": t, "gflops": case.flops / t / 1e9 if case.flops else None,
                    "gbps": case.nbytes / t / 1e9,
                    "pct_peak": 100 * case.flops / t / 1e9 / peak if case.flops and peak else None,
                    "vs_numpy": times["numpy"] / t if "numpy" in times else None,
                    "vs_torch": times["torch"] / t if "torch" in times else None,
                })
    return rows


def _fmt_time(t):
    return f"{t * 1e6:8.2f} us" if t < 1e-3 else f"{t * 1e3:8.3f} ms"


def report(rows, file=sys.stdout):
    """A table: one line per (case, threads, implementation). Ratios > 1 mean
    the other implementation is slower than this one."""
    head = f"{'case':58s} {'thr':>3s} {'impl':7s} {'median':>11s} {'GFLOP/s':>8s} {'%peak':>6s} {'GB/s':>7s} {'vs numpy':>8s} {'vs torch':>8s}"
    print(head, file=file)
    print("-" * len(head), file=file)
    fmt = lambda v, spec: format(v, spec) if v is not None else " " * len(format(0.0, spec))
    for r in rows:
        print(f"{r['case']:58s} {r['threads']:3d} {r['impl']:7s} {_fmt_time(r['median_s']):>11s} "
              f"{fmt(r['gflops'], '8.1f')} {fmt(r['pct_peak'], '6.1f')} {r['gbps']:7.2f} "
              f"{fmt(r['vs_numpy'], '7.2f')}x {fmt(r['vs_torch'], '7.2f')}x", file=file)


def machine_line() -> str:
    import os
    import platform

    model = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    info = fd.backend_info()
    peak = peak_gflops("float32", 1)
    return (f"{model}, {os.cpu_count()} CPUs, fastdl isa {info.get('isa')}, "
            f"measured fp32 FMA peak {peak:.0f} GFLOP/s per thread" if peak else f"{model}")
