"""pool family benchmarks (cases in fastdl/benchmark/cases_pool.py)."""

import pytest
from conftest import cases_for, run_case


@pytest.mark.parametrize("impl", ["fastdl", "numpy", "torch"])
@pytest.mark.parametrize("case", cases_for("max_pool2d", "avg_pool2d"))
def test_pool_family(benchmark, case, impl, threads):
    run_case(benchmark, case, impl, threads)
