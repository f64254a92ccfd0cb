"""Mel filterbanks, mel spectrograms and decibels against librosa."""
import itertools
import warnings

import librosa
import numpy as np
import pytest

import rae_fast

FB_GRID = list(itertools.product(
    [8000, 16000, 22050, 44100],   # sr
    [512, 2048, 3528],             # n_fft
    [20, 64, 128],                 # n_mels
    [False, True],                 # htk
    ["slaney", None, 1.0, np.inf],  # norm
))


@pytest.mark.parametrize("sr,n_fft,n_mels,htk,norm", FB_GRID)
def test_filterbank_matches_librosa(sr, n_fft, n_mels, htk, norm):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W = rae_fast.mel_filterbank(sr, n_fft, n_mels=n_mels, htk=htk, norm=norm)
        R = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, htk=htk, norm=norm)
    assert W.shape == R.shape and W.dtype == np.float32
    assert np.max(np.abs(W - R)) <= 1e-6 * max(R.max(), 1e-30)


@pytest.mark.parametrize("fmin,fmax", [(0.0, None), (50.0, 8000.0), (300.0, 4000.0)])
def test_filterbank_band_edges(fmin, fmax):
    W = rae_fast.mel_filterbank(22050, 2048, n_mels=40, fmin=fmin, fmax=fmax)
    R = librosa.filters.mel(sr=22050, n_fft=2048, n_mels=40, fmin=fmin, fmax=fmax)
    assert np.max(np.abs(W - R)) <= 1e-6 * R.max()


def test_empty_filters_warn_like_librosa():
    with pytest.warns(UserWarning, match="Empty filters"):
        rae_fast.mel_filterbank(8000, 128, n_mels=128)


@pytest.mark.parametrize("sr, n_fft, n_mels", [(8000, 256, 300), (16000, 512, 256),
                                               (8000, 128, 128)])
def test_melspectrogram_warns_on_empty_filters_every_call(sr, n_fft, n_mels):
    """librosa warns whenever its filterbank has empty bands; so does melspectrogram, on every
    call although the bank is cached, and for S= input too."""
    y = np.random.default_rng(0).standard_normal(sr // 4).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        empty_ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels).max(axis=1) == 0
    assert empty_ref.any()
    for _ in range(2):
        with pytest.warns(UserWarning, match=f"{int(empty_ref.sum())} of {n_mels} bands"):
            M = rae_fast.melspectrogram(y=y, sr=sr, n_fft=n_fft, n_mels=n_mels)
        np.testing.assert_array_equal(M.max(axis=1) == 0, empty_ref)
    S = rae_fast.power_spectrogram(y, n_fft=n_fft)
    with pytest.warns(UserWarning, match="Empty filters"):
        rae_fast.melspectrogram(S=S, sr=sr, n_fft=n_fft, n_mels=n_mels)
    with warnings.catch_warnings():                 # a bank without empty bands stays quiet
        warnings.simplefilter("error")
        rae_fast.melspectrogram(y=y, sr=sr, n_fft=n_fft, n_mels=16)


def test_audeep_spectrogram_warns_on_empty_bands():
    y = np.random.default_rng(1).standard_normal(8000).astype(np.float32)
    with pytest.warns(UserWarning, match="mel bands contain no FFT bin"):
        S = rae_fast.spectrogram(y, 8000, window_width=0.032, window_overlap=0.016, n_mels=128)
    assert S.shape[0] == 128
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rae_fast.spectrogram(y, 8000, window_width=0.032, window_overlap=0.016, n_mels=40)


MEL_GRID = list(itertools.product(
    [16000, 22050, 44100],          # sr
    [(1024, 256, None), (2048, 512, 1500), (4096, 1764, 3528)],  # n_fft, hop, win
    [40, 128],                       # n_mels
    [False, True],                   # htk
    [1.0, 2.0],                      # power
))


@pytest.mark.parametrize("sr,fft_cfg,n_mels,htk,power", MEL_GRID)
def test_melspectrogram_matches_librosa(sr, fft_cfg, n_mels, htk, power):
    n_fft, hop, win = fft_cfg
    rng = np.random.default_rng(sr + n_fft)
    t = np.arange(sr) / sr
    for y in (rng.standard_normal(sr), np.sin(2 * np.pi * 523.25 * t) * np.hanning(sr)):
        y = y.astype(np.float32)
        kw = dict(sr=sr, n_fft=n_fft, hop_length=hop, win_length=win, n_mels=n_mels, htk=htk, power=power)
        M = rae_fast.melspectrogram(y=y, **kw)
        R = librosa.feature.melspectrogram(y=y, **kw)
        assert M.shape == R.shape and M.dtype == np.float32
        assert np.max(np.abs(M - R)) <= 1e-5 * R.max()


def test_melspectrogram_float64_batch_and_S_input():
    rng = np.random.default_rng(9)
    Y = rng.standard_normal((3, 12000))
    M = rae_fast.melspectrogram(y=Y, sr=16000, n_fft=512, hop_length=160, n_mels=40)
    assert M.dtype == np.float64 and M.shape[0] == 3
    # librosa builds its basis in float32 even for float64 audio; compare with a float64 basis
    basis = librosa.filters.mel(sr=16000, n_fft=512, n_mels=40, dtype=np.float64)
    for i in range(3):
        R = basis @ (np.abs(librosa.stft(Y[i], n_fft=512, hop_length=160)) ** 2)
        assert np.max(np.abs(M[i] - R)) <= 1e-11 * R.max()
    S = np.abs(librosa.stft(Y[0], n_fft=512, hop_length=160)) ** 2
    MS = rae_fast.melspectrogram(S=S, sr=16000, n_fft=512, n_mels=40)
    assert np.allclose(MS, basis @ S, rtol=1e-10)


@pytest.mark.parametrize("ref", [1.0, 1e-3, np.max, np.median])
@pytest.mark.parametrize("top_db", [80.0, 40.0, None])
@pytest.mark.parametrize("amin", [1e-10, 1e-5])
def test_power_to_db_matches_librosa(ref, top_db, amin):
    rng = np.random.default_rng(11)
    S = (rng.exponential(size=(64, 300)) ** 4).astype(np.float32)
    S[3, :10] = 0.0
    D = rae_fast.power_to_db(S, ref=ref, amin=amin, top_db=top_db)
    R = librosa.power_to_db(S, ref=ref, amin=amin, top_db=top_db)
    assert D.dtype == R.dtype == np.float32
    assert np.max(np.abs(D - R)) <= 1e-4
    D64 = rae_fast.power_to_db(S.astype(np.float64), ref=ref, amin=amin, top_db=top_db)
    R64 = librosa.power_to_db(S.astype(np.float64), ref=ref, amin=amin, top_db=top_db)
    assert np.max(np.abs(D64 - R64)) <= 1e-10


def test_mel_scale_conversions():
    f = np.array([0.0, 200.0, 1000.0, 4000.0, 11025.0])
    for htk in (False, True):
        assert np.allclose(rae_fast.hz_to_mel(f, htk=htk), librosa.hz_to_mel(f, htk=htk))
        m = librosa.hz_to_mel(f, htk=htk)
        assert np.allclose(rae_fast.mel_to_hz(m, htk=htk), librosa.mel_to_hz(m, htk=htk))
