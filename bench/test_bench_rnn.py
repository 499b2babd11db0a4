"""rnn family benchmarks: LSTM / RNN sequences and cells (cases in fastdl/benchmark/cases_rnn.py)."""

import pytest
from conftest import cases_for, run_case


@pytest.mark.parametrize("impl", ["fastdl", "numpy", "torch"])
@pytest.mark.parametrize("case", cases_for("rnn_cell", "rnn", "lstm_cell", "lstm"))
def test_rnn_family(benchmark, case, impl, threads):
    run_case(benchmark, case, impl, threads)
