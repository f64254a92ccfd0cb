"""Tests of rae_fast.preprocessing: chunks, feature settings, features against an auDeep
reference, autocorrelogram features, and the streaming preprocess() pipeline."""
from __future__ import annotations

import os

import numpy as np
import pytest
import rae_fast
import soundfile as sf
from rae_fast import autocorr
from rae_fast.audio import AudioError
from rae_fast.dataset import DataSetWriter, load
from rae_fast.preprocessing import (
    DifferentLengthsError,
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
    with pytest.raises(DifferentLengthsError, match=r"fixed_length=\"auto\""):
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


# ------------------------------------------------- one rate, one length, settings per rate

SMALL = dict(window_width=0.04, window_overlap=0.02, mel_bands=16)


def _messy(root, write_audio, rates=(16000, 16000, 16000, 22050, 44100),
           durations=(1.0, 1.2, 0.9, 1.5, 0.7)):
    """class folders a/ b/ with one clip per (rate, duration), alternating labels."""
    for i, (sr, d) in enumerate(zip(rates, durations)):
        write_audio(root / "ab"[i % 2] / f"c{i}_{sr}.wav", duration=d, sr=sr, seed=i,
                    channels=1 + i % 2)
    return root


def test_mixed_sample_rates_are_refused_naming_rates_counts_examples(tmp_path, write_audio):
    root = _messy(tmp_path / "m", write_audio)
    with pytest.raises(pipeline.MixedSampleRatesError) as err:
        preprocess(root, tmp_path / "x.nc", FeatureSettings(fixed_length=1.0, **SMALL),
                   progress=False)
    e = err.value
    assert e.rates == [(16000, 3, "a/c0_16000.wav"), (44100, 1, "a/c4_44100.wav"),
                       (22050, 1, "b/c3_22050.wav")]
    assert e.suggested == 16000 and e.fixes() == {"sr": "auto"}
    msg = str(e)
    assert "16000 Hz (3 files, e.g. a/c0_16000.wav)" in msg and "22050 Hz (1 file," in msg
    assert "sr=16000" in msg and 'sr="auto"' in msg and "--sr" not in msg
    assert not (tmp_path / "x.nc").exists() and not (tmp_path / "x.nc.partial").exists()


def test_sr_auto_resamples_to_the_most_common_rate_and_stores_the_number(tmp_path, write_audio):
    root = _messy(tmp_path / "m", write_audio)
    seen = []
    res = preprocess(root, tmp_path / "auto.nc", FeatureSettings(fixed_length=1.0, sr="auto",
                                                                 **SMALL),
                     progress=False, on_resolved=lambda k, v: seen.append((k, v)))
    assert res.settings.sr == 16000 and seen[0][0] == "sr" and "16000 Hz, the most common" \
        in seen[0][1] and "22050 Hz (1)" in seen[0][1]
    explicit = preprocess(root, tmp_path / "num.nc", FeatureSettings(fixed_length=1.0, sr=16000,
                                                                     **SMALL),
                          progress=False)
    a, b = load(tmp_path / "auto.nc"), load(tmp_path / "num.nc")
    assert a.attrs["preprocess.sr"] == 16000 and "sr" in a.attrs["source.auto"]
    assert np.array_equal(a.features, b.features) and res.n_instances == explicit.n_instances
    # one rate: "auto" resamples nothing, the features are those without sr
    one = _messy(tmp_path / "one", write_audio, rates=(16000,) * 4, durations=(1.0,) * 4)
    r1 = preprocess(one, tmp_path / "1.nc", FeatureSettings(fixed_length=1.0, sr="auto", **SMALL),
                    progress=False)
    r2 = preprocess(one, tmp_path / "2.nc", FeatureSettings(fixed_length=1.0, **SMALL),
                    progress=False)
    assert "nothing is resampled" in r1.notes["sr"] and r2.notes == {}
    assert np.array_equal(load(tmp_path / "1.nc").features, load(tmp_path / "2.nc").features)


def test_fixed_length_auto_is_the_median_and_is_stored_as_a_number(tmp_path, write_audio,
                                                                   monkeypatch):
    root = _messy(tmp_path / "m", write_audio, rates=(16000,) * 5,
                  durations=(1.0, 1.2, 0.9, 1.5, 0.7))
    s = FeatureSettings(fixed_length="auto", center_fixed=True, **SMALL)
    res = preprocess(root, tmp_path / "auto.nc", s, progress=False)
    assert res.settings.fixed_length == pytest.approx(1.0)
    assert int(res.settings.fixed_length * 16000) == 16000
    note = res.notes["fixed_length"]
    assert "the median clip length (e.g. a/c0_16000.wav)" in note
    assert "2 longer clip(s) are cut centred (by up to 0.5 s)" in note
    assert "2 shorter one(s) are zero-padded centred" in note
    ds = load(tmp_path / "auto.nc")
    assert ds.attrs["preprocess.fixed_length"] == res.settings.fixed_length
    assert FeatureSettings.from_attrs(ds.attrs).fixed_length == res.settings.fixed_length
    ref = preprocess(root, tmp_path / "num.nc", FeatureSettings(fixed_length=1.0,
                                                                center_fixed=True, **SMALL),
                     progress=False)
    assert np.array_equal(ds.features, load(tmp_path / "num.nc").features)
    assert res.feature_shape == ref.feature_shape == (49, 16)
    # an interrupted "auto" run resumes: the resolved number is what the fingerprint sees
    monkeypatch.setattr(DataSetWriter, "_FLUSH_BYTES", 1)
    real, calls = pipeline.extract_features, [0]

    def flaky(path, settings, **kw):
        calls[0] += 1
        if calls[0] == 4:
            raise KeyboardInterrupt
        return real(path, settings, **kw)

    monkeypatch.setattr(pipeline, "extract_features", flaky)
    with pytest.raises(KeyboardInterrupt):
        preprocess(root, tmp_path / "r.nc", s, workers=1, progress=False)
    monkeypatch.setattr(pipeline, "extract_features", real)
    again = preprocess(root, tmp_path / "r.nc", s, workers=1, progress=False)
    assert again.resumed_files == 3 and load(tmp_path / "r.nc").equals(ds)


def test_auto_values_need_resolving_before_per_clip_work(tmp_path, write_audio):
    path = write_audio(tmp_path / "x.wav", duration=1.0, sr=16000)
    for kw in (dict(fixed_length="auto"), dict(sr="auto")):
        with pytest.raises(ValueError, match="must first be resolved"):
            extract_features(path, FeatureSettings(**kw))
    with pytest.raises(ValueError, match='fixed_length must be a length in seconds, "auto"'):
        FeatureSettings(fixed_length="longest")
    with pytest.raises(ValueError, match='sr must be a rate in Hz, "auto"'):
        FeatureSettings(sr="max")
    assert FeatureSettings(fixed_length="AUTO", sr=" Auto").is_resolved is False


def test_all_problems_of_a_collection_are_reported_at_once(tmp_path, write_audio):
    root = _messy(tmp_path / "m", write_audio)
    (root / "a" / "notes.wav").write_text("not audio")
    with pytest.raises(pipeline.UnusableFilesError) as err:
        preprocess(root, tmp_path / "x.nc", FeatureSettings(**SMALL), progress=False)
    e = err.value
    assert [type(x).__name__ for x in e.also] == ["MixedSampleRatesError",
                                                   "DifferentLengthsError"]
    assert e.fixes() == {"skip_bad": True, "sr": "auto", "fixed_length": "auto"}
    msg = str(e)
    assert "a/notes.wav: is not a readable audio file" in msg and "skip_bad=True" in msg
    assert "\nalso: the files have different sample rates" in msg
    assert '\nalso: the clips give features of different lengths' in msg
    assert 'fixed_length="auto"' in msg
    flags = e.message(lambda name, value=None: f"--{name}" + ("" if value is None else
                                                              f" {value}"))
    assert "--sr auto" in flags and "--fixed_length auto" in flags and "sr=" not in flags
    import pickle
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is type(e) and str(again) == msg and again.fixes() == e.fixes()
    res = preprocess(root, tmp_path / "x.nc", FeatureSettings(sr="auto", fixed_length="auto",
                                                              **SMALL),
                     skip_bad=True, progress=False)
    assert res.n_instances == 5 and res.skipped[0][0] == "a/notes.wav"


@pytest.mark.parametrize("kwargs, match", [
    (dict(fmin=9000.0), r"fmin \(9000.0 Hz\) must be at most the Nyquist frequency, sr / 2 = "
                        r"8000.0 Hz \(the files' rate: 16000 Hz\)"),
    (dict(fmin=9000.0, sr=16000), r"fmin \(9000.0 Hz\) .* sr / 2 = 8000.0 Hz"),
    (dict(max_lag=0.05), r"largest lag \(max_lag = 0.05 s: 800 samples at 16000 Hz\) must be "
                         r"shorter than the window \(window_width = 0.04 s: 640 samples\)"),
    (dict(fmin=20.0), r"the period of fmin = 20.0 Hz: 800 samples"),
])
def test_autocorrelogram_settings_the_api_refuses_are_refused_by_preprocess(tmp_path, collection,
                                                                           kwargs, match):
    """Refused as settings (naming the parameter), before any file is written - not as
    hundreds of 'unusable files' that skip_bad would silently drop."""
    root, _ = collection
    s = dict(features="autocorrelogram", window_width=0.04, window_overlap=0.02,
             fixed_length=1.0)
    with pytest.raises(ValueError, match=match) as err:
        preprocess(root, tmp_path / "acf.nc", FeatureSettings(**s, **kwargs), skip_bad=True,
                   progress=False)
    assert not isinstance(err.value, AudioError) and "unusable" not in str(err.value)
    assert not (tmp_path / "acf.nc").exists() and not (tmp_path / "acf.nc.partial").exists()
    y = np.zeros(16000, np.float32)
    api = dict(sr=16000, frame_length=640, hop_length=320, center=False)
    with pytest.raises(ValueError):                  # ... as rae_fast.autocorrelogram does
        rae_fast.autocorrelogram(y, **api, **{k: int(v * 16000) if k == "max_lag" else v
                                              for k, v in kwargs.items() if k != "sr"})
    if "sr" in kwargs:                               # with sr, already when constructed
        with pytest.raises(ValueError, match="fmin"):
            FeatureSettings(**s, **kwargs)


def test_fmin_at_nyquist_is_fine(tmp_path, collection):
    root, _ = collection
    res = preprocess(root, tmp_path / "acf.nc", FeatureSettings(
        features="autocorrelogram", window_width=0.04, window_overlap=0.02, fixed_length=1.0,
        fmin=8000.0), progress=False)
    assert res.feature_shape == (49, 3)


def test_corrupt_and_non_utf8_files_in_preprocess(tmp_path, collection, write_audio):
    root, _ = collection
    ogg = write_audio(root / "bird" / "damaged.ogg", duration=1.2, sr=16000, seed=9)
    data = bytearray(ogg.read_bytes())
    data[len(data) // 2] ^= 0xFF
    ogg.write_bytes(bytes(data))
    odd = os.fsencode(root) + b"/car/caf\xe9.wav"
    os.rename(write_audio(root / "car" / "tmp.wav", duration=1.2, sr=16000), odd)
    (root / "dog" / "text.wav").write_text("not audio")
    with pytest.raises(pipeline.UnusableFilesError) as err:
        preprocess(root, tmp_path / "x.nc", SETTINGS, progress=False)
    assert [name for name, _ in err.value.bad] == ["bird/damaged.ogg", "dog/text.wav"]
    assert "bird/damaged.ogg: is corrupt: Ogg page" in str(err.value)
    res = preprocess(root, tmp_path / "x.nc", SETTINGS, skip_bad=True, progress=False)
    assert res.n_instances == 16 and len(res.skipped) == 2
    ds = load(tmp_path / "x.nc")
    assert "car/caf\\xe9.wav" in ds.filenames.tolist()
    i = ds.filenames.tolist().index("car/caf\\xe9.wav")
    assert np.array_equal(ds.features[i], extract_features(os.fsdecode(odd), SETTINGS)[0])
    # a non-UTF-8 file that turns out bad is named in printable form
    os.rename(odd, os.fsencode(root) + b"/car/bad\xff.wav")
    with open(os.fsencode(root) + b"/car/bad\xff.wav", "r+b") as fh:
        fh.truncate(100)
    with pytest.raises(pipeline.UnusableFilesError, match=r"car/bad\\xff.wav: is truncated"):
        preprocess(root, tmp_path / "y.nc", SETTINGS, progress=False)


def test_damage_found_only_while_decoding_is_named_or_skipped(tmp_path, collection, write_audio):
    """Intact pages whose last granule promises more than there is: the header pass cannot
    see it, decoding does."""
    import struct
    root, _ = collection
    ogg = write_audio(root / "bird" / "short.ogg", duration=1.2, sr=16000, seed=9)
    data = bytearray(ogg.read_bytes())
    last = data.rfind(b"OggS")
    granule = struct.unpack_from("<q", data, last + 6)[0]
    struct.pack_into("<q", data, last + 6, granule + 3000)
    from rae_fast.audio import _BITREV, _ogg_page_crc
    data[last + 22:last + 26] = b"\0\0\0\0"
    crc = _ogg_page_crc(memoryview(bytes(data).translate(_BITREV)), last, len(data))
    struct.pack_into("<I", data, last + 22, crc)
    ogg.write_bytes(bytes(data))
    with pytest.raises(AudioError, match=r"short\.ogg: decoded 19200 samples, the header "
                                         r"announces 22200: the file is corrupt"):
        preprocess(root, tmp_path / "x.nc", SETTINGS, progress=False)
    res = preprocess(root, tmp_path / "x.nc", SETTINGS, skip_bad=True, progress=False)
    assert res.n_instances == 15 and res.skipped[0][0] == "bird/short.ogg"
