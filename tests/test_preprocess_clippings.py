"""One decode, many clippings (rae_fast.preprocessing.preprocess_clippings, ``rae-fast
preprocess --clip-below A B ... --output 'x_{clip}.nc'``) and the warning about frames at the
dB floor."""
import dataclasses
import hashlib
import warnings

import numpy as np
import pytest

import rae_fast
from rae_fast.cli import main
from rae_fast.dataset import load
from rae_fast.preprocessing import (FeatureSettings, FloorWarning, clip_name,
                                    compute_features, compute_features_clippings, preprocess,
                                    preprocess_clippings)
from rae_fast.preprocessing import pipeline

CLIPS = [-30.0, -45.0, None]
SETTINGS = FeatureSettings(window_width=0.04, window_overlap=0.02, mel_bands=24,
                           fixed_length=1.0)


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_compute_features_clippings_equal_single_clippings():
    y = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    y[4000:9000] *= 1e-4
    for settings in (SETTINGS, dataclasses.replace(SETTINGS, chunk_length=0.3, chunk_count=3)):
        outs = compute_features_clippings(y, 16000, settings, CLIPS)
        for c, out in zip(CLIPS, outs):
            ref = compute_features(y, 16000, dataclasses.replace(settings, clip_below=c))
            assert np.array_equal(out, ref)
    outs = rae_fast.dsp.spectrogram_clippings(y, 16000, [-20, -80])
    assert not np.array_equal(outs[0], outs[1])
    with pytest.raises(ValueError, match="spectrograms"):
        compute_features_clippings(y, 16000, FeatureSettings(features="autocorrelogram"), [-30])
    with pytest.raises(ValueError, match="clip_below"):
        rae_fast.dsp.spectrogram_clippings(y, 16000, [-10], clip_above=-20)


def test_files_are_identical_to_separate_runs(tmp_path, make_collection):
    root, _ = make_collection("class_folders", per_label=3, duration=0.8)
    res = preprocess_clippings(root, str(tmp_path / "multi_{clip}.nc"), CLIPS, SETTINGS,
                               workers=2, progress=False)
    assert [r.path.name for r in res] == ["multi_-30.nc", "multi_-45.nc", "multi_none.nc"]
    for c, r in zip(CLIPS, res):
        single = preprocess(root, tmp_path / f"single_{clip_name(c)}.nc",
                            dataclasses.replace(SETTINGS, clip_below=c), workers=1,
                            progress=False)
        assert r.n_instances == single.n_instances == 9
        assert sha(r.path) == sha(single.path)             # byte for byte
        assert load(r.path).attrs["preprocess.clip_below"] == load(single.path).attrs["preprocess.clip_below"]
        assert r.floor_fraction == pytest.approx(single.floor_fraction)


def test_interrupted_run_resumes_each_file(tmp_path, make_collection, monkeypatch):
    root, _ = make_collection("class_folders", per_label=3, duration=0.8)
    calls = {"n": 0}
    real = pipeline.extract_features_clippings

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(pipeline, "extract_features_clippings", flaky)
    with pytest.raises(KeyboardInterrupt):
        preprocess_clippings(root, str(tmp_path / "m_{clip}.nc"), CLIPS, SETTINGS, workers=1,
                             progress=False)
    assert sorted(p.name for p in tmp_path.glob("m_*")) == [
        "m_-30.nc.partial", "m_-45.nc.partial", "m_none.nc.partial"]
    monkeypatch.setattr(pipeline, "extract_features_clippings", real)
    res = preprocess_clippings(root, str(tmp_path / "m_{clip}.nc"), CLIPS, SETTINGS, workers=1,
                               progress=False)
    assert [r.resumed_files for r in res] == [4, 4, 4]
    for c, r in zip(CLIPS, res):
        single = preprocess(root, tmp_path / f"s_{clip_name(c)}.nc",
                            dataclasses.replace(SETTINGS, clip_below=c), progress=False)
        a, b = load(r.path), load(single.path)     # same content (HDF5 bytes of an appended
        assert np.array_equal(a.features, b.features)        # file differ in layout)
        assert list(a.filenames) == list(b.filenames) and a.attrs == b.attrs
        assert np.array_equal(a.cv_folds, b.cv_folds) and a.label_map == b.label_map


def test_errors(tmp_path, make_collection):
    root, _ = make_collection("class_folders", per_label=1, duration=0.8)
    with pytest.raises(ValueError, match=r"\{clip\}"):
        preprocess_clippings(root, str(tmp_path / "x.nc"), [-30, -60], SETTINGS)
    with pytest.raises(ValueError, match="repeated"):
        preprocess_clippings(root, str(tmp_path / "x_{clip}.nc"), [-30, -30], SETTINGS)
    with pytest.raises(ValueError, match="spectrograms"):
        preprocess_clippings(root, str(tmp_path / "x_{clip}.nc"), [-30, -60],
                             FeatureSettings(features="autocorrelogram"))
    # one value without {clip} is just a file
    (r,) = preprocess_clippings(root, str(tmp_path / "one.nc"), [-50], SETTINGS,
                                progress=False)
    assert r.path.name == "one.nc" and load(r.path).attrs["preprocess.clip_below"] == -50


def test_floor_warning_for_silence_and_padding(tmp_path, make_collection):
    root, _ = make_collection("class_folders", per_label=2, duration=0.5)
    padded = dataclasses.replace(SETTINGS, fixed_length=2.0)     # 75 % zero padding
    with pytest.warns(FloorWarning, match=r"% of the frames lie at the dB floor.*mask_silence"):
        res = preprocess(root, tmp_path / "padded.nc", padded, progress=False)
    assert res.floor_fraction > 0.6
    with warnings.catch_warnings():
        warnings.simplefilter("error", FloorWarning)
        res = preprocess(root, tmp_path / "full.nc", dataclasses.replace(SETTINGS,
                                                                          fixed_length=0.5),
                         progress=False)
    assert res.floor_fraction < 1 / 3


def test_cli(tmp_path, make_collection, capsys):
    root, _ = make_collection("class_folders", per_label=2, duration=0.5)
    args = ["preprocess", "--basedir", str(root), "--window-width", "0.04",
            "--window-overlap", "0.02", "--mel-spectrum", "24", "--quiet"]
    assert main([*args, "--fixed-length", "1", "--clip-below", "-30", "-60", "--output",
                 str(tmp_path / "c_{clip}.nc")]) == 0
    out = capsys.readouterr()
    assert "c_-30.nc" in out.out and "c_-60.nc" in out.out
    assert "warning" in out.err and "--mask-silence" in out.err and "--fixed-length" in out.err
    assert load(tmp_path / "c_-60.nc").attrs["preprocess.clip_below"] == -60
    assert main([*args, "--clip-below", "-30", "-60", "--output",
                 str(tmp_path / "c.nc")]) == 2
    assert "{clip}" in capsys.readouterr().err
    # one decode for many clippings runs locally: with --ray it is refused, saying what to do
    assert main([*args, "--clip-below", "-30", "-60", "--output", str(tmp_path / "r_{clip}.nc"),
                 "--ray", "auto"]) == 2
    err = capsys.readouterr().err
    assert "--clip-below" in err and "--ray" in err and "once per value" in err
    assert not list(tmp_path.glob("r_*"))
