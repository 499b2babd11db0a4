"""resample family benchmarks (cases in fastdl/benchmark/cases_resample.py)."""

import pytest
from conftest import cases_for, run_case


@pytest.mark.parametrize("impl", ["fastdl", "numpy", "torch"])
@pytest.mark.parametrize("case", cases_for("upsample2d"))
def test_resample_family(benchmark, case, impl, threads):
    run_case(benchmark, case, impl, threads)
