"""softmax family benchmarks (cases in fastdl/benchmark/cases_softmax.py)."""

import pytest
from conftest import cases_for, run_case


@pytest.mark.parametrize("impl", ["fastdl", "numpy", "torch"])
@pytest.mark.parametrize("case", cases_for("softmax", "log_softmax"))
def test_softmax_family(benchmark, case, impl, threads):
    run_case(benchmark, case, impl, threads)
