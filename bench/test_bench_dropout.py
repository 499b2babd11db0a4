"""dropout benchmarks (cases in fastdl/benchmark/cases_dropout.py)."""

import pytest
from conftest import cases_for, run_case


@pytest.mark.parametrize("impl", ["fastdl", "numpy", "torch"])
@pytest.mark.parametrize("case", cases_for("dropout"))
def test_dropout_family(benchmark, case, impl, threads):
    run_case(benchmark, case, impl, threads)
