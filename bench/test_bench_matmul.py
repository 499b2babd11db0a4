"""matmul and affine benchmarks (cases in fastdl/benchmark.py)."""

import pytest
from conftest import cases_for, run_case


@pytest.mark.parametrize("impl", ["fastdl", "numpy", "torch"])
@pytest.mark.parametrize("case", cases_for("matmul", "affine"))
def test_matmul_family(benchmark, case, impl, threads):
    run_case(benchmark, case, impl, threads)
