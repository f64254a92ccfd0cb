"""Autocorrelograms against a float64 numpy reference (np.correlate per frame), and the
fundamental-frequency estimators on synthetic harmonic tones."""
import itertools

import numpy as np
import pytest

import rae_fast


def reference(y, frame_length, hop, max_lag, center, window=None, normalize="lag0", detrend=False,
              pad_mode="constant"):
    y = np.asarray(y, dtype=np.float64)
    if center:
        y = np.pad(y, frame_length // 2, mode=pad_mode)
    n_frames = 1 + (len(y) - frame_length) // hop
    out = np.zeros((max_lag + 1, n_frames))
    for f in range(n_frames):
        x = y[f * hop:f * hop + frame_length].copy()
        if detrend:
            x -= x.mean()
        if window is not None:
            x *= window
        full = np.correlate(x, x, mode="full")[frame_length - 1:frame_length + max_lag]
        if normalize == "lag0":
            full = full / full[0] if full[0] > 0 else np.zeros_like(full)
        elif normalize == "unbiased":
            full = full / (frame_length - np.arange(max_lag + 1))
        out[:, f] = full
    return out


def signal(kind, n, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    if kind == "noise":
        return rng.standard_normal(n)
    if kind == "tonal":
        return np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 660 * t + 1) + 0.1 * rng.standard_normal(n)
    y = rng.standard_normal(n)
    y[n // 3: n // 2] = 0.0  # silence in the middle
    return y


SETTINGS = list(itertools.product(
    [(256, 64, 50), (512, 128, 300), (1000, 333, 999), (2048, 512, 1024), (300, 100, 7)],
    [True, False],                      # center
    ["lag0", "unbiased", None],         # normalize
    ["fft", "direct"],                  # method
))


@pytest.mark.parametrize("frames,center,normalize,method", SETTINGS)
@pytest.mark.parametrize("kind", ["noise", "tonal", "gap"])
def test_matches_numpy_correlate(frames, center, normalize, method, kind):
    frame_length, hop, max_lag = frames
    y = signal(kind, 6000, seed=frame_length)
    ref = reference(y, frame_length, hop, max_lag, center, normalize=normalize)
    A = rae_fast.autocorrelogram(y.astype(np.float32), frame_length=frame_length, hop_length=hop,
                                 max_lag=max_lag, center=center, normalize=normalize, method=method)
    assert A.shape == ref.shape and A.dtype == np.float32
    A64 = rae_fast.autocorrelogram(y, frame_length=frame_length, hop_length=hop, max_lag=max_lag,
                                   center=center, normalize=normalize, method=method)
    if normalize == "unbiased":
        # lag l divides a sum of N - l products by N - l: compare the sums, whose rounding error
        # is relative to the frame energy (lag 0), not to the tiny sums at the largest lags
        w = (frame_length - np.arange(max_lag + 1))[:, None]
        A, A64, ref = A * w, A64 * w, ref * w
    scale = np.abs(ref).max()
    assert np.max(np.abs(A - ref)) <= 2e-6 * scale * np.sqrt(frame_length / 256)
    assert np.max(np.abs(A64 - ref)) <= 1e-12 * scale * frame_length


@pytest.mark.parametrize("method", ["fft", "direct"])
def test_window_detrend_pad_mode(method):
    y = signal("tonal", 5000) + 3.0
    w = np.hanning(400)
    ref = reference(y, 400, 150, 120, True, window=w, detrend=True, pad_mode="reflect")
    A = rae_fast.autocorrelogram(y, frame_length=400, hop_length=150, max_lag=120, window=w,
                                 detrend=True, pad_mode="reflect", method=method)
    assert np.max(np.abs(A - ref)) <= 1e-12
    Ah = rae_fast.autocorrelogram(y, frame_length=400, hop_length=150, max_lag=120, window="hann",
                                  method=method)
    refh = reference(y, 400, 150, 120, True, window=rae_fast.get_window("hann", 400, dtype=np.float64))
    assert np.max(np.abs(Ah - refh)) <= 1e-12


def test_silent_frames_give_zeros_not_nan():
    y = np.zeros(8000, np.float32)
    y[6000:] = np.random.default_rng(1).standard_normal(2000)
    for method in ("fft", "direct"):
        A = rae_fast.autocorrelogram(y, frame_length=512, hop_length=256, max_lag=100, method=method)
        assert np.all(np.isfinite(A))
        assert np.all(A[:, :5] == 0)
        assert np.allclose(A[0, -5:], 1.0)


def test_batch_single_threads_and_auto_method():
    rng = np.random.default_rng(3)
    Y = rng.standard_normal((6, 12000)).astype(np.float32)
    for max_lag in (16, 1024):
        B = rae_fast.autocorrelogram(Y, frame_length=2048, hop_length=512, max_lag=max_lag)
        assert B.shape == (6, max_lag + 1, 1 + 12000 // 512)
        for i in (0, 5):
            S = rae_fast.autocorrelogram(Y[i], frame_length=2048, hop_length=512, max_lag=max_lag)
            assert np.max(np.abs(S - B[i])) <= 1e-6
        for t in (1, 2, 3):
            assert np.array_equal(rae_fast.autocorrelogram(Y, max_lag=max_lag, n_threads=t),
                                  rae_fast.autocorrelogram(Y, max_lag=max_lag, n_threads=1))
    assert rae_fast.autocorrelation_method(2048, 16) == "direct"
    assert rae_fast.autocorrelation_method(2048, 1024) == "fft"


def test_defaults_fmin_and_axes():
    sr = 22050
    y = np.sin(2 * np.pi * 220 * np.arange(sr) / sr).astype(np.float32)
    A = rae_fast.autocorrelogram(y)
    assert A.shape == (2048 // 2 + 1, 1 + sr // 512)
    A = rae_fast.autocorrelogram(y, sr=sr, fmin=50)
    assert A.shape[0] == int(np.ceil(sr / 50)) + 1
    times, lags = rae_fast.autocorrelogram_axes(A.shape[1], A.shape[0], sr=sr)
    assert times[1] == pytest.approx(512 / sr) and lags[1] == pytest.approx(1000 / sr)
    peak = 50 + np.argmax(A[50:, 10])
    assert lags[peak] == pytest.approx(1000 / 220, abs=1000 / sr)
    t2, _ = rae_fast.autocorrelogram_axes(4, 3, sr=1000, hop_length=10, frame_length=20, center=False)
    assert t2.tolist() == [0.01, 0.02, 0.03, 0.04]


def test_out_parameter():
    y = signal("noise", 5000).astype(np.float32)
    out = np.empty((101, 1 + 5000 // 256), np.float32)
    res = rae_fast.autocorrelogram(y, frame_length=1024, hop_length=256, max_lag=100, out=out)
    assert res is out
    with pytest.raises(ValueError, match="out"):
        rae_fast.autocorrelogram(y, frame_length=1024, hop_length=256, max_lag=100, out=out[:50])


def test_bad_input():
    y = signal("noise", 4000).astype(np.float32)
    with pytest.raises(TypeError, match="floating-point"):
        rae_fast.autocorrelogram((y * 100).astype(np.int32))
    with pytest.raises(ValueError, match="1-D or 2-D"):
        rae_fast.autocorrelogram(y.reshape(2, 2, 1000))
    bad = y.copy()
    bad[7] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        rae_fast.autocorrelogram(bad)
    with pytest.raises(ValueError, match="fewer than frame_length"):
        rae_fast.autocorrelogram(y[:1000], frame_length=2048, center=False)
    with pytest.raises(ValueError, match="max_lag"):
        rae_fast.autocorrelogram(y, frame_length=512, max_lag=512)
    with pytest.raises(ValueError, match="fmin"):
        rae_fast.autocorrelogram(y, sr=16000, fmin=9000)
    with pytest.raises(ValueError, match="sr"):
        rae_fast.autocorrelogram(y, fmin=100)
    with pytest.raises(ValueError, match="frame"):
        rae_fast.autocorrelogram(y, sr=16000, fmin=5, frame_length=1024)
    with pytest.raises(ValueError, match="normalize"):
        rae_fast.autocorrelogram(y, normalize="max")
    with pytest.raises(ValueError, match="method"):
        rae_fast.autocorrelogram(y, method="winograd")
    with pytest.raises(ValueError, match="hop_length"):
        rae_fast.autocorrelogram(y, hop_length=0)
    with pytest.raises(ValueError, match="window"):
        rae_fast.autocorrelogram(y, frame_length=512, window=np.ones(100))
    with pytest.raises(ValueError, match="fmax"):
        rae_fast.fundamental_frequency(y, 16000, fmax=9000)
    with pytest.raises(ValueError, match="fmin"):
        rae_fast.fundamental_frequency(y, 16000, fmin=500, fmax=400)
    with pytest.raises(ValueError, match="method"):
        rae_fast.fundamental_frequency(y, 16000, method="yin")
    for method in ("autocorrelation", "fft"):
        with pytest.raises(ValueError, match="hop_length must be >= 1, got 0"):
            rae_fast.fundamental_frequency(y, 16000, hop_length=0, method=method)
        with pytest.raises(TypeError, match="hop_length must be an integer"):
            rae_fast.fundamental_frequency(y, 16000, hop_length=256.5, method=method)


@pytest.mark.parametrize("max_lag", [50, 160, 161, 400])
def test_fmin_and_max_lag_together_are_refused(max_lag):
    # fmin = 100 Hz at 16 kHz means max_lag = 160: neither a shorter, an equal nor a longer
    # max_lag may silently win over fmin (or the other way round)
    y = signal("noise", 4000).astype(np.float32)
    with pytest.raises(ValueError, match="give max_lag or fmin, not both"):
        rae_fast.autocorrelogram(y, sr=16000, fmin=100.0, max_lag=max_lag, frame_length=512)
    # each alone is fine, and fmin means max_lag = ceil(sr / fmin)
    a = rae_fast.autocorrelogram(y, sr=16000, fmin=100.0, frame_length=512)
    b = rae_fast.autocorrelogram(y, sr=16000, max_lag=160, frame_length=512)
    assert a.shape[0] == 161 and np.array_equal(a, b)


F0S = [60, 70, 82.4, 97.5, 110, 150, 220, 330, 440, 523.25, 600, 700, 800, 900, 1000]


def tone(f0, sr, harmonics, seconds=1.0, decay=0.8):
    t = np.arange(int(sr * seconds)) / sr
    y = sum(decay ** k * np.sin(2 * np.pi * k * f0 * t + k) for k in harmonics if k * f0 < sr / 2)
    return y.astype(np.float32)


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100])
def test_f0_autocorrelation_within_one_percent(sr):
    worst = 0.0
    for f0 in F0S:
        for harmonics, decay in ((range(1, 10), 0.8), (range(2, 10), 0.8), (range(1, 10), 1.0),
                                 (range(3, 8), 0.9)):
            est = rae_fast.fundamental_frequency(tone(f0, sr, harmonics, decay=decay), sr,
                                                 fmin=50, fmax=1100)[3:-3]
            assert not np.any(np.isnan(est)), (sr, f0, list(harmonics))
            err = np.max(np.abs(est / f0 - 1))
            worst = max(worst, err)
            assert err <= 0.01, (sr, f0, list(harmonics), err)


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100])
def test_f0_fft_peak_within_one_percent_and_strongest_partial(sr):
    for f0 in F0S:
        est = rae_fast.fundamental_frequency(tone(f0, sr, range(1, 10)), sr, fmin=50, fmax=1100,
                                             method="fft")[3:-3]
        assert np.max(np.abs(est / f0 - 1)) <= 0.01, (sr, f0)
    # by definition the FFT peak is the strongest partial: without its fundamental, a harmonic
    f0 = 200.0
    est = rae_fast.fundamental_frequency(tone(f0, sr, range(2, 6)), sr, fmin=50, fmax=1100,
                                         method="fft")[3:-3]
    assert np.allclose(est, 2 * f0, rtol=0.01)


def test_f0_unvoiced_batch_and_frames():
    rng = np.random.default_rng(0)
    sr = 16000
    noise = rng.standard_normal(sr).astype(np.float32)
    for method in ("autocorrelation", "fft"):
        assert np.all(np.isnan(rae_fast.fundamental_frequency(noise, sr, method=method)))
        assert np.all(np.isnan(rae_fast.fundamental_frequency(np.zeros(sr, np.float32), sr, method=method)))
    Y = np.stack([tone(220, sr, range(1, 6)), noise])
    F = rae_fast.fundamental_frequency(Y, sr)
    assert F.shape == (2, 1 + sr // 512)
    assert np.allclose(F[0, 3:-3], 220, rtol=0.01) and np.all(np.isnan(F[1]))
