"""Sweep the GEMM block sizes of the active ISA's kernels on this machine.

    python bench/tune_gemm.py [--dtype float32] [--threads 1] [--sizes 512,1024,2048]

Prints GFLOP/s per (mc, kc, nc); copy the winner into the table in
csrc/cpu/gemm/gemm.cpp with a comment naming the machine. Uses the
_cpu._gemm_tune hook, which rewrites the table row in this process only.
"""

import argparse
import itertools
import time

import numpy as np

from fastdl import _cpu


def median_time(fn, reps=5):
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dtype", default="float32")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--sizes", default="512,1024,2048")
    p.add_argument("--mc", default="")
    p.add_argument("--kc", default="")
    p.add_argument("--nc", default="")
    args = p.parse_args()
    isa = _cpu.isa()
    mr, nr, mc0, kc0, nc0, small, serial = _cpu._gemm_blocking(args.dtype, isa)
    mcs = [int(v) for v in args.mc.split(",")] if args.mc else [mr * i for i in (6, 8, 12, 16, 20, 24, 32)]
    kcs = [int(v) for v in args.kc.split(",")] if args.kc else [128, 192, 256, 320, 384, 512]
    ncs = [int(v) for v in args.nc.split(",")] if args.nc else [nc0]
    sizes = [int(s) for s in args.sizes.split(",")]
    _cpu.set_num_threads(args.threads)
    mats = {n: [np.random.rand(n, n).astype(args.dtype) for _ in range(3)] for n in sizes}
    print(f"# {isa} {args.dtype} mr={mr} nr={nr}, {args.threads} thread(s); table now mc={mc0} kc={kc0} nc={nc0}")
    results = []
    for mc, kc, nc in itertools.product(mcs, kcs, ncs):
        _cpu._gemm_tune(args.dtype, isa, mc, kc, nc, small, serial)
        gf = [2 * n**3 / median_time(lambda a=mats[n]: _cpu.gemm(a[2], a[0], a[1])) / 1e9 for n in sizes]
        results.append((min(gf), mc, kc, nc, gf))
        print(f"mc={mc:4d} kc={kc:4d} nc={nc:5d}  " + "  ".join(f"{n}: {g:6.1f}" for n, g in zip(sizes, gf)), flush=True)
    _cpu._gemm_tune(args.dtype, isa, mc0, kc0, nc0, small, serial)
    best = max(results)
    print(f"# best (by the worst size): mc={best[1]} kc={best[2]} nc={best[3]}: {best[4]}")


if __name__ == "__main__":
    main()
