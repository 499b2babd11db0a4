"""Best-of-rounds timing for a noisy shared machine.

    python bench/best_of_rounds.py conv2d,conv_transpose2d 1,2 4 out.json

For each case of the given ops and each thread count, the implementations
(fastdl, torch, NumPy) alternate for ROUNDS rounds of fastdl.benchmark's
timer (median of batches) and each keeps its fastest round; NumPy runs once.
Another process taking a core for a while slows whichever library is timed
then; alternating rounds and keeping the best gives both the same chance.
"""
import json
import sys
import time

from fastdl import benchmark as B


def main(ops, threads, rounds, out):
    cases = [c for c in B.CASES if c.op in ops]
    best = {}
    for th in threads:
        for c in cases:
            with B._Threads(th):
                impls = c.make()
                for r in range(rounds):
                    for name, fn in impls.items():
                        if name == "numpy" and r > 0:
                            continue
                        time.sleep(0.05)
                        key = f"{c.name}|{th}|{name}"
                        best[key] = min(best.get(key, float("inf")), B._time(fn, 0.15))
            mine = {k.split("|")[2]: round(v * 1e3, 3) for k, v in best.items() if k.startswith(f"{c.name}|{th}|")}
            print(c.name, th, mine, file=sys.stderr, flush=True)
    with open(out, "w") as f:
        json.dump({"machine": B.machine_line(), "best_s": best}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1].split(","), [int(t) for t in sys.argv[2].split(",")], int(sys.argv[3]), sys.argv[4])
