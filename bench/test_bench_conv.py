"""conv family benchmarks (cases in fastdl/benchmark/cases_conv.py)."""

import pytest
from conftest import cases_for, run_case


@pytest.mark.parametrize("impl", ["fastdl", "numpy", "torch"])
@pytest.mark.parametrize("case", cases_for("conv2d", "conv_transpose2d"))
def test_conv_family(benchmark, case, impl, threads):
    run_case(benchmark, case, impl, threads)
