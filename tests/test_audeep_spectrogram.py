"""The auDeep-compatible spectrogram against a straightforward numpy/scipy re-implementation of
what the auDeep toolkit computes (audeep/backend/signal/spectral.py + preprocessing.py)."""
import numpy as np
import pytest
import scipy.signal

import rae_fast


def audeep_reference(y, fs, width, overlap, n_mels, clip_below, clip_above, mean_norm=True):
    """auDeep's pipeline, in float64."""
    y = np.asarray(y, dtype=np.float64)
    y = np.append(y[0], y[1:] - 0.95 * y[:-1])                       # pre-emphasis
    nw, no = int(fs * width), int(fs * overlap)
    _, _, sxx = scipy.signal.spectrogram(y, fs=fs, window=scipy.signal.get_window("hann", nw),
                                         noverlap=no, mode="magnitude")
    power = (1.0 / nw) * sxx ** 2
    if n_mels is not None:                                            # HTK, floored bins
        high = 2595 * np.log10(1 + (fs / 2) / 700)
        hz = 700 * (10 ** (np.linspace(0, high, n_mels + 2) / 2595) - 1)
        bins = np.floor((nw + 1) * hz / fs)
        fb = np.zeros((n_mels, nw // 2 + 1))
        for m in range(1, n_mels + 1):
            lo, c, hi = int(bins[m - 1]), int(bins[m]), int(bins[m + 1])
            for k in range(lo, c):
                fb[m - 1, k] = (k - bins[m - 1]) / (bins[m] - bins[m - 1])
            for k in range(c, hi):
                fb[m - 1, k] = (bins[m + 1] - k) / (bins[m + 1] - bins[m])
        power = fb @ power
    eps = np.min(power[power > 0])
    s = np.where(power > eps, power, eps)
    s = 10 * np.log10(s / np.max(s))
    if clip_below is not None:
        s = np.maximum(s, clip_below)
    if clip_above is not None:
        s = np.minimum(s, clip_above)
    if mean_norm:
        s = s - np.mean(s)
        lo, hi = s.min(), s.max()
        s = 2 * (s - lo) / (hi - lo) - 1 if abs(hi - lo) > 1e-4 else s - lo
    return s


def clip(kind, fs, seconds, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(int(fs * seconds)) / fs
    if kind == "noise":
        return rng.standard_normal(t.size)
    if kind == "tones":
        return (np.sin(2 * np.pi * 330 * t) + 0.3 * np.sin(2 * np.pi * 2500 * t)) * (1 + np.sin(2 * np.pi * 2 * t))
    return np.sign(np.sin(2 * np.pi * 7 * t)) * rng.standard_normal(t.size) * 0.1


CASES = [
    # fs, width, overlap, n_mels
    (44100, 0.08, 0.04, 128),   # auDeep's ESC-10 settings (3528-sample windows)
    (16000, 0.04, 0.02, 64),
    (22050, 0.08, 0.04, 128),
    (8000, 0.032, 0.016, 40),   # 256-sample windows: power of two
    (16000, 0.05, 0.01, None),  # linear-frequency power spectrum
]


@pytest.mark.parametrize("fs,width,overlap,n_mels", CASES)
@pytest.mark.parametrize("kind", ["noise", "tones", "bursts"])
def test_float64_matches_reference_without_clipping(fs, width, overlap, n_mels, kind):
    y = clip(kind, fs, 1.5, seed=fs)
    ref = audeep_reference(y, fs, width, overlap, n_mels, None, None)
    S = rae_fast.spectrogram(y, fs, window_width=width, window_overlap=overlap, n_mels=n_mels,
                             clip_below=None)
    assert S.dtype == np.float64 and S.shape == ref.shape
    # Unclipped, the scaling depends on the quietest bin, which for pure tones lies ~200 dB
    # below the peak, where double-precision FFT rounding (~1e-16 of the spectrum's norm) is
    # visible: hence 1e-7 rather than 1e-12 on the [-1, 1] scale.
    assert np.max(np.abs(S - ref)) <= 1e-7


@pytest.mark.parametrize("fs,width,overlap,n_mels", CASES)
@pytest.mark.parametrize("clip_below,clip_above", [(-60.0, None), (-30.0, None), (-75.0, -5.0)])
def test_float32_matches_reference_with_clipping(fs, width, overlap, n_mels, clip_below, clip_above):
    y = clip("tones", fs, 2.0, seed=1) + 0.01 * clip("noise", fs, 2.0, seed=2)
    ref = audeep_reference(y, fs, width, overlap, n_mels, clip_below, clip_above)
    S = rae_fast.spectrogram(y.astype(np.float32), fs, window_width=width, window_overlap=overlap,
                             n_mels=n_mels, clip_below=clip_below, clip_above=clip_above)
    assert S.dtype == np.float32 and S.shape == ref.shape
    # values in [-1, 1]; dB errors of ~1e-4 dB scale to ~1e-5 here
    assert np.max(np.abs(S - ref)) <= 2e-4
    assert S.min() == pytest.approx(-1.0) and S.max() == pytest.approx(1.0)


def test_db_output_without_mean_norm_and_chunk_normalisation():
    fs = 16000
    y = clip("tones", fs, 3.0, seed=3)
    ref_db = audeep_reference(y, fs, 0.04, 0.02, 64, -60.0, None, mean_norm=False)
    D = rae_fast.spectrogram(y, fs, window_width=0.04, window_overlap=0.02, n_mels=64,
                             mean_norm=False)
    assert np.max(np.abs(D - ref_db)) <= 1e-8
    assert D.max() == 0.0 and D.min() >= -60.0
    # auDeep normalises each chunk separately
    chunk = D[:, :50]
    c = chunk - chunk.mean()
    expect = 2 * (c - c.min()) / (c.max() - c.min()) - 1
    assert np.max(np.abs(rae_fast.audeep_normalize(chunk) - expect)) <= 1e-12


def test_batch_equals_single_and_frames_helper():
    fs = 44100
    Y = np.stack([clip(k, fs, 5.0, seed=i) for i, k in enumerate(["noise", "tones", "bursts"])]).astype(np.float32)
    B = rae_fast.spectrogram(Y, fs)
    assert B.shape == (3, 128, 124)
    assert rae_fast.spectrogram_frames(Y.shape[1], fs) == (3528, 1764, 124)
    for i in range(3):
        assert np.max(np.abs(B[i] - rae_fast.spectrogram(Y[i], fs))) <= 1e-5
    for t in (1, 2, 3):
        assert np.array_equal(rae_fast.spectrogram(Y, fs, n_threads=t), B)


def test_samples_override_seconds():
    fs = 16000
    y = clip("noise", fs, 1.0, seed=5).astype(np.float32)
    a = rae_fast.spectrogram(y, fs, window_width=0.04, window_overlap=0.02)
    b = rae_fast.spectrogram(y, fs, win_length=640, hop_length=320)
    assert np.array_equal(a, b)


def test_silent_clip_gives_zeros_not_nan():
    S = rae_fast.spectrogram(np.zeros(16000, np.float32), 16000, window_width=0.04,
                             window_overlap=0.02)
    assert np.all(np.isfinite(S)) and np.all(S == 0)
