"""Peak extra memory of conv2d forward+backward, x(64,64,32,32) w(64,64,3,3) p1, float32.

    python bench/conv_memory.py fastdl|torch THREADS [first]

Run each in its own process (VmHWM is per process). Inputs and dout exist before the
baseline; writing 5 to /proc/self/clear_refs resets VmHWM; extra = VmHWM after one
forward+backward - VmRSS before. Without "first", one warm-up call runs first (thread
pools, fastdl scratch, torch allocator caches). tracemalloc would miss C++ scratch."""
import sys, numpy as np
impl, threads = sys.argv[1], int(sys.argv[2])
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
rng = np.random.default_rng(0)
x = rng.standard_normal((64, 64, 32, 32)).astype(np.float32)
w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
b = rng.standard_normal(64).astype(np.float32)
g = rng.standard_normal((64, 64, 32, 32)).astype(np.float32)
if impl == "fastdl":
    import fastdl as fd
    fd.set_num_threads(threads)
    def run():
        out, cache = fd.conv2d_forward(x, w, b, padding=1)
        return out, fd.conv2d_backward(g, cache)
else:
    import torch
    torch.set_num_threads(threads)
    tx, tw, tb, tg = (torch.from_numpy(a) for a in (x, w, b, g))
    tx.requires_grad_(); tw.requires_grad_(); tb.requires_grad_()
    def run():
        y = torch.nn.functional.conv2d(tx, tw, tb, padding=1)
        y.backward(tg)
        return y, (tx.grad, tw.grad, tb.grad)
first = sys.argv[3] == "first" if len(sys.argv) > 3 else False
if not first:
    r = run(); del r   # warm: thread pools, code, reusable workspaces (fastdl's scratch, torch's allocator)
    if impl == "torch": tx.grad = tw.grad = tb.grad = None
open("/proc/self/clear_refs", "w").write("5")
base = status("VmRSS:")
r = run()
peak = status("VmHWM:")
outs = x.nbytes + x.nbytes + w.nbytes + b.nbytes   # out, dx, dw, db
print(f"{impl} threads={threads} {'first call' if first else 'warm'}: peak extra {(peak-base)/2**20:.1f} MiB "
      f"(outputs {outs/2**20:.1f} MiB, beyond outputs {(peak-base-outs)/2**20:.1f} MiB)")
