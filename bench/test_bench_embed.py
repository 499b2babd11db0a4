"""embed family benchmarks (cases in fastdl/benchmark/cases_embed.py)."""

import pytest
from conftest import cases_for, run_case


@pytest.mark.parametrize("impl", ["fastdl", "numpy", "torch"])
@pytest.mark.parametrize("case", cases_for("embedding", "positional_encoding"))
def test_embed_family(benchmark, case, impl, threads):
    run_case(benchmark, case, impl, threads)
