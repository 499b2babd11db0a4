"""optim family benchmarks (cases in fastdl/benchmark/cases_optim.py)."""

import pytest
from conftest import cases_for, run_case


@pytest.mark.parametrize("impl", ["fastdl", "numpy", "torch", "torch-foreach", "torch-fused"])
@pytest.mark.parametrize("case", cases_for("sgd_step", "rmsprop_step", "adam_step", "clip_grad_norm"))
def test_optim_family(benchmark, case, impl, threads):
    run_case(benchmark, case, impl, threads)
