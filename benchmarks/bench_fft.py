"""Batched real FFTs: 2000 frames x N (N = 256 ... 8192), float32, 1 and 2 threads.

Peers in the same run: scipy.fft.rfft(workers=t), numpy.fft.rfft (single-threaded) and
torch.fft.rfft (MKL, torch.set_num_threads(t)). ``rae_fast`` is the default allocating call,
as users write it (the goal is measured on it); ``rae_fast-out`` reuses a preallocated output
(``out=``). ``python benchmarks/tables.py fft.json`` prints the table with the ratio columns
(peer time / rae_fast time: >= 1.5 against scipy and >= 1.0 against torch is the goal).

Small transforms take a fraction of a millisecond, so their rounds are many; all peers get the
same rounds. Run on a quiet machine: another process on one of the 2 cores distorts the 2-thread
rows first.
"""
import numpy as np
import pytest
import scipy.fft

import rae_fast
from conftest import run

SIZES = [256, 512, 1024, 2048, 4096, 8192]
THREADS = [1, 2]
ROWS = 2000


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"N{n}")
def frames(request):
    n = request.param
    return np.random.default_rng(n).standard_normal((ROWS, n)).astype(np.float32)


@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"t{t}")
@pytest.mark.parametrize("peer", ["rae_fast", "rae_fast-out", "scipy", "numpy", "torch"])
def bench_rfft_batch(benchmark, frames, threads, peer):
    n = frames.shape[1]
    benchmark.group = f"rfft {ROWS}xN={n} float32, {threads} thread(s)"
    benchmark.extra_info.update(suite="fft", peer=peer, threads=threads, n=n, rows=ROWS)
    if peer == "rae_fast-out":
        out = np.empty((ROWS, n // 2 + 1), np.complex64)
        fn = lambda: rae_fast.rfft(frames, out=out, n_threads=threads)  # noqa: E731
    elif peer == "rae_fast":
        fn = lambda: rae_fast.rfft(frames, n_threads=threads)  # noqa: E731
    elif peer == "scipy":
        fn = lambda: scipy.fft.rfft(frames, axis=1, workers=threads)  # noqa: E731
    elif peer == "numpy":
        if threads != 1:
            pytest.skip("numpy.fft is single-threaded")
        fn = lambda: np.fft.rfft(frames, axis=1)  # noqa: E731
    else:
        torch = pytest.importorskip("torch")
        torch.set_num_threads(threads)
        xt = torch.from_numpy(frames)
        fn = lambda: torch.fft.rfft(xt, dim=1)  # noqa: E731
    # correctness of what is timed
    ref = np.fft.rfft(frames[:3].astype(np.float64), axis=1)
    got = np.asarray(fn()[:3])
    assert np.linalg.norm(got - ref) <= 1e-5 * np.linalg.norm(ref)
    rounds = 200 if n <= 1024 else 60 if n <= 4096 else 30
    run(benchmark, fn, rounds=rounds, warmup=5)
