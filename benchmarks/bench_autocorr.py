"""Autocorrelogram of one 5 s clip at 44.1 kHz: frames 2048, hop 512, lags 0..1024 (431 frames),
normalised by lag 0, 1 and 2 threads.

Peers in the same run (all computing the same (lags x frames) array):
- a Python loop of ``np.correlate(x, x, "full")`` per frame;
- batched numpy / scipy: ``rfft`` (n = 4096) -> ``|X|^2`` -> ``irfft`` on all frames at once;
- ``librosa.autocorrelate`` on the frame matrix;
- torch: ``torch.fft.rfft``/``irfft`` on the whole frame batch and in chunks of 64 frames
  (the best torch variant is the one to beat).
"""
import librosa
import numpy as np
import pytest
import scipy.fft

import rae_fast
from conftest import run

SR, FRAME, HOP, LAGS = 44100, 2048, 512, 1024


@pytest.fixture(scope="module")
def clip():
    rng = np.random.default_rng(7)
    t = np.arange(5 * SR) / SR
    return (np.sin(2 * np.pi * 220 * t) + 0.3 * rng.standard_normal(t.size)).astype(np.float32)


def frames_of(y):
    yp = np.pad(y, FRAME // 2)
    return np.lib.stride_tricks.sliding_window_view(yp, FRAME)[::HOP]


def _lag0(R):
    r0 = R[:, :1]
    return np.where(r0 > 0, R / np.where(r0 > 0, r0, 1), 0).T


@pytest.mark.parametrize("threads", [1, 2], ids=lambda t: f"t{t}")
@pytest.mark.parametrize("peer", ["rae_fast", "torch-batch", "torch-chunks", "scipy-batch",
                                  "numpy-batch", "librosa", "np.correlate-loop"])
def bench_autocorrelogram(benchmark, clip, threads, peer):
    benchmark.group = f"autocorrelogram 5 s @ 44.1 kHz, frame 2048 / hop 512 / 1024 lags, {threads} thread(s)"
    benchmark.extra_info.update(peer=peer, threads=threads)
    rounds = 10
    if peer == "rae_fast":
        fn = lambda: rae_fast.autocorrelogram(clip, frame_length=FRAME, hop_length=HOP,  # noqa: E731
                                              max_lag=LAGS, n_threads=threads)
        rounds = 30
    elif peer in ("numpy-batch", "scipy-batch", "librosa", "np.correlate-loop") and threads != 1:
        pytest.skip(f"{peer} is single-threaded")
    elif peer == "numpy-batch":
        def fn():
            X = np.fft.rfft(frames_of(clip), n=4096, axis=1)
            return _lag0(np.fft.irfft(np.abs(X) ** 2, n=4096, axis=1)[:, :LAGS + 1])
    elif peer == "scipy-batch":
        def fn():
            X = scipy.fft.rfft(frames_of(clip), n=4096, axis=1, workers=threads)
            return _lag0(scipy.fft.irfft(np.abs(X) ** 2, n=4096, axis=1, workers=threads)[:, :LAGS + 1])
    elif peer == "librosa":
        def fn():
            return _lag0(librosa.autocorrelate(frames_of(clip), max_size=LAGS + 1, axis=-1))
    elif peer == "np.correlate-loop":
        def fn():
            F = frames_of(clip)
            R = np.stack([np.correlate(x, x, "full")[FRAME - 1:FRAME + LAGS] for x in F])
            return _lag0(R)
        rounds = 1
    else:
        torch = pytest.importorskip("torch")
        torch.set_num_threads(threads)
        chunk = None if peer == "torch-batch" else 64

        def fn():
            with torch.inference_mode():
                F = torch.from_numpy(np.ascontiguousarray(frames_of(clip)))
                parts = [F] if chunk is None else list(torch.split(F, chunk))
                out = []
                for p in parts:
                    X = torch.fft.rfft(p, n=4096, dim=1)
                    R = torch.fft.irfft(X.real ** 2 + X.imag ** 2, n=4096, dim=1)[:, :LAGS + 1]
                    out.append(R / torch.clamp(R[:, :1], min=1e-30))
                return torch.cat(out).T
    res = np.asarray(fn())
    ref = rae_fast.autocorrelogram(clip.astype(np.float64), frame_length=FRAME, hop_length=HOP, max_lag=LAGS)
    assert res.shape == ref.shape and np.max(np.abs(res - ref)) < 1e-4
    run(benchmark, fn, rounds=rounds, warmup=1 if rounds > 1 else 0)
