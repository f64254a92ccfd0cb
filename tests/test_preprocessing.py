"""Tests of rae_fast.preprocessing: chunks, feature settings, features against an auDeep
reference, autocorrelogram features, and the streaming preprocess() pipeline."""
from __future__ import annotations

import numpy as np
import pytest
import rae_fast
import soundfile as sf
from rae_fast import autocorr
from rae_fast.audio import AudioError
from rae_fast.dataset import DataSetWriter, load
from rae_fast.preprocessing import (
    FeatureSettings,
    chunk_frames,
    compute_features,
    extract_features,
    pipeline,
    preprocess,
)
from scipy import signal

# ------------------------------------------------------------------ reference (auDeep)

def audeep_reference(samples, fs, ww, wo, mel, clip_below, clip_above, fixed, center,
                     chunk_len, chunk_count, mode="mean"):
    """auDeep's preprocessing written out in float64 numpy/scipy, steps 0-7.

    ``samples``: (n, channels) as soundfile returns them. Returns (n_chunks, time, freq).
    """
    x = np.asarray(samples, np.float64)
    if fixed is not None:
        L, n = int(fixed * fs), x.shape[0]
        if n > L:
            off = (n - L) // 2 if center else 0
            x = x[off:off + L]
        else:
            a = (L - n) // 2 if center else 0
            x = np.pad(x, ((a, L - n - a), (0, 0)))
    if x.shape[1] == 1:
        x = x[:, 0]
    else:
        x = {"mean": x.mean(axis=1), "left": x[:, 0], "right": x[:, 1],
             "diff": x[:, 0] - x[:, 1]}[mode]
    x = np.concatenate([x[:1], x[1:] - 0.95 * x[:-1]])
    win, ov = int(fs * ww), int(fs * wo)
    if fixed is not None:
        expected = int((fixed - wo) / (ww - wo))
        actual = (x.shape[0] - ov) // (win - ov)
        ov += -1 if actual > expected else (1 if actual < expected else 0)
    step = win - ov
    _, _, S = signal.spectrogram(x, fs=fs, window=signal.get_window("hann", win, fftbins=True),
                                 noverlap=ov, mode="magnitude")
    S = S ** 2 / win
    if mel:
        top = 2595 * np.log10(1 + (fs / 2) / 700)
        hz = 700 * (10 ** (np.linspace(0, top, mel + 2) / 2595) - 1)
        edges = np.floor((win + 1) * hz / fs)
        W = np.zeros((mel, win // 2 + 1))
        for m in range(1, mel + 1):
            lo, c, hi = int(edges[m - 1]), int(edges[m]), int(edges[m + 1])
            for k in range(lo, c):
                W[m - 1, k] = (k - edges[m - 1]) / (edges[m] - edges[m - 1])
            for k in range(c, hi):
                W[m - 1, k] = (edges[m + 1] - k) / (edges[m + 1] - edges[m])
        S = W @ S
    eps = S[S > 0].min()
    S = np.where(S > eps, S, eps)
    S = 10 * np.log10(S / S.max())
    if clip_below is not None:
        S = np.maximum(S, clip_below)
    if clip_above is not None:
        S = np.minimum(S, clip_above)
    if chunk_len is not None:
        cw = int(fs * chunk_len) // step
        chunks = [S[:, i * cw:(i + 1) * cw] for i in range(chunk_count)]
    else:
        chunks = [S]
    out = []
    for c in chunks:
        c = c - c.mean()
        lo, hi = c.min(), c.max()
        out.append(2 * (c - lo) / (hi - lo) - 1 if abs(hi - lo) > 1e-4 else c - lo)
    return np.stack([c.T for c in out])



@pytest.mark.parametrize("frames, cw, count", [(10, 3, 2), (12, 4, 3), (9, 3, None), (50, 7, 7)])
def test_chunk_frames_matches_split(frames, cw, count):
    S = np.random.default_rng(frames).standard_normal((4, frames))
    out = chunk_frames(S, cw, count)
    parts = np.split(S, np.arange(cw, frames, cw), axis=1)
    complete = [p for p in parts if p.shape[1] == cw]
    ref = np.stack(complete[:count] if count else complete)
    assert np.array_equal(out, ref)


def test_chunk_frames_too_few():
    with pytest.raises(ValueError, match="too few chunks"):
        chunk_frames(np.zeros((2, 10)), 4, 3)
    with pytest.raises(ValueError, match="too few chunks"):
        chunk_frames(np.zeros((2, 3)), 4)
    with pytest.raises(ValueError, match="chunk_frames"):
        chunk_frames(np.zeros((2, 3)), 0)


# ----------------------------------------------------------------------------- settings

@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(features="mfcc"), ValueError, "features"),
    (dict(window_width=0.0), ValueError, "window_width"),
    (dict(window_overlap=0.1), ValueError, "window_overlap"),
    (dict(window_overlap=-0.1), ValueError, "window_overlap"),
    (dict(mel_bands=0), ValueError, "mel_bands"),
    (dict(mel_bands=12.5), TypeError, "mel_bands"),
    (dict(clip_below=-10, clip_above=-20), ValueError, "clip_below"),
    (dict(clip_below=float("nan")), ValueError, "clip_below"),
    (dict(pre_emphasis=1.5), ValueError, "pre_emphasis"),
    (dict(channels="middle"), ValueError, "channels"),
    (dict(fixed_length=-1.0), ValueError, "fixed_length"),
    (dict(fixed_length=0.01), ValueError, "fixed_length"),
    (dict(chunk_length=1.0), ValueError, "chunk_count"),
    (dict(chunk_count=2), ValueError, "chunk_length"),
    (dict(chunk_length=1.0, chunk_count=0), ValueError, "chunk_count"),
    (dict(chunk_length=1.0, chunk_count=3, fixed_length=2.0), ValueError, "too few chunks"),
    (dict(sr=0), ValueError, "sr"),
    (dict(mean_norm="yes"), TypeError, "mean_norm"),
    (dict(window_width="0.1"), TypeError, "window_width"),
    (dict(features="autocorrelogram", max_lag=0.01, fmin=50.0), ValueError, "not both"),
    (dict(features="autocorrelogram", acf_window="gauss"), ValueError, "acf_window"),
    (dict(features="autocorrelogram", acf_window=np.hanning(8)), TypeError, "acf_window"),
    (dict(features="autocorrelogram", acf_normalize="max"), ValueError, "acf_normalize"),
    (dict(features="autocorrelogram", acf_detrend="yes"), TypeError, "acf_detrend"),
    (dict(acf_window="hann"), ValueError, "acf_window only applies to features='autocorrelogram'"),
    (dict(acf_normalize=None, acf_detrend=True), ValueError,
     "acf_normalize, acf_detrend only apply"),
    (dict(max_lag=0.01), ValueError, "max_lag only applies"),
])
def test_feature_settings_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        FeatureSettings(**kwargs)


def test_feature_settings_attrs_round_trip():
    s = FeatureSettings(mel_bands=None, clip_above=-5.0, fixed_length=3.0, chunk_length=1.0,
                        chunk_count=2, channels="diff", sr=16000)
    assert FeatureSettings.from_attrs(s.to_attrs()) == s
    a = FeatureSettings(features="autocorrelogram", fmin=80.0, acf_window="hann",
                        acf_normalize=None, acf_detrend=True)
    attrs = a.to_attrs()
    assert (attrs["preprocess.acf_window"], attrs["preprocess.acf_normalize"],
            attrs["preprocess.acf_detrend"]) == ("hann", None, True)
    assert FeatureSettings.from_attrs(attrs) == a


# ----------------------------------------------------------------------------- features

CASES = [
    # fs, seconds, channels, settings kwargs
    (16000, 3.1, 1, dict(window_width=0.04, window_overlap=0.02, mel_bands=64, fixed_length=2.0,
                         center_fixed=True)),
    (22050, 2.0, 2, dict(window_width=0.04, window_overlap=0.02, mel_bands=40, chunk_length=0.5,
                         chunk_count=3)),
    (44100, 4.9, 2, dict(fixed_length=5.0, center_fixed=True, chunk_length=1.0, chunk_count=4)),
    (8000, 4.0, 1, dict(window_width=0.05, window_overlap=0.025, mel_bands=None,
                        clip_below=None, clip_above=-3.0, fixed_length=3.0)),
    (11025, 1.7, 1, dict(window_width=0.03, window_overlap=0.01, mel_bands=32,
                         clip_below=-40.0)),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_extract_features_matches_audeep_reference(tmp_path, case):
    fs, seconds, ch, kw = CASES[case]
    rng = np.random.default_rng(case)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    y = (0.3 * np.sin(2 * np.pi * rng.uniform(100, 3000) * t)[:, None] * rng.uniform(0.3, 1, ch)
         + 0.05 * rng.standard_normal((n, ch))).astype(np.float32)
    path = tmp_path / "clip.wav"
    sf.write(str(path), y, fs, subtype="FLOAT")
    modes = ("mean", "left", "right", "diff") if ch == 2 else ("mean",)
    for mode in modes:
        s = FeatureSettings(channels=mode, **kw)
        X = extract_features(path, s)
        R = audeep_reference(y, fs, s.window_width, s.window_overlap, s.mel_bands, s.clip_below,
                             s.clip_above, s.fixed_length, s.center_fixed, s.chunk_length,
                             s.chunk_count, mode)
        assert X.dtype == np.float32 and X.shape == R.shape
        np.testing.assert_allclose(X, R, atol=1e-4)
        if s.fixed_length is not None:
            assert X.shape[1:] == s.expected_shape(n, fs)
        # without normalisation the values are the clipped dB spectrogram (chunked)
        D = extract_features(path, s, mean_norm=False)
        assert D.max() <= (0.0 if s.clip_above is None else s.clip_above) + 1e-5
        if s.clip_below is not None:
            assert D.min() >= s.clip_below - 1e-5


def test_features_errors_name_the_file(tmp_path, write_audio):
    short = write_audio(tmp_path / "short.wav", duration=0.02, sr=8000)
    with pytest.raises(AudioError, match="short.wav.*window"):
        extract_features(short, FeatureSettings())
    clip = write_audio(tmp_path / "clip.wav", duration=1.0, sr=8000)
    with pytest.raises(AudioError, match="clip.wav.*too few chunks"):
        extract_features(clip, FeatureSettings(chunk_length=0.4, chunk_count=3))
    with pytest.raises(ValueError, match="too few chunks"):
        FeatureSettings(chunk_length=0.4, chunk_count=3).expected_shape(8000, 8000)


def _numpy_autocorrelogram(y, sr=None, frame_length=2048, hop_length=512, max_lag=None,
                           fmin=None, center=True, window=None, normalize="lag0", detrend=False,
                           n_threads=None):
    """A plain float64 numpy reference of rae_fast.autocorrelogram (uncentred frames)."""
    assert center is False and fmin is None
    max_lag = frame_length // 2 if max_lag is None else max_lag
    n_frames = 1 + (len(y) - frame_length) // hop_length
    w = (np.ones(frame_length) if window is None else
         signal.get_window(window, frame_length, fftbins=True))
    out = np.empty((max_lag + 1, n_frames), np.float32)
    for j in range(n_frames):
        f = y[j * hop_length: j * hop_length + frame_length].astype(np.float64)
        if detrend:
            f = f - f.mean()
        f = f * w
        ac = np.correlate(f, f, mode="full")[frame_length - 1:frame_length + max_lag]
        if normalize == "lag0":
            ac = ac / ac[0] if ac[0] > 0 else ac
        elif normalize == "unbiased":
            ac = ac / (frame_length - np.arange(max_lag + 1))
        out[:, j] = ac
    return out


def test_autocorrelogram_features_wiring(monkeypatch):
    y = np.random.default_rng(0).standard_normal(8000).astype(np.float32)
    monkeypatch.setattr(autocorr, "autocorrelogram", _numpy_autocorrelogram)
    s = FeatureSettings(features="autocorrelogram", window_width=0.05, window_overlap=0.025,
                        max_lag=0.01, chunk_length=0.25, chunk_count=3)
    X = compute_features(y, 8000, s)
    win, hop = s.frame_params(8000)
    full = _numpy_autocorrelogram(y, 8000, win, hop, int(0.01 * 8000), center=False)
    cw = s.chunk_windows(8000, hop)
    assert X.shape == (3, cw, 81) and s.feature_dims == ("time", "lag")
    assert X.shape[1:] == s.expected_shape(len(y), 8000)
    for c in range(3):
        assert np.array_equal(X[c], full[:, c * cw:(c + 1) * cw].T)


def test_autocorrelogram_features_with_the_real_function():
    y = np.random.default_rng(1).standard_normal(16000).astype(np.float32)
    s = FeatureSettings(features="autocorrelogram", window_width=0.064, window_overlap=0.032)
    X = compute_features(y, 16000, s)
    win, hop = s.frame_params(16000)
    ref = rae_fast.autocorrelogram(y, sr=16000, frame_length=win, hop_length=hop, center=False,
                                   max_lag=win // 2)
    np.testing.assert_array_equal(X[0], np.asarray(ref, np.float32).T)
    assert X.shape[1:] == s.expected_shape(len(y), 16000)
    ref_np = _numpy_autocorrelogram(y, 16000, win, hop, win // 2, center=False)
    np.testing.assert_allclose(X[0], ref_np.T, atol=1e-4)
    s2 = FeatureSettings(features="autocorrelogram", window_width=0.064, window_overlap=0.032,
                         fmin=100.0)
    assert compute_features(y, 16000, s2).shape[2] == 161  # lags 0..sr/fmin
    with pytest.raises(ValueError, match="largest lag"):
        FeatureSettings(features="autocorrelogram", window_width=0.01, window_overlap=0.005,
                        max_lag=0.02).expected_shape(16000, 16000)


@pytest.mark.parametrize("acf", [
    dict(acf_window="hann"),
    dict(acf_normalize="unbiased"),
    dict(acf_normalize=None),
    dict(acf_detrend=True),
    dict(acf_window="hamming", acf_normalize=None, acf_detrend=True),
])
def test_autocorrelogram_window_normalize_detrend(acf):
    # a tone plus an offset: detrending, windowing and each normalisation all change it
    rng = np.random.default_rng(2)
    t = np.arange(12000) / 16000
    y = (0.6 * np.sin(2 * np.pi * 310 * t) + 0.3 + 0.2 * rng.standard_normal(t.size))
    y = y.astype(np.float32)
    base = dict(features="autocorrelogram", window_width=0.032, window_overlap=0.016,
                max_lag=0.004)
    plain = compute_features(y, 16000, FeatureSettings(**base))
    s = FeatureSettings(**base, **acf)
    X = compute_features(y, 16000, s)
    assert X.shape == plain.shape == (1, 45, 65)
    assert not np.allclose(X, plain, atol=1e-3)          # the option is not ignored
    win, hop = s.frame_params(16000)
    ref = _numpy_autocorrelogram(y, 16000, win, hop, 64, center=False, window=acf.get("acf_window"),
                                 normalize=acf.get("acf_normalize", "lag0"),
                                 detrend=acf.get("acf_detrend", False))
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(X[0], ref.T, rtol=1e-4, atol=1e-5 * scale)


# ----------------------------------------------------------------------------- preprocess

@pytest.fixture
def collection(make_collection):
    return make_collection("class_folders", per_label=5, duration=1.2, sr=16000)


SETTINGS = FeatureSettings(window_width=0.04, window_overlap=0.02, mel_bands=32,
                           fixed_length=1.0, center_fixed=True)


def test_preprocess_results_do_not_depend_on_workers(tmp_path, collection):
    root, rows = collection
    a = preprocess(root, tmp_path / "w1.nc", SETTINGS, workers=1, progress=False)
    b = preprocess(root, tmp_path / "w3.nc", SETTINGS, workers=3, progress=False)
    assert a.n_instances == b.n_instances == 15 and a.feature_shape == (49, 32)
    da, db = load(tmp_path / "w1.nc"), load(tmp_path / "w3.nc")
    assert da.equals(db)
    assert da.filenames.tolist() == sorted(r["filename"] for r in rows)
    one = extract_features(root / da.filenames[7], SETTINGS)
    assert np.array_equal(da.features[7], one[0])


def test_preprocess_interrupted_then_resumed(tmp_path, collection, monkeypatch):
    root, _ = collection
    ref = preprocess(root, tmp_path / "ref.nc", SETTINGS, workers=1, progress=False)
    out = tmp_path / "out.nc"
    monkeypatch.setattr(DataSetWriter, "_FLUSH_BYTES", 1)
    real = pipeline.extract_features
    calls = [0]

    def flaky(path, settings, **kw):
        calls[0] += 1
        if calls[0] == 9:
            raise KeyboardInterrupt
        return real(path, settings, **kw)

    monkeypatch.setattr(pipeline, "extract_features", flaky)
    with pytest.raises(KeyboardInterrupt):
        preprocess(root, out, SETTINGS, workers=2, progress=False)
    assert not out.exists() and (tmp_path / "out.nc.partial").exists()
    monkeypatch.setattr(pipeline, "extract_features", real)
    res = preprocess(root, out, SETTINGS, workers=2, progress=False)
    assert 0 < res.resumed_files < 15 and res.resumed_files + res.processed_files == 15
    assert load(out).equals(load(tmp_path / "ref.nc"))
    assert ref.n_instances == 15
    # different settings: starts again instead of mixing
    monkeypatch.setattr(pipeline, "extract_features", flaky)
    calls[0] = 0
    with pytest.raises(KeyboardInterrupt):
        preprocess(root, out, SETTINGS, workers=1, progress=False)
    monkeypatch.setattr(pipeline, "extract_features", real)
    other = FeatureSettings(window_width=0.04, window_overlap=0.02, mel_bands=16,
                            fixed_length=1.0, center_fixed=True)
    res = preprocess(root, out, other, workers=1, progress=False)
    assert res.resumed_files == 0 and load(out).feature_shape == (49, 16)


def test_autocorrelogram_options_are_part_of_the_resume_fingerprint(tmp_path, collection,
                                                                      monkeypatch):
    root, _ = collection
    base = dict(features="autocorrelogram", window_width=0.032, window_overlap=0.016,
                max_lag=0.002, fixed_length=1.0)
    first = FeatureSettings(**base)
    out = tmp_path / "acf.nc"
    monkeypatch.setattr(DataSetWriter, "_FLUSH_BYTES", 1)
    real = pipeline.extract_features
    calls = [0]

    def flaky(path, settings, **kw):
        calls[0] += 1
        if calls[0] == 6:
            raise KeyboardInterrupt
        return real(path, settings, **kw)

    for other in (dict(acf_window="hann"), dict(acf_normalize="unbiased"),
                  dict(acf_detrend=True)):
        calls[0] = 0
        monkeypatch.setattr(pipeline, "extract_features", flaky)
        with pytest.raises(KeyboardInterrupt):
            preprocess(root, out, first, workers=1, progress=False)
        assert (tmp_path / "acf.nc.partial").exists()
        monkeypatch.setattr(pipeline, "extract_features", real)
        changed = FeatureSettings(**base, **other)
        res = preprocess(root, out, changed, workers=1, progress=False)
        assert res.resumed_files == 0 and res.processed_files == 15   # not mixed with `first`
        ds = load(out)
        key, value = next(iter(other.items()))
        assert ds.attrs[f"preprocess.{key}"] == value
        assert np.array_equal(ds.features[0], extract_features(root / ds.filenames[0],
                                                               changed)[0])
        assert not np.allclose(ds.features[0], extract_features(root / ds.filenames[0],
                                                                first)[0], atol=1e-3)


def test_preprocess_bad_files_listed_or_skipped(tmp_path, collection, write_audio):
    root, _ = collection
    (root / "bird" / "notes.wav").write_text("not audio")
    (root / "car" / "empty.flac").write_bytes(b"")
    with pytest.raises(ValueError) as err:
        preprocess(root, tmp_path / "x.nc", SETTINGS, progress=False)
    msg = str(err.value)
    assert "2 unusable" in msg and "bird/notes.wav" in msg and "car/empty.flac" in msg
    assert not (tmp_path / "x.nc").exists() and not (tmp_path / "x.nc.partial").exists()
    res = preprocess(root, tmp_path / "x.nc", SETTINGS, skip_bad=True, progress=False)
    assert res.n_instances == 15 and len(res.skipped) == 2
    ds = load(tmp_path / "x.nc")
    assert len(ds.attrs["skipped_files"]) == 2


def test_preprocess_needs_equal_shapes(tmp_path, make_collection):
    root, _ = make_collection("class_folders", per_label=2, duration=1.0)
    (root / "bird" / "long.wav").unlink(missing_ok=True)
    import soundfile as sf_
    sf_.write(str(root / "bird" / "long.wav"), np.zeros(24000, np.float32) + 0.1, 16000)
    s = FeatureSettings(window_width=0.04, window_overlap=0.02, mel_bands=16)
    with pytest.raises(ValueError, match="fixed_length"):
        preprocess(root, tmp_path / "y.nc", s, progress=False)
    s2 = FeatureSettings(window_width=0.04, window_overlap=0.02, mel_bands=16,
                         chunk_length=0.3, chunk_count=3)
    res = preprocess(root, tmp_path / "y.nc", s2, progress=False)
    ds = load(tmp_path / "y.nc")
    assert res.n_instances == 7 * 3 and ds.chunk_nr.tolist() == [0, 1, 2] * 7
    s3 = FeatureSettings(window_width=0.04, window_overlap=0.02, mel_bands=16,
                         chunk_length=0.3, chunk_count=4)
    with pytest.raises(ValueError, match="too few chunks"):
        preprocess(root, tmp_path / "z.nc", s3, progress=False)
