"""Shared helpers for the pytest-benchmark suites.

Run e.g. ``python -m pytest benchmarks/bench_fft.py --benchmark-only --benchmark-json=fft.json``
then ``python benchmarks/ratios.py fft.json`` for the ratio tables (see benchmarks/README.md).
"""
import numpy as np
import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "peer(name): the implementation a benchmark measures")


@pytest.fixture(scope="session")
def clips_400x5s():
    """400 clips of 5 s at 44.1 kHz (float32 noise with a varying envelope), ESC-10's shape."""
    rng = np.random.default_rng(2017)
    y = rng.standard_normal((400, 5 * 44100)).astype(np.float32)
    y *= np.linspace(0.1, 1.0, y.shape[1], dtype=np.float32)
    return y


def run(benchmark, fn, rounds=5, warmup=1):
    """Benchmark fn with a fixed number of rounds (big workloads: no calibration loops)."""
    return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=warmup)
