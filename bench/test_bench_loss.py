"""loss family benchmarks (cases in fastdl/benchmark/cases_loss.py)."""

import pytest
from conftest import cases_for, run_case


@pytest.mark.parametrize("impl", ["fastdl", "numpy", "torch"])
@pytest.mark.parametrize("case", cases_for("mse_loss", "l1_loss", "bce_loss", "bce_with_logits_loss",
                                           "cross_entropy_loss", "hinge_loss", "gaussian_kl_loss"))
def test_loss_family(benchmark, case, impl, threads):
    run_case(benchmark, case, impl, threads)
