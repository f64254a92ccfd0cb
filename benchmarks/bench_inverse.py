"""Inverse transforms, 5 s at 22.05 kHz (n_fft 2048, hop 512, Hann): Griffin-Lim (32
iterations, zero-phase initialisation, momentum 0.99), istft, and mel -> STFT magnitude
(128 Slaney bands), rae_fast at 1 and 2 threads against librosa (and torch.istft) in the
same run.

Each benchmark first checks that what it times computes the right thing: Griffin-Lim's spectral
convergence within 1 % of librosa's, istft within float32 precision of librosa's, mel_to_stft's
residual no larger than librosa's.
"""
import librosa
import numpy as np
import pytest

import rae_fast
from conftest import run

SR, N_FFT, HOP, N_ITER = 22050, 2048, 512, 32


@pytest.fixture(scope="module")
def clip():
    rng = np.random.default_rng(11)
    t = np.arange(5 * SR) / SR
    y = np.sin(2 * np.pi * (200 + 300 * t) * t) + 0.2 * rng.standard_normal(t.size)
    return (y * np.linspace(0.2, 1.0, t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def mag(clip):
    return np.abs(librosa.stft(clip, n_fft=N_FFT, hop_length=HOP))


def _sc(y, S):
    X = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))
    return float(np.linalg.norm(X - S) / np.linalg.norm(S))


@pytest.mark.parametrize("threads", [1, 2], ids=lambda t: f"t{t}")
@pytest.mark.parametrize("peer", ["rae_fast", "librosa"])
def bench_griffinlim(benchmark, mag, threads, peer):
    benchmark.group = (f"griffinlim 32 iterations, 5 s @ 22.05 kHz, n_fft 2048 / hop 512, "
                       f"{threads} thread(s)")
    benchmark.extra_info.update(peer=peer, threads=threads)
    if peer == "librosa":
        if threads != 1:
            pytest.skip("librosa is single-threaded (numpy)")
        fn = lambda: librosa.griffinlim(mag, n_iter=N_ITER, hop_length=HOP, init=None)  # noqa: E731
        rounds = 5
    else:
        fn = lambda: rae_fast.griffinlim(mag, n_iter=N_ITER, hop_length=HOP, init=None,  # noqa: E731
                                         n_threads=threads)
        rounds = 20
    ref = _sc(librosa.griffinlim(mag, n_iter=N_ITER, hop_length=HOP, init=None), mag)
    assert abs(_sc(fn(), mag) - ref) <= 0.01 * ref
    run(benchmark, fn, rounds=rounds)


@pytest.mark.parametrize("threads", [1, 2], ids=lambda t: f"t{t}")
@pytest.mark.parametrize("peer", ["rae_fast", "librosa", "torch"])
def bench_istft(benchmark, clip, threads, peer):
    benchmark.group = f"istft 5 s @ 22.05 kHz, n_fft 2048 / hop 512, {threads} thread(s)"
    benchmark.extra_info.update(peer=peer, threads=threads)
    D = librosa.stft(clip, n_fft=N_FFT, hop_length=HOP)
    if peer == "librosa":
        if threads != 1:
            pytest.skip("librosa is single-threaded (numpy)")
        fn = lambda: librosa.istft(D, hop_length=HOP)  # noqa: E731
    elif peer == "torch":
        torch = pytest.importorskip("torch")
        torch.set_num_threads(threads)
        Dt = torch.from_numpy(D)
        win = torch.hann_window(N_FFT)

        def fn():
            with torch.inference_mode():
                return torch.istft(Dt, N_FFT, HOP, window=win).numpy()
    else:
        fn = lambda: rae_fast.istft(D, hop_length=HOP, n_threads=threads)  # noqa: E731
    ref = librosa.istft(D, hop_length=HOP)
    assert np.abs(fn() - ref).max() < 1e-5
    run(benchmark, fn, rounds=50)


@pytest.mark.parametrize("threads", [1, 2], ids=lambda t: f"t{t}")
@pytest.mark.parametrize("peer", ["rae_fast", "librosa"])
def bench_mel_to_stft(benchmark, clip, threads, peer):
    benchmark.group = f"mel_to_stft 5 s @ 22.05 kHz, 128 mels, n_fft 2048, {threads} thread(s)"
    benchmark.extra_info.update(peer=peer, threads=threads)
    M = librosa.feature.melspectrogram(y=clip, sr=SR, n_fft=N_FFT, hop_length=HOP)
    A = librosa.filters.mel(sr=SR, n_fft=N_FFT)
    if peer == "librosa":
        if threads != 1:
            pytest.skip("librosa is single-threaded (numpy)")
        fn = lambda: librosa.feature.inverse.mel_to_stft(M, sr=SR, n_fft=N_FFT)  # noqa: E731
        rounds = 2
    else:
        fn = lambda: rae_fast.dsp.mel_to_stft(M, sr=SR, n_fft=N_FFT, n_threads=threads)  # noqa: E731
        rounds = 10
    res = lambda S: np.linalg.norm(A @ S ** 2 - M) / np.linalg.norm(M)  # noqa: E731
    assert res(fn()) <= max(res(librosa.feature.inverse.mel_to_stft(M, sr=SR, n_fft=N_FFT)),
                            1e-3)
    run(benchmark, fn, rounds=rounds, warmup=1)
