"""Inverse transforms against librosa: istft, griffinlim, mel_to_stft / nnls, and
autocorrelation -> power spectrum against the power spectrum itself.

Tolerances, stated once:

* ``istft``: within ``2e-6 * (1 + max |y|)`` of ``librosa.istft`` (float32), ``1e-12`` in
  float64, wherever the window sum is not tiny. Without centring, the first and last samples
  are divided by a window sum near zero (the Hann window's tails), which amplifies rounding in
  both implementations alike; those samples (window sum below 1e-2 of its maximum) are only
  checked to be finite.
* ``istft(stft(y)) == y``: within ``1e-5 * max |y|`` (float32) for windows whose squared sum
  over the hops is positive (Hann, Hamming, Blackman, boxcar at hops up to ``n_fft // 2``).
* ``griffinlim``: spectral convergence ``|| |STFT(y)| - S || / ||S||`` within 1 % (relative) of
  librosa's with the same settings, for zero-phase (seed-free) initialisation, and for
  ``init="random"`` with the same ``random_state`` (the same draws as librosa).
* ``mel_to_stft``: where the non-negative least-squares solution is unique (a filterbank of full
  column rank on the bins it covers) within float32 precision of librosa's
  (``4e-6 * max``); elsewhere (more bins than bands: many solutions) our residual
  ``||A x - M||`` is below librosa's, the result is non-negative, within 20 % of librosa's
  and at least as close to the true magnitudes (to 5 %).
* ``autocorr_to_power`` with all lags equals ``|rfft(frame)|^2`` within ``1e-4`` relative.
"""
import doctest
import itertools
import warnings

import numpy as np
import pytest

import rae_fast
from rae_fast import _core
from rae_fast.dsp import inverse as inv

librosa = pytest.importorskip("librosa")

SR = 22050


def signal(n, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    y = 0.3 * rng.standard_normal(n) + np.sin(2 * np.pi * (150 + 900 * t) * t)
    return y.astype(dtype)


def sc(y, S, **kw):
    """Spectral convergence of y against the magnitudes S."""
    X = np.abs(librosa.stft(np.asarray(y, np.float32), **kw))
    return float(np.linalg.norm(X - S) / np.linalg.norm(S))


# ------------------------------------------------------------------------------ istft

ISTFT_GRID = list(itertools.product(
    [64, 255, 512, 2048],       # n_fft
    [None, 100, "half"],        # hop_length
    [None, "short"],            # win_length
    [True, False],              # center
))


@pytest.mark.parametrize("n_fft,hop,win,center", ISTFT_GRID)
def test_istft_matches_librosa(n_fft, hop, win, center):
    win_length = None if win is None else n_fft * 3 // 4
    hop_length = n_fft // 2 if hop == "half" else hop
    y = signal(6000 + n_fft, seed=n_fft)
    kw = dict(n_fft=n_fft, hop_length=hop_length, win_length=win_length, center=center)
    D = librosa.stft(y, **kw)
    ref = librosa.istft(D, **kw)
    got = rae_fast.istft(D, **kw)
    assert got.shape == ref.shape and got.dtype == np.float32
    w = librosa.filters.window_sumsquare(window="hann", n_frames=D.shape[1],
                                         win_length=win_length or n_fft, n_fft=n_fft,
                                         hop_length=hop_length or (win_length or n_fft) // 4)
    start = n_fft // 2 if center else 0
    w = librosa.util.fix_length(w[start:], size=len(ref))
    good = w > 1e-2 * w.max()
    tol = 2e-6 * (1 + np.abs(ref).max())
    assert np.abs(got - ref)[good].max() <= tol, kw
    # where the window sum is tiny both divide rounding noise by it (no comparison there)
    assert np.isfinite(got).all()


@pytest.mark.parametrize("length", [1, 100, 5000, 6000, 9000])
@pytest.mark.parametrize("center", [True, False])
def test_istft_length_matches_librosa(length, center):
    y = signal(6000)
    D = librosa.stft(y, n_fft=512, hop_length=128, center=center)
    ref = librosa.istft(D, hop_length=128, center=center, length=length)
    got = rae_fast.istft(D, hop_length=128, center=center, length=length)
    assert got.shape == ref.shape == (length,)
    w = librosa.filters.window_sumsquare(window="hann", n_frames=D.shape[1], win_length=512,
                                         n_fft=512, hop_length=128)
    w = librosa.util.fix_length(w[256 if center else 0:], size=length)
    good = w > 1e-2 * w.max()
    if good.any():
        assert np.abs(got - ref)[good].max() <= 2e-6 * (1 + np.abs(ref).max())


@pytest.mark.parametrize("window", ["hann", "hamming", "blackman", "boxcar"])
@pytest.mark.parametrize("n_fft,hop", [(256, 64), (256, 128), (1024, 256), (1000, 250),
                                       (777, 111)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_istft_inverts_stft(window, n_fft, hop, dtype):
    for seed in range(3):
        y = np.random.default_rng(seed).uniform(-1, 1, 5000 + 37 * seed).astype(dtype)
        D = rae_fast.stft(y, n_fft=n_fft, hop_length=hop, window=window)
        z = rae_fast.istft(D, hop_length=hop, n_fft=n_fft, window=window, length=len(y))
        assert z.dtype == dtype
        tol = 1e-5 if dtype == np.float32 else 1e-12
        assert np.abs(z - y).max() <= tol * np.abs(y).max(), (window, n_fft, hop, seed)


def test_istft_batch_threads_and_float64():
    y = np.stack([signal(8000, seed=s) for s in range(5)])
    D = rae_fast.stft(y, n_fft=1024, hop_length=256)
    batch = rae_fast.istft(D, hop_length=256, n_threads=1)
    for i in range(5):
        assert np.array_equal(batch[i], rae_fast.istft(D[i], hop_length=256, n_threads=1))
    for threads in (2, 3, 7):
        assert np.array_equal(batch, rae_fast.istft(D, hop_length=256, n_threads=threads))
    D64 = librosa.stft(y[0].astype(np.float64), n_fft=1024, hop_length=256)
    z = rae_fast.istft(D64, hop_length=256)
    assert z.dtype == np.float64
    assert np.abs(z - librosa.istft(D64, hop_length=256)).max() < 1e-12
    out = np.empty((5, batch.shape[1]), np.float32)
    assert rae_fast.istft(D, hop_length=256, out=out) is out
    assert np.array_equal(out, batch)
    assert rae_fast.istft(D, hop_length=256, dtype=np.float64).dtype == np.float64


# ------------------------------------------------------------------------------ griffinlim

GL_GRID = [
    dict(n_fft=2048, hop_length=512),
    dict(n_fft=1024, hop_length=256, win_length=800),
    dict(n_fft=512, hop_length=128, center=False),
    dict(n_fft=511, hop_length=100, momentum=0.0),
    dict(n_fft=256, hop_length=64, pad_mode="reflect", momentum=0.5),
]


@pytest.mark.parametrize("kw", GL_GRID)
@pytest.mark.parametrize("n_iter", [1, 8, 32])
def test_griffinlim_convergence_matches_librosa(kw, n_iter):
    stft_kw = {k: v for k, v in kw.items() if k not in ("momentum",)}
    y = signal(SR * 2, seed=n_iter)
    S = np.abs(librosa.stft(y, **stft_kw))
    ref = librosa.griffinlim(S, n_iter=n_iter, init=None, **kw)
    got = rae_fast.griffinlim(S, n_iter=n_iter, init=None, **kw)
    assert got.shape == ref.shape and got.dtype == np.float32
    a, b = sc(got, S, **stft_kw), sc(ref, S, **stft_kw)
    assert abs(a - b) <= 0.01 * b, (a, b)


@pytest.mark.parametrize("seed", [0, 7])
def test_griffinlim_random_init_is_librosas(seed):
    y = signal(SR, seed=seed)
    S = np.abs(librosa.stft(y, n_fft=1024, hop_length=256))
    ref = librosa.griffinlim(S, n_iter=16, hop_length=256, random_state=seed)
    got = rae_fast.griffinlim(S, n_iter=16, hop_length=256, random_state=seed)
    a, b = sc(got, S, n_fft=1024, hop_length=256), sc(ref, S, n_fft=1024, hop_length=256)
    assert abs(a - b) <= 0.01 * b
    # the same random draws: zero iterations give librosa's initial signal
    ref0 = librosa.griffinlim(S, n_iter=0, hop_length=256, random_state=seed)
    got0 = rae_fast.griffinlim(S, n_iter=0, hop_length=256, random_state=seed)
    assert np.abs(got0 - ref0).max() <= 1e-5 * np.abs(ref0).max()
    gen = rae_fast.griffinlim(S, n_iter=0, hop_length=256,
                              random_state=np.random.default_rng(seed))
    assert np.isfinite(gen).all()


def test_griffinlim_speed_5_seconds_is_whole_loop_in_cpp():
    """One call, 32 iterations, 5 s at 22.05 kHz (the benchmark's case) is deterministic and
    reaches librosa's spectral convergence."""
    y = signal(5 * SR)
    S = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    a = rae_fast.griffinlim(S, n_iter=32, init=None, n_threads=1)
    b = rae_fast.griffinlim(S, n_iter=32, init=None, n_threads=2)
    assert np.array_equal(a, b)
    ref = librosa.griffinlim(S, n_iter=32, init=None)
    assert abs(sc(a, S) - sc(ref, S)) <= 0.01 * sc(ref, S)


def test_griffinlim_batch_threads_true_phase_and_length():
    y = np.stack([signal(6000, seed=s) for s in range(4)])
    D = rae_fast.stft(y, n_fft=512, hop_length=128)
    S = np.abs(D)
    batch = rae_fast.griffinlim(S, n_iter=10, hop_length=128, init=None, n_threads=1)
    for i in range(4):
        one = rae_fast.griffinlim(S[i], n_iter=10, hop_length=128, init=None, n_threads=1)
        assert np.allclose(one, batch[i], atol=1e-6)
    for threads in (2, 5):
        assert np.array_equal(batch, rae_fast.griffinlim(S, n_iter=10, hop_length=128,
                                                         init=None, n_threads=threads))
    # the true phase and no iteration: the signal itself
    phase = D / np.maximum(S, 1e-30)
    z = rae_fast.griffinlim(S, n_iter=0, hop_length=128, init=phase, length=6000)
    assert np.abs(z - y).max() < 1e-4
    S64 = S.astype(np.float64)
    assert rae_fast.griffinlim(S64, n_iter=2, hop_length=128).dtype == np.float64
    with pytest.warns(UserWarning, match="unstable"):
        rae_fast.griffinlim(S[0], n_iter=1, hop_length=128, momentum=1.5)


def test_griffinlim_silence_and_huge_values():
    S = np.zeros((257, 20), np.float32)
    assert np.array_equal(rae_fast.griffinlim(S, n_iter=3, hop_length=128, init=None),
                          np.zeros(128 * 19, np.float32))
    y = signal(4000) * np.float32(1e25)
    S = np.abs(rae_fast.stft(y, n_fft=512, hop_length=128))
    z = rae_fast.griffinlim(S, n_iter=4, hop_length=128, init=None)
    assert np.isfinite(z).all()
    tiny = rae_fast.griffinlim(S * np.float32(1e-40), n_iter=4, hop_length=128, init=None)
    assert np.isfinite(tiny).all()


# ------------------------------------------------------------------------------ nnls, mel

FULL_RANK = [(8000, 32, 40, False), (8000, 64, 128, True), (16000, 32, 48, False),
             (8000, 16, 24, False)]


@pytest.mark.parametrize("sr,n_fft,n_mels,htk", FULL_RANK)
@pytest.mark.parametrize("power", [1.0, 2.0])
def test_mel_to_stft_unique_solution_matches_librosa(sr, n_fft, n_mels, htk, power):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # empty mel bands
        A = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, htk=htk)
    assert np.linalg.matrix_rank(A[:, 1:-1].astype(np.float64)) == A.shape[1] - 2
    rng = np.random.default_rng(n_fft)
    P = rng.random((A.shape[1], 60)).astype(np.float32)
    P[[0, -1]] = 0           # DC and Nyquist lie outside every band
    M = (A @ P).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # empty mel bands
        ref = librosa.feature.inverse.mel_to_stft(M, sr=sr, n_fft=n_fft, htk=htk, power=power)
        got = rae_fast.dsp.mel_to_stft(M, sr=sr, n_fft=n_fft, htk=htk, power=power)
    assert got.shape == ref.shape and got.dtype == np.float32
    assert np.abs(got - ref).max() <= 4e-6 * np.abs(ref).max()


@pytest.mark.parametrize("n_mels", [40, 128])
def test_mel_to_stft_underdetermined_beats_librosas_residual(n_mels):
    y = signal(SR, seed=n_mels)
    M = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=2048, hop_length=512, n_mels=n_mels)
    A = librosa.filters.mel(sr=SR, n_fft=2048, n_mels=n_mels)
    ref = librosa.feature.inverse.mel_to_stft(M, sr=SR, n_fft=2048)
    got = rae_fast.dsp.mel_to_stft(M, sr=SR, n_fft=2048)
    assert got.min() >= 0
    res = np.linalg.norm(A @ got ** 2 - M) / np.linalg.norm(M)
    res_ref = np.linalg.norm(A @ ref ** 2 - M) / np.linalg.norm(M)
    assert res <= res_ref and res < 1e-3
    assert np.linalg.norm(got - ref) <= 0.2 * np.linalg.norm(ref)
    true = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    assert np.linalg.norm(got - true) <= 1.05 * np.linalg.norm(ref - true)


def test_nnls_batch_threads_and_general_matrix():
    A = rae_fast.mel_filterbank(sr=16000, n_fft=512, n_mels=64)
    x = np.random.default_rng(1).random((3, 257, 30)).astype(np.float32)
    B = A @ x
    X1 = rae_fast.dsp.nnls(A, B, n_threads=1)
    for threads in (2, 4):
        assert np.array_equal(X1, rae_fast.dsp.nnls(A, B, n_threads=threads))
    assert np.array_equal(X1[1], rae_fast.dsp.nnls(A, B[1], n_threads=1))
    # a dense matrix with negative entries and an exact non-negative answer
    rng = np.random.default_rng(2)
    G = rng.standard_normal((20, 8))
    xt = np.abs(rng.standard_normal((8, 5)))
    xt[2] = 0
    X = rae_fast.dsp.nnls(G, G @ xt, dtype=np.float64, max_iter=5000, tol=1e-10)
    assert X.dtype == np.float64 and np.abs(X - xt).max() < 1e-6
    # b that cannot be matched: x = 0 is the answer for a negative target
    Z = rae_fast.dsp.nnls(A, -np.ones((64, 3), np.float32))
    assert np.abs(Z).max() == 0


def test_mel_to_audio_runs_and_matches_librosas_quality():
    y = signal(SR, seed=3)
    M = rae_fast.melspectrogram(y=y, sr=SR, n_fft=1024, hop_length=256, n_mels=64)
    z = rae_fast.dsp.mel_to_audio(M, sr=SR, n_fft=1024, hop_length=256, init=None,
                                  length=len(y))
    assert z.shape == y.shape
    S = np.abs(librosa.stft(y, n_fft=1024, hop_length=256))
    assert sc(z, S, n_fft=1024, hop_length=256) < 0.6


# ------------------------------------------------------------------------------ Wiener-Khinchin

@pytest.mark.parametrize("frame,n_fft,window", [(100, 256, None), (256, 512, "hann"),
                                                (300, 300, None), (64, 64, "hamming")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_autocorr_to_power_is_the_power_spectrum(frame, n_fft, window, dtype):
    y = signal(4000, dtype=dtype)
    R = rae_fast.autocorrelogram(y, frame_length=frame, hop_length=frame // 2,
                                 max_lag=frame - 1, normalize=None, center=False, window=window)
    P = rae_fast.dsp.autocorr_to_power(R, n_fft=n_fft)
    w = np.ones(frame) if window is None else rae_fast.get_window(window, frame,
                                                                   dtype=np.float64)
    frames = np.lib.stride_tricks.sliding_window_view(y.astype(np.float64), frame)[::frame // 2]
    ref = (np.abs(np.fft.rfft(frames * w, n=n_fft)) ** 2).T
    assert P.dtype == dtype and P.shape == ref.shape
    assert np.abs(P - ref).max() <= 1e-4 * ref.max()


def test_autocorr_to_power_undoes_normalisation_and_batches():
    y = np.stack([signal(3000, seed=s) for s in range(3)])
    kw = dict(frame_length=200, hop_length=100, max_lag=199, center=False)
    raw = rae_fast.autocorrelogram(y, normalize=None, **kw)
    ref = rae_fast.dsp.autocorr_to_power(raw, n_fft=400)
    unb = rae_fast.autocorrelogram(y, normalize="unbiased", **kw)
    got = rae_fast.dsp.autocorr_to_power(unb, n_fft=400, normalize="unbiased", frame_length=200)
    assert np.abs(got - ref).max() <= 1e-4 * ref.max()
    lag0 = rae_fast.autocorrelogram(y, normalize="lag0", **kw)
    got = rae_fast.dsp.autocorr_to_power(lag0, n_fft=400, normalize="lag0", energy=raw[:, 0])
    assert np.abs(got - ref).max() <= 1e-4 * ref.max()
    # truncated lags with a Bartlett lag window: a smoothed, non-negative spectrum
    short = rae_fast.autocorrelogram(y, normalize=None, frame_length=200, hop_length=100,
                                     max_lag=30, center=False)
    sm = rae_fast.dsp.autocorr_to_power(short, n_fft=400, lag_window="bartlett",
                                        clip_negative=False)
    assert sm.min() >= -1e-3 * sm.max()
    assert np.array_equal(rae_fast.dsp.autocorr_to_power(short, 400, n_threads=1),
                          rae_fast.dsp.autocorr_to_power(short, 400, n_threads=3))
    assert rae_fast.dsp.autocorr_to_power(short).shape == (3, 31, short.shape[-1])


# ------------------------------------------------------------------------------ bad input

def test_bad_input_raises_clear_errors():
    D = rae_fast.stft(signal(4000), n_fft=256, hop_length=64)
    S = np.abs(D)
    with pytest.raises(TypeError, match="stft_matrix must be a complex"):
        rae_fast.istft(S)
    with pytest.raises(ValueError, match="frequency bins"):
        rae_fast.istft(D, n_fft=512)
    with pytest.raises(ValueError, match="hop_length must be >= 1"):
        rae_fast.istft(D, hop_length=0)
    with pytest.raises(ValueError, match="length must be >= 1"):
        rae_fast.istft(D, length=0)
    with pytest.raises(ValueError, match="win_length"):
        rae_fast.istft(D, win_length=300)
    with pytest.raises(ValueError, match="non-finite"):
        rae_fast.istft(np.where(S > 1, np.nan, D).astype(np.complex64))
    with pytest.raises(ValueError, match="stft_matrix must be 2-D or 3-D"):
        rae_fast.istft(D[0])
    with pytest.raises(ValueError, match="magnitudes"):
        rae_fast.griffinlim(-S)
    with pytest.raises(TypeError, match="S must be real"):
        rae_fast.griffinlim(D)
    with pytest.raises(ValueError, match="momentum must be >= 0"):
        rae_fast.griffinlim(S, momentum=-0.1)
    with pytest.raises(ValueError, match="STFT frames"):
        rae_fast.griffinlim(S, hop_length=64, length=100)
    with pytest.raises(ValueError, match="init must have the shape"):
        rae_fast.griffinlim(S, init=np.ones((3, 3), np.complex64))
    with pytest.raises(ValueError, match="init must be None"):
        rae_fast.griffinlim(S, init="zeros")
    with pytest.raises(TypeError, match="random_state"):
        rae_fast.griffinlim(S, random_state="seed")
    with pytest.raises(ValueError, match="pad_mode"):
        rae_fast.griffinlim(S, pad_mode="nope")
    with pytest.raises(TypeError, match="n_iter must be an integer"):
        rae_fast.griffinlim(S, n_iter=2.5)
    with pytest.raises(ValueError, match="B has 3 rows"):
        rae_fast.dsp.nnls(np.ones((4, 5)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="power must be > 0"):
        rae_fast.dsp.mel_to_stft(np.ones((40, 3), np.float32), power=0)
    with pytest.raises(ValueError, match="frame_length"):
        rae_fast.dsp.autocorr_to_power(np.ones((5, 3)), normalize="unbiased")
    with pytest.raises(ValueError, match="energy must have shape"):
        rae_fast.dsp.autocorr_to_power(np.ones((5, 3)), normalize="lag0", energy=np.ones(4))
    with pytest.raises(ValueError, match="lag_window must have one value per lag"):
        rae_fast.dsp.autocorr_to_power(np.ones((5, 3)), lag_window=np.ones(4))


def test_core_refuses_bad_arrays_without_crashing():
    D = np.ones((1, 129, 10), np.complex64)
    out = np.empty((1, 100), np.float32)
    with pytest.raises(TypeError):
        _core.istft(D.astype(np.complex128), out, 256, 64, None, True, 1)
    with pytest.raises(ValueError):
        _core.istft(D, out, 512, 64, None, True, 1)
    with pytest.raises(ValueError):
        _core.istft(D, out, 256, 0, None, True, 1)
    with pytest.raises(ValueError):
        _core.istft(D, np.empty((2, 100), np.float32), 256, 64, None, True, 1)
    with pytest.raises(ValueError):
        _core.istft(D, out, 256, 64, np.ones(3), True, 1)
    with pytest.raises(ValueError):
        _core.istft(D, out[:, ::2], 256, 64, None, True, 1)
    mag = np.ones((1, 129, 10), np.float32)
    with pytest.raises(ValueError):  # 100 samples do not give 10 frames
        _core.griffinlim(mag, None, out, 256, 64, None, True, "constant", 2, 0.99, 1)
    with pytest.raises(ValueError):
        _core.griffinlim(mag, None, np.empty((1, 576), np.float32), 256, 64, None, True,
                         "constant", 2, float("nan"), 1)
    with pytest.raises(ValueError):
        _core.griffinlim(mag, np.ones((1, 129, 9), np.complex64), np.empty((1, 576), np.float32),
                         256, 64, None, True, "constant", 2, 0.5, 1)
    with pytest.raises(ValueError):
        _core.nnls_filterbank(np.ones((4, 5)), np.ones((1, 3, 2)), np.empty((1, 5, 2)), 10, 1e-4, 1)
    with pytest.raises(ValueError):
        _core.nnls_filterbank(np.full((4, 5), np.inf), np.ones((1, 4, 2)), np.empty((1, 5, 2)),
                              10, 1e-4, 1)
    with pytest.raises(ValueError):
        _core.acf_to_power(np.ones((1, 5, 3)), np.empty((1, 4, 3)), 8, None, True, 1)
    with pytest.raises(ValueError):
        _core.acf_to_power(np.ones((1, 5, 3)), np.empty((1, 5, 3)), 0, None, True, 1)


def test_docstring_examples():
    res = doctest.testmod(inv, extraglobs={"np": np, "rae_fast": rae_fast})
    assert res.attempted > 0 and res.failed == 0
