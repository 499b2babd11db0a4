"""act family benchmarks (cases in fastdl/benchmark/cases_act.py)."""

import pytest
from conftest import cases_for, run_case


@pytest.mark.parametrize("impl", ["fastdl", "numpy", "torch"])
@pytest.mark.parametrize("case", cases_for("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu", "prelu",
                                           "maxout"))
def test_act_family(benchmark, case, impl, threads):
    run_case(benchmark, case, impl, threads)
