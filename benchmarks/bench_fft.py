"""Batched real FFTs: 2000 frames x N, float32, 1 and 2 threads.

Peers in the same run: scipy.fft.rfft(workers=t), numpy.fft.rfft (single-threaded) and
torch.fft.rfft (MKL/pocketfft, torch.set_num_threads(t)). ``rae_fast-out`` reuses a
preallocated output (``out=``), ``rae_fast`` allocates a fresh one on every call, like the peers.
"""
import numpy as np
import pytest
import scipy.fft

import rae_fast
from conftest import run

SIZES = [512, 2048, 4096, 8192]
THREADS = [1, 2]


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"N{n}")
def frames(request):
    n = request.param
    return np.random.default_rng(n).standard_normal((2000, n)).astype(np.float32)


@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"t{t}")
@pytest.mark.parametrize("peer", ["rae_fast-out", "rae_fast", "scipy", "numpy", "torch"])
def bench_rfft_batch(benchmark, frames, threads, peer):
    n = frames.shape[1]
    benchmark.group = f"rfft 2000xN={n} float32, {threads} thread(s)"
    benchmark.extra_info.update(peer=peer, threads=threads, n=n)
    if peer == "rae_fast-out":
        out = np.empty((2000, n // 2 + 1), np.complex64)
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
    if peer.startswith("rae_fast"):
        ref = np.fft.rfft(frames[:3].astype(np.float64), axis=1)
        assert np.linalg.norm(fn()[:3] - ref) <= 1e-5 * np.linalg.norm(ref)
    run(benchmark, fn, rounds=15, warmup=2)
