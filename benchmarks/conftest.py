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


def librosa_cut(path, seconds=5.0):
    """``librosa.load`` (native rate) and auDeep's fixed-length cut: the centred ``seconds``,
    or the clip zero-padded on both sides: the straightforward peer of ``preprocess``."""
    import librosa

    y, sr = librosa.load(path, sr=None)
    n = int(seconds * sr)
    if len(y) >= n:
        off = (len(y) - n) // 2
        return y[off:off + n], sr
    a = (n - len(y)) // 2
    return np.pad(y, (a, n - len(y) - a)), sr
