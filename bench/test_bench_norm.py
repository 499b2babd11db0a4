"""norm family benchmarks (cases in fastdl/benchmark/cases_norm.py)."""

import pytest
from conftest import cases_for, run_case


@pytest.mark.parametrize("impl", ["fastdl", "numpy", "torch"])
@pytest.mark.parametrize("case", cases_for("batch_norm", "layer_norm", "group_norm", "instance_norm"))
def test_norm_family(benchmark, case, impl, threads):
    run_case(benchmark, case, impl, threads)
