"""Command line: ``python -m fastdl bench [--quick] [--op NAME] [--threads N]`` and ``info``."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fastdl")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("info", help="print backend_info() as JSON")
    bench = sub.add_parser("bench", help="time fastdl against NumPy and PyTorch")
    bench.add_argument("--quick", action="store_true", help="a short subset (about a minute)")
    bench.add_argument("--op", action="append", help="only cases of this op (repeatable)")
    bench.add_argument("--threads", type=int, action="append",
                       help="thread count (repeatable; default: 1 and all)")
    bench.add_argument("--min-time", type=float, default=None, help="seconds per implementation")
    bench.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    import fastdl as fd

    if args.cmd == "info":
        print(json.dumps(fd.backend_info(), indent=2))
        return 0

    from fastdl import benchmark

    cases = [c for c in benchmark.CASES if (not args.quick or c.quick) and (not args.op or c.op in args.op)]
    if not cases:
        known = sorted({c.op for c in benchmark.CASES})
        print(f"no benchmark cases for --op {args.op}; known ops: {known}", file=sys.stderr)
        return 2
    all_threads = fd.get_num_threads()
    threads = args.threads or sorted({1, all_threads})
    min_time = args.min_time if args.min_time is not None else (0.2 if args.quick else 0.5)
    print(f"# {benchmark.machine_line()}")
    rows = benchmark.run(cases, threads, min_time=min_time)
    benchmark.report(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": benchmark.machine_line(), "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
