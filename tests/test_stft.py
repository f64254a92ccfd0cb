"""Framing and STFT against librosa (and numpy.pad for the padding modes)."""
import itertools

import librosa
import numpy as np
import pytest

import rae_fast
from rae_fast import _core

SR = 22050


def signals(n=22050, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    noise = rng.standard_normal(n)
    tones = np.sin(2 * np.pi * 440 * t) + 0.5 * np.sin(2 * np.pi * 3150.5 * t + 1.0)
    return {"noise": noise, "tones": tones, "chirp": np.sin(2 * np.pi * (100 + 2000 * t) * t)}


@pytest.mark.parametrize("mode", ["constant", "reflect", "symmetric", "edge", "wrap"])
@pytest.mark.parametrize("length", [1, 2, 3, 5, 16])
def test_pad_index_matches_numpy_pad(mode, length):
    x = np.arange(1, length + 1, dtype=np.float64)
    pad = 3 * length + 2
    if mode == "reflect" and length == 1:
        ref = np.pad(x, pad, mode="edge")  # numpy's reflect of one sample repeats it
    else:
        ref = np.pad(x, pad, mode=mode)
    got = []
    for i in range(-pad, length + pad):
        j = _core.pad_index(i, length, mode)
        got.append(0.0 if j < 0 else x[j])
    assert np.array_equal(np.array(got), ref)


GRID = list(itertools.product(
    [256, 512, 1000, 2048],          # n_fft
    [64, 333, 512],                  # hop_length
    [None, "short"],                 # win_length
    [True, False],                   # center
    ["constant", "reflect", "edge"],  # pad_mode
))


@pytest.mark.parametrize("n_fft,hop,win,center,pad_mode", GRID)
def test_stft_matches_librosa(n_fft, hop, win, center, pad_mode):
    win_length = None if win is None else n_fft * 3 // 4
    for name, y in signals(8000 + n_fft).items():
        y32 = y.astype(np.float32)
        kw = dict(n_fft=n_fft, hop_length=hop, win_length=win_length, center=center, pad_mode=pad_mode)
        D = rae_fast.stft(y32, **kw)
        R = librosa.stft(y32, **kw)
        assert D.shape == R.shape and D.dtype == np.complex64
        assert np.max(np.abs(D - R)) <= 2e-6 * np.max(np.abs(R)), (name, kw)


@pytest.mark.parametrize("window", ["hamming", "blackman", "array"])
def test_stft_windows_and_float64(window):
    y = signals()["tones"]
    w = np.random.default_rng(1).uniform(0.1, 1, 700) if window == "array" else window
    kw = dict(n_fft=1024, hop_length=200, win_length=700, window=w, pad_mode="symmetric")
    D = rae_fast.stft(y, **kw)
    R = librosa.stft(y, **kw)
    assert D.dtype == np.complex128
    assert np.max(np.abs(D - R)) <= 1e-12 * np.max(np.abs(R))


def test_batch_equals_single_clips():
    rng = np.random.default_rng(2)
    Y = rng.standard_normal((5, 9000)).astype(np.float32)
    B = rae_fast.stft(Y, n_fft=512, hop_length=128)
    assert B.shape == (5, 257, 1 + 9000 // 128)
    for i in range(5):
        assert np.max(np.abs(B[i] - rae_fast.stft(Y[i], n_fft=512, hop_length=128))) <= 1e-6 * np.abs(B[i]).max()


@pytest.mark.parametrize("power", [1.0, 2.0, 1.5])
def test_power_spectrogram(power):
    y = signals()["noise"].astype(np.float32)
    P = rae_fast.power_spectrogram(y, n_fft=1024, hop_length=256, power=power)
    R = np.abs(librosa.stft(y, n_fft=1024, hop_length=256)) ** power
    assert np.max(np.abs(P - R)) <= 1e-5 * R.max()


def test_stft_out_and_threads():
    y = signals()["chirp"].astype(np.float32)
    D1 = rae_fast.stft(y, n_fft=2048, hop_length=512, n_threads=1)
    out = np.empty_like(D1)
    D2 = rae_fast.stft(y, n_fft=2048, hop_length=512, n_threads=2, out=out)
    assert D2 is out and np.array_equal(D1, D2)
