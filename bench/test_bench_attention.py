"""scaled_dot_product_attention benchmarks (cases in fastdl/benchmark/cases_attention.py)."""

import pytest
from conftest import cases_for, run_case


@pytest.mark.parametrize("impl", ["fastdl", "numpy", "torch"])
@pytest.mark.parametrize("case", cases_for("scaled_dot_product_attention"))
def test_attention_family(benchmark, case, impl, threads):
    run_case(benchmark, case, impl, threads)
