"""Tests of the data commands: rae-fast inspect / preprocess / modify (in-process and subprocess)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from rae_fast.cli import main
from rae_fast.dataset import load, save

SMALL = ["--window-width", "0.04", "--window-overlap", "0.02", "--mel-spectrum", "24",
         "--fixed-length", "1.0", "--center-fixed", "--quiet"]


def run_cli(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def small(make_collection):
    return make_collection("cross_validated", labels=("a", "b", "c"), per_label=4, duration=1.1)


def test_preprocess_inspect_modify_in_process(tmp_path, small, capsys):
    root, rows = small
    out = tmp_path / "s.nc"
    code, text, _ = run_cli(["preprocess", "--basedir", root, "--output", out, "--workers", 2]
                            + SMALL, capsys)
    assert code == 0 and "wrote 12 instances" in text and "parser cross_validated" in text
    ds = load(out)
    assert len(ds) == 12 and ds.feature_shape == (49, 24) and ds.n_folds == 4
    assert ds.attrs["preprocess.mel_bands"] == 24 and ds.attrs["source.parser"] == "cross_validated"

    code, text, _ = run_cli(["inspect", root, "--json"], capsys)
    info = json.loads(text)
    assert code == 0 and info["audio_files"] == 12 and info["labels"] == 3 and info["folds"] == 4
    assert info["sample_rates"] == [16000] and info["channels"] == [1]
    assert info["min_length_s"] == pytest.approx(1.1) and info["unreadable"] == []
    assert {f["fold"]: f["valid"] for f in info["fold_counts"]} == {1: 3, 2: 3, 3: 3, 4: 3}
    code, text, _ = run_cli(["inspect", root], capsys)
    assert code == 0 and "cross-validation folds" in text and "16000 Hz" in text

    code, text, _ = run_cli(["inspect", out, "--json", "--instance", "-1"], capsys)
    info = json.loads(text)
    assert code == 0 and info["instances"] == 12 and info["integrity_problems"] == []
    assert info["feature_shape"] == [49, 24] and info["min"] == -1.0 and info["max"] == 1.0
    assert info["instance"]["index"] == 11
    code, text, _ = run_cli(["inspect", out], capsys)
    assert code == 0 and "integrity" in text and "OK" in text

    mod = tmp_path / "m.nc"
    code, text, _ = run_cli(["modify", out, "--output", mod, "--add-cv-setup", 3, "--seed", 1],
                            capsys)
    assert code == 0 and "added 3" in text
    m = load(mod)
    assert m.n_folds == 3 and np.all(m.cv_folds.sum(axis=1) == 1)
    assert np.array_equal(m.features, ds.features) and m.label_map == ds.label_map
    code, _, _ = run_cli(["modify", mod, "--add-partitioning", "train", "test", "--ratios", 3, 1],
                         capsys)
    m = load(mod)
    assert code == 0 and sorted(set(m.partition.tolist())) == [0, 2] and m.n_folds == 3
    assert (m.partition == 0).sum() == 9
    code, _, _ = run_cli(["modify", mod, "--remove-cv-setup"], capsys)
    code2, _, _ = run_cli(["modify", mod, "--remove-partitioning"], capsys)
    m = load(mod)
    assert code == code2 == 0 and m.n_folds == 0 and np.all(m.partition == -1)
    assert not (tmp_path / "m.nc.partial").exists()


def test_preprocess_autocorrelograms(tmp_path, small, capsys):
    import rae_fast
    from rae_fast.audio import load_audio

    root, _ = small
    out = tmp_path / "ac.nc"
    args = ["preprocess", "--basedir", root, "--output", out, "--features", "autocorrelogram",
            "--window-width", "0.032", "--window-overlap", "0.016", "--max-lag", "0.005",
            "--fixed-length", "1.0", "--chunk-length", "0.25", "--chunk-count", "2", "--quiet"]
    code, text, _ = run_cli(args, capsys)
    assert code == 0, text
    ds = load(out)
    assert ds.feature_dims == ("time", "lag") and ds.feature_shape == (15, 81)
    assert len(ds) == 24 and ds.chunk_nr.tolist() == [0, 1] * 12
    y, sr = load_audio(root / ds.filenames[0], fixed_length=1.0)
    A = rae_fast.autocorrelogram(y, sr=sr, frame_length=512, hop_length=256, max_lag=80,
                                 center=False)
    assert np.array_equal(ds.features[1], A[:, 15:30].T)
    code, text, _ = run_cli(args[:-1] + ["--pretend", "3", "--pretend-output",
                                         tmp_path / "ac.png"], capsys)
    assert code == 0 and (tmp_path / "ac.png").exists() and "autocorrelogram" in text
    assert ds.attrs["preprocess.acf_normalize"] == "lag0"
    assert ds.attrs["preprocess.acf_window"] is None and ds.attrs["preprocess.acf_detrend"] is False


@pytest.mark.parametrize("option, kwargs", [
    (["--acf-window", "hann"], dict(window="hann")),
    (["--acf-normalize", "unbiased"], dict(normalize="unbiased")),
    (["--acf-normalize", "none"], dict(normalize=None)),
    (["--acf-detrend"], dict(detrend=True)),
])
def test_preprocess_autocorrelogram_options(tmp_path, small, capsys, option, kwargs):
    import rae_fast
    from rae_fast.audio import load_audio

    root, _ = small
    args = ["preprocess", "--basedir", root, "--features", "autocorrelogram", "--window-width",
            "0.032", "--window-overlap", "0.016", "--max-lag", "0.005", "--fixed-length", "1.0",
            "--quiet"]
    code, _, _ = run_cli(args + ["--output", tmp_path / "plain.nc"], capsys)
    assert code == 0
    code, text, _ = run_cli(args + ["--output", tmp_path / "opt.nc"] + option, capsys)
    assert code == 0, text
    plain, ds = load(tmp_path / "plain.nc"), load(tmp_path / "opt.nc")
    assert ds.feature_shape == plain.feature_shape == (61, 81)
    assert not np.allclose(ds.features, plain.features, atol=1e-3)   # the option is used
    y, sr = load_audio(root / ds.filenames[4], fixed_length=1.0)
    ref = rae_fast.autocorrelogram(y, sr=sr, frame_length=512, hop_length=256, max_lag=80,
                                   center=False, **kwargs)
    assert np.array_equal(ds.features[4], ref.T)
    key = {"window": "acf_window", "normalize": "acf_normalize", "detrend": "acf_detrend"}
    (name, value), = kwargs.items()
    assert ds.attrs[f"preprocess.{key[name]}"] == value


@pytest.mark.parametrize("args, needle", [
    (["--features", "autocorrelogram", "--acf-window", "gauss"], "unknown window 'gauss'"),
    (["--acf-window", "hann"], "--acf-window only applies to --features 'autocorrelogram'"),
    (["--features", "autocorrelogram", "--max-lag", "0.005", "--fmin", "100"], "not both"),
])
def test_preprocess_autocorrelogram_option_errors(tmp_path, small, capsys, args, needle):
    root, _ = small
    code, _, err = run_cli(["preprocess", "--basedir", root, "--output", tmp_path / "e.nc",
                            "--quiet"] + args, capsys)
    assert code == 2 and needle in err and not (tmp_path / "e.nc").exists()
    with pytest.raises(SystemExit):
        main(["preprocess", "--basedir", str(root), "--acf-normalize", "max"])
    assert "--acf-normalize" in capsys.readouterr().err


def test_pretend_without_matplotlib_gives_the_install_hint(tmp_path, small, capsys,
                                                           monkeypatch):
    import sys

    root, _ = small
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)     # as if not installed
    code, text, err = run_cli(["preprocess", "--basedir", root, "--output", tmp_path / "x.nc",
                               "--pretend", 0] + SMALL, capsys)
    assert code == 2 and "pip install 'rae_fast[plot]'" in err
    assert text == "" and not list(tmp_path.glob("*.png"))           # failed before any work


def test_inspect_reports_integrity_problems(tmp_path, make_dataset, capsys):
    ds = make_dataset(n=4, feature_shape=(3, 2))
    ds.chunk_nr[:] = [0, 0, 5, 0]
    ds.filenames[:] = ["a", "a", "b", "c"]
    save(ds, tmp_path / "bad.nc")
    code, text, _ = run_cli(["inspect", tmp_path / "bad.nc"], capsys)
    assert code == 1 and "integrity problems" in text and "chunk numbers" in text


def test_pretend_writes_png(tmp_path, small, capsys, monkeypatch):
    from matplotlib.figure import Figure

    from rae_fast.audio import load_audio
    from rae_fast.preprocessing import FeatureSettings, compute_features
    from rae_fast.layouts import parse_dataset

    saved = []
    real_savefig = Figure.savefig

    def capture(fig, *a, **kw):
        saved.append(fig)
        return real_savefig(fig, *a, **kw)

    monkeypatch.setattr(Figure, "savefig", capture)
    root, _ = small
    png = tmp_path / "p.png"
    code, text, _ = run_cli(["preprocess", "--basedir", root, "--output", tmp_path / "x.nc",
                             "--pretend", 2, "--pretend-output", png] + SMALL, capsys)
    assert code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "number of chunks" in text and not (tmp_path / "x.nc").exists()
    # the picture: the spectrogram (dB, with a colour bar) and the amplitude histogram
    assert len(saved) == 1
    axes = [ax for ax in saved[0].axes if ax.get_label() != "<colorbar>"]
    assert len(axes) == 2 and len(saved[0].axes) == 3
    spec, hist = axes
    assert spec.get_title().startswith("Spectrogram (dB)") and spec.get_ylabel() == "Mel band"
    assert hist.get_title() == "Amplitude histogram"
    assert hist.get_xlabel() == "Amplitude (dB)" and hist.get_ylabel() == "Probability density"
    inst = parse_dataset(root).instances[2]
    y, sr = load_audio(inst.path, fixed_length=1.0, center_fixed=True)
    s = FeatureSettings(window_width=0.04, window_overlap=0.02, mel_bands=24, fixed_length=1.0,
                        center_fixed=True)
    db = compute_features(y, sr, s, mean_norm=False)[0].T              # (bands, frames), dB
    image = np.asarray(spec.images[0].get_array())
    np.testing.assert_array_equal(image, db)
    heights = np.asarray(hist.patches[0].get_xy())[1:201:2, 1]       # stepfilled outline
    expected, _ = np.histogram(db.ravel(), bins=100, range=(-59.99, 0.0), density=True)
    np.testing.assert_allclose(heights, expected, rtol=1e-6)
    code, _, _ = run_cli(["preprocess", "--basedir", root, "--output", tmp_path / "x.nc",
                          "--pretend", 0, "--chunk-length", 0.3, "--chunk-count", 3] + SMALL,
                         capsys)
    assert code == 0 and (tmp_path / "x.pretend-0.png").exists()
    code, _, err = run_cli(["preprocess", "--basedir", root, "--pretend", 99] + SMALL, capsys)
    assert code == 2 and "out of range" in err


@pytest.mark.parametrize("args, needle", [
    (["preprocess", "--basedir", "{missing}"], "does not exist"),
    (["preprocess", "--basedir", "{root}", "--chunk-length", "1"], "--chunk-count"),
    (["preprocess", "--basedir", "{root}", "--window-overlap", "0.5"], "--window-overlap"),
    (["preprocess", "--basedir", "{root}", "--parser", "esc"], "cannot read"),
    (["preprocess", "--basedir", "{root}", "--parser", "nope"], "unknown parser"),
    (["preprocess", "--basedir", "{root}", "--parser-option", "n_folds=3"], "no option"),
    (["inspect", "{text}"], "text.nc"),
    (["inspect", "{missing}"], "does not exist"),
    (["modify", "{text}", "--remove-cv-setup"], "text.nc"),
    (["modify", "{missing}", "--ratios", "1", "--remove-cv-setup"], "--ratios"),
])
def test_cli_errors_are_one_line(tmp_path, small, capsys, args, needle):
    root, _ = small
    (tmp_path / "text.nc").write_text("plain text, not netCDF")
    args = [a.format(root=root, missing=tmp_path / "missing", text=tmp_path / "text.nc")
            for a in args]
    code, _, err = run_cli(args + ["--quiet"] if args[0] == "preprocess" else args, capsys)
    assert code == 2 and needle in err and err.startswith(f"rae-fast {args[0]}: error:")


def test_bad_audio_files_are_listed_by_name(tmp_path, small, capsys):
    root, _ = small
    bad = root / "fold_1" / "a" / "broken.wav"
    bad.write_text("RIFF? no, just text")
    code, _, err = run_cli(["preprocess", "--basedir", root, "--output", tmp_path / "o.nc"]
                           + SMALL, capsys)
    assert code == 2 and "fold_1/a/broken.wav" in err and not (tmp_path / "o.nc").exists()
    code, text, _ = run_cli(["preprocess", "--basedir", root, "--output", tmp_path / "o.nc",
                             "--skip-bad"] + SMALL, capsys)
    assert code == 0 and "skipped 1" in text and "broken.wav" in text
    assert len(load(tmp_path / "o.nc")) == 12
    code, text, _ = run_cli(["inspect", root], capsys)
    assert code == 1 and "broken.wav" in text


HOOK = textwrap.dedent("""
    import os, signal, sys
    import rae_fast.preprocessing.pipeline as audio
    from rae_fast.dataset import DataSetWriter
    DataSetWriter._FLUSH_BYTES = 1          # make every instance durable at once
    real, calls = audio.extract_features, [0]
    def hooked(*a, **k):
        calls[0] += 1
        if calls[0] == int(os.environ["STOP_AT"]):
            if os.environ["HOW"] == "sigint":
                os.kill(os.getpid(), signal.SIGINT)
            else:
                os._exit(9)                 # a crash: no cleanup at all
        return real(*a, **k)
    audio.extract_features = hooked
    from rae_fast.cli import main
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.parametrize("how", ["sigint", "crash"])
def test_interrupted_preprocess_leaves_no_output_and_resumes(tmp_path, small, how):
    root, _ = small
    hook = tmp_path / "hook.py"
    hook.write_text(HOOK)
    ref, out = tmp_path / "ref.nc", tmp_path / "out.nc"
    args = ["--basedir", str(root), "--workers", "1"] + SMALL
    clean = subprocess.run([sys.executable, "-m", "rae_fast", "preprocess", "--output", str(ref)]
                           + args, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    env = dict(os.environ, STOP_AT="6", HOW=how)
    cut = subprocess.run([sys.executable, str(hook), "preprocess", "--output", str(out)] + args,
                         capture_output=True, text=True, env=env)
    assert cut.returncode == (130 if how == "sigint" else 9), cut.stderr
    assert not out.exists()
    if how == "sigint":
        assert "interrupted" in cut.stderr and "resume" in cut.stderr
        assert (tmp_path / "out.nc.partial").exists()
    again = subprocess.run([sys.executable, "-m", "rae_fast", "preprocess", "--output", str(out)]
                           + args, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    if how == "sigint":
        assert "resumed after 5 files" in again.stdout
    assert load(out).equals(load(ref)) and not (tmp_path / "out.nc.partial").exists()


def test_esc10_with_audeep_settings(tmp_path, esc10_path, capsys):
    out = tmp_path / "esc10.nc"
    code, text, _ = run_cli([
        "preprocess", "--basedir", esc10_path, "--output", out, "--window-width", 0.08,
        "--window-overlap", 0.04, "--mel-spectrum", 128, "--fixed-length", 5,
        "--center-fixed", "--clip-below", -60, "--workers", 2, "--quiet"], capsys)
    assert code == 0, text
    ds = load(out, lazy=True)
    assert len(ds) == 400 and len(ds.label_map) == 10 and ds.n_folds == 5
    assert ds.feature_shape == (124, 128) and ds.feature_dims == ("time", "freq")
    assert (ds.cv_folds == 1).sum(axis=0).tolist() == [80] * 5
    assert np.all((ds.cv_folds == 1).sum(axis=1) == 1)
    assert sorted(np.bincount(ds.label_numeric).tolist()) == [40] * 10
    assert ds.label_map["Dog bark"] == 0 and ds.label_map["Fire crackling"] == 9
    x = ds.features[[0, 399]]
    assert x.min() == -1.0 and x.max() == 1.0
    ds.close()


# ------------------------------------------------ messy collections: rates, lengths, names

TINY = ["--window-width", "0.04", "--window-overlap", "0.02", "--mel-spectrum", "16", "--quiet"]


@pytest.fixture
def messy(tmp_path, write_audio):
    """Class folders with 16 / 22.05 / 44.1 kHz, mono and stereo WAV/FLAC/OGG clips of
    different lengths, a damaged Ogg, a text file named .wav and a Latin-1 file name."""
    root = tmp_path / "messy"
    rates = (16000, 16000, 22050, 44100, 16000, 22050, 16000, 44100)
    for i, sr in enumerate(rates):
        write_audio(root / ("ab"[i % 2]) / f"c{i}{('.wav', '.flac', '.ogg')[i % 3]}",
                    duration=0.6 + 0.1 * i, sr=sr, channels=1 + i % 2, seed=i)
    ogg = write_audio(root / "a" / "damaged.ogg", duration=1.0, sr=16000, seed=20)
    data = bytearray(ogg.read_bytes())
    data[len(data) // 2] ^= 0xFF
    ogg.write_bytes(bytes(data))
    (root / "b" / "readme.wav").write_text("not audio\n")
    plain = write_audio(root / "b" / "tmp.wav", duration=0.8, sr=16000, seed=30)
    os.rename(plain, os.fsencode(root) + b"/b/caf\xe9.wav")
    return root


def test_preprocess_messy_folder_lists_every_problem_with_flags_and_a_working_command(
        tmp_path, messy, capsys):
    import shlex

    out = tmp_path / "m.nc"
    code, text, err = run_cli(["preprocess", "--basedir", messy, "--output", out] + TINY, capsys)
    assert code == 2 and "Traceback" not in err and not out.exists()
    assert "2 unusable audio file(s)" in err and "with --skip-bad they are left out" in err
    assert "a/damaged.ogg: is corrupt: Ogg page" in err
    assert "b/readme.wav: is not a readable audio file" in err
    assert "16000 Hz (5 files, e.g. a/c0.wav)" in err and "44100 Hz (2 files" in err
    assert "--sr 16000 (the most common rate) or --sr auto" in err
    assert "--fixed-length auto (the median clip length" in err
    assert "--fixed-length SECONDS" in err and "--chunk-length and --chunk-count" in err
    assert "fixed_length" not in err and "sr=" not in err and "skip_bad" not in err
    command = err.split("this command deals with all of it:\n")[1].strip()
    argv = shlex.split(command)
    assert argv[:2] == ["rae-fast", "preprocess"]
    assert {"--skip-bad", "--sr", "--fixed-length"} <= set(argv) and "auto" in argv
    code, text, err = run_cli(argv[1:], capsys)
    assert code == 0, err
    assert "--sr auto: 16000 Hz, the most common rate (5 of 9 files)" in text
    assert "--fixed-length auto: " in text and "the median clip length" in text
    assert "skipped 2 unusable file(s)" in text and "wrote 9 instances" in text
    ds = load(out)
    assert ds.attrs["preprocess.sr"] == 16000 and isinstance(
        ds.attrs["preprocess.fixed_length"], float)
    assert "b/caf\\xe9.wav" in ds.filenames.tolist() and len(ds.attrs["skipped_files"]) == 2


def test_inspect_messy_folder_shows_rates_and_what_to_do(messy, capsys):
    code, text, _ = run_cli(["inspect", messy], capsys)
    assert code == 1     # unreadable files
    assert "16000 Hz (5 files), 22050 Hz (2 files), 44100 Hz (2 files)" in text
    assert "a/damaged.ogg" in text and "checksum" in text
    assert "note: the files have 3 sample rates: preprocess them with --sr 16000" in text
    assert "--fixed-length auto (the median" in text and "median length" in text
    code, text, _ = run_cli(["inspect", messy, "--json"], capsys)
    info = json.loads(text)
    assert info["sample_rate_counts"] == {"16000": 5, "22050": 2, "44100": 2}
    assert info["median_length_s"] == pytest.approx(0.9, abs=0.01)


@pytest.mark.parametrize("flag, value, needle", [
    ("--sr", "fast", "expected a rate in Hz or 'auto'"), ("--sr", "0", "> 0"),
    ("--fixed-length", "long", "expected a length in seconds or 'auto'"),
])
def test_auto_flags_are_checked_by_argparse(tmp_path, small, capsys, flag, value, needle):
    root, _ = small
    with pytest.raises(SystemExit) as exc:
        main(["preprocess", "--basedir", str(root), flag, value])
    assert exc.value.code == 2 and needle in capsys.readouterr().err


def test_fmin_above_nyquist_is_refused_by_preprocess(tmp_path, small, capsys):
    root, _ = small
    args = ["preprocess", "--basedir", root, "--output", tmp_path / "a.nc", "--features",
            "autocorrelogram", "--fixed-length", "1.0", "--quiet", "--skip-bad"]
    code, _, err = run_cli(args + ["--fmin", 30000], capsys)
    assert code == 2 and "fmin (30000.0 Hz) must be at most the Nyquist frequency, sr / 2 = " \
        "8000.0 Hz (the files' rate: 16000 Hz)" in err
    code, _, err = run_cli(args + ["--fmin", 30000, "--sr", 44100], capsys)
    assert code == 2 and "sr / 2 = 22050.0 Hz" in err
    assert not (tmp_path / "a.nc").exists() and not (tmp_path / "a.nc.partial").exists()


def test_pretend_with_auto_settings(tmp_path, messy, capsys):
    code, text, err = run_cli(["preprocess", "--basedir", messy, "--output", tmp_path / "p.nc",
                               "--pretend", 0, "--pretend-output", tmp_path / "p.png",
                               "--sr", "auto", "--fixed-length", "auto"] + TINY, capsys)
    assert code == 0, err
    assert "--sr auto: 16000 Hz" in text and "--fixed-length auto:" in text
    assert (tmp_path / "p.png").is_file()


def test_non_utf8_names_with_a_strict_terminal(tmp_path, messy):
    """stdout that refuses lone surrogates (a UTF-8 locale): nothing crashes, names show as
    \\xNN; the escaped name goes through generate and export unchanged."""
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict")
    odd = os.fsencode(tmp_path) + b"/d\xe9j\xe0"
    os.rename(os.fsencode(messy), odd)
    cmd = [sys.executable, "-m", "rae_fast"]
    p = subprocess.run(cmd + ["inspect", odd], capture_output=True, env=env)
    assert p.returncode == 1 and b"data set in " in p.stdout and b"d\\xe9j\\xe0" in p.stdout
    out = tmp_path / "o.nc"
    p = subprocess.run(cmd + ["preprocess", "--basedir", odd, "--output", out, "--sr", "auto",
                              "--fixed-length", "auto", "--skip-bad", *TINY],
                       capture_output=True, env=env)
    assert p.returncode == 0, p.stderr
    p = subprocess.run(cmd + ["inspect", out], capture_output=True, env=env)
    assert p.returncode == 0 and b"d\\xe9j\\xe0" in p.stdout    # source.basedir


def test_escaped_names_round_trip_through_generate_and_export(tmp_path, messy, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    specs = tmp_path / "s.nc"
    assert run_cli(["preprocess", "--basedir", messy, "--output", specs, "--sr", "auto",
                    "--fixed-length", "auto", "--skip-bad"] + TINY, capsys)[0] == 0
    run = tmp_path / "run"
    assert run_cli(["train", "--input", specs, "--run-dir", run, "--num-epochs", 1,
                    "--num-layers", 1, "--num-units", 4, "--quiet"], capsys)[0] == 0
    assert run_cli(["export-onnx", run, "--output", tmp_path / "e.onnx", "--no-autoencoder"],
                   capsys)[0] == 0
    reps = tmp_path / "r.nc"
    assert run_cli(["generate", "--model", tmp_path / "e.onnx", "--input", specs, "--output",
                    reps, "--quiet"], capsys)[0] == 0
    assert "b/caf\\xe9.wav" in load(reps).filenames.tolist()
    code, text, _ = run_cli(["inspect", reps, "--json", "--instance", 0], capsys)
    assert code == 0
    assert run_cli(["export", "--input", reps, "--format", "csv", "--output", tmp_path / "csv"],
                   capsys)[0] == 0
    rows = (tmp_path / "csv" / "r.csv").read_text(encoding="utf-8")
    assert "b/caf\\xe9.wav," in rows


def test_esc10_fixed_length_auto(tmp_path, esc10_path, capsys):
    out = tmp_path / "esc10.nc"
    code, text, err = run_cli([
        "preprocess", "--basedir", esc10_path, "--output", out, "--fixed-length", "auto",
        "--center-fixed", "--workers", 2, "--quiet"], capsys)
    assert code == 0, err
    assert "--fixed-length auto: 5.001 s, the median clip length" in text
    ds = load(out, lazy=True)
    assert ds.feature_shape == (124, 128) and len(ds) == 400
    assert int(ds.attrs["preprocess.fixed_length"] * 44100) == 220544
    ds.close()
    code, _, err = run_cli(["preprocess", "--basedir", esc10_path, "--output",
                            tmp_path / "x.nc", "--quiet"], capsys)
    assert code == 2 and "--fixed-length auto (the median clip length, 5.001 s)" in err
    assert "rae-fast preprocess --basedir" in err and "--fixed-length auto" in err
