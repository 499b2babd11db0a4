"""pytest-benchmark suites over fastdl.benchmark.CASES.

    pip install ".[bench]"
    pytest bench --benchmark-only -k matmul --benchmark-group-by=group

Each case is one group; its implementations (fastdl, numpy, torch) appear
side by side, with flops and bytes in extra_info. Thread count: all threads
unless FASTDL_BENCH_THREADS is set (applied to fastdl, BLAS and torch alike).
"""

import os

import pytest

from fastdl import benchmark


def pytest_collection_modifyitems(config, items):
    for item in items:
        item.add_marker(pytest.mark.benchmark)


@pytest.fixture(scope="session")
def threads():
    import fastdl

    return int(os.environ.get("FASTDL_BENCH_THREADS", fastdl.get_num_threads()))


def cases_for(*ops):
    return [pytest.param(c, id=c.name) for c in benchmark.CASES if c.op in ops]


def run_case(benchmark_fixture, case, impl, threads):
    with benchmark._Threads(threads):
        impls = case.make()
        if impl not in impls:
            pytest.skip(f"{impl} not available for {case.name}")
        fn = impls[impl]
        benchmark_fixture.group = case.name
        benchmark_fixture.extra_info.update(flops=case.flops, bytes=case.nbytes, threads=threads, dtype=case.dtype)
        benchmark_fixture(fn)
