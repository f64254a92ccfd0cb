"""``rae-fast autocorrelogram``: outputs equal to the library's, folders walked with their layout
kept (and loadable as an OBJ data set), unusable files named (fail by default, skipped with
--skip-bad and exit status 1), resume / --overwrite, settings checks, interruption."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import rae_fast
from rae_fast import obj
from rae_fast.audio import load_audio
from rae_fast.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAST = ["--frame-length", "512", "--hop-length", "256", "--max-lag", "64"]


@pytest.fixture
def clips(tmp_path, write_audio):
    """Three short clips of different rates / channels / formats."""
    d = tmp_path / "in"
    return [write_audio(d / "a.wav", duration=0.5, sr=16000, seed=1),
            write_audio(d / "b.flac", duration=0.4, sr=8000, channels=2, seed=2),
            write_audio(d / "c.ogg", duration=0.6, sr=22050, seed=3)]


def outputs(out: Path):
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


def run(args, capsys):
    rc = main(["autocorrelogram"] + [str(a) for a in args])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_outputs_equal_the_library(tmp_path, clips, capsys):
    out = tmp_path / "out"
    rc, stdout, err = run(clips + ["--out", out, "--format", "npy", "obj", "--format", "png",
                                   "--window",
                                   "hann", "--detrend", "--normals"] + FAST, capsys)
    assert rc == 0, err
    assert "wrote the autocorrelograms of 3 file(s)" in stdout
    for clip in clips:
        y, sr = load_audio(clip)
        ref = rae_fast.autocorrelogram(y, sr=sr, frame_length=512, hop_length=256, max_lag=64,
                                       window="hann", detrend=True)
        t, d = rae_fast.autocorrelogram_axes(ref.shape[1], ref.shape[0], sr=sr, hop_length=256,
                                             frame_length=512)
        A = np.load(out / f"{clip.stem}.npy")
        assert A.dtype == np.float32 and np.array_equal(A, ref)
        with np.load(out / f"{clip.stem}.axes.npz") as ax:
            assert np.array_equal(ax["times_s"], t) and np.array_equal(ax["lags_ms"], d)
            assert ax["sr"] == sr and ax["frame_length"] == 512 and ax["hop_length"] == 256
            assert bool(ax["center"])
        B, t2, d2 = obj.read_autocorrelogram(out / f"{clip.stem}.obj")
        assert np.array_equal(B, ref)
        np.testing.assert_allclose(t2, t, rtol=1e-8)
        assert len(obj.read(out / f"{clip.stem}.obj").normals) == ref.size
        assert (out / f"{clip.stem}.png").read_bytes()[:8] == PNG_MAGIC
    settings = json.loads((out / "autocorrelogram_settings.json").read_text())
    assert settings["frame_length"] == 512 and settings["window"] == "hann"


def test_resampling_and_options(tmp_path, clips, capsys):
    out = tmp_path / "out"
    rc, _, err = run([clips[1], "--out", out, "--sr", "16000", "--channels", "left",
                      "--no-center", "--normalize", "none", "--fmin", "400", "--frame-length",
                      "256", "--hop-length", "128"], capsys)
    assert rc == 0, err
    y, sr = load_audio(clips[1], sr=16000, channels="left")
    ref = rae_fast.autocorrelogram(y, sr=16000, frame_length=256, hop_length=128, fmin=400,
                                   center=False, normalize=None)
    assert sr == 16000 and ref.shape[0] == 41                  # lags up to 16000 / 400
    assert np.array_equal(np.load(out / "b.npy"), ref)
    with np.load(out / "b.axes.npz") as ax:
        assert ax["sr"] == 16000 and not bool(ax["center"])
        assert ax["times_s"][0] == pytest.approx(128 / 16000)     # first frame centre


def test_workers_do_not_change_results(tmp_path, clips, capsys):
    for w in ("1", "3"):
        rc, _, err = run(clips + ["--out", tmp_path / w, "--workers", w] + FAST, capsys)
        assert rc == 0, err
    for clip in clips:
        assert np.array_equal(np.load(tmp_path / "1" / f"{clip.stem}.npy"),
                              np.load(tmp_path / "3" / f"{clip.stem}.npy"))


def test_folder_layout_is_kept_and_loads_as_an_obj_dataset(tmp_path, make_collection, capsys):
    from rae_fast.layouts import parse_dataset

    base, rows = make_collection("esc", labels=("dog", "rain", "baby"), per_label=3,
                                 duration=0.3)
    (base / "001 - dog" / ".hidden.wav").write_bytes(b"not audio, hidden: ignored")
    (base / "README.txt").write_text("not audio: ignored")
    out = tmp_path / "objs"
    rc, _, err = run([base, "--out", out, "--format", "obj"] + FAST, capsys)
    assert rc == 0, err
    expected = sorted(r["filename"].rsplit(".", 1)[0] + ".obj" for r in rows)
    assert outputs(out) == sorted(expected + ["autocorrelogram_settings.json"])
    ds = obj.load_dataset(out)
    parsed = parse_dataset(base, "esc")
    assert ds.label_map == parsed.label_map and len(ds) == len(rows)
    assert ds.cv_folds.tolist() == [list(i.cv_folds) for i in parsed.instances]
    assert ds.feature_dims == ("time", "lag") and ds.feature_shape[1] == 65


@pytest.fixture
def with_bad(tmp_path, write_audio):
    d = tmp_path / "mixed"
    good = [write_audio(d / "a.wav", duration=0.3, seed=1), write_audio(d / "b.wav", 0.3, seed=2)]
    text = d / "bad.wav"
    text.write_text("this is a text file, not a WAV\n")
    return d, good, text


def test_unreadable_file_fails_the_run_by_name(tmp_path, with_bad, capsys):
    d, good, text = with_bad
    out = tmp_path / "out"
    rc, _, err = run([d, "--out", out, "--workers", "1"] + FAST, capsys)
    assert rc == 2
    assert "bad.wav" in err and "not a readable audio file" in err and "--skip-bad" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not any(p.name.startswith("bad.") for p in out.iterdir())
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_skip_bad_reports_every_bad_file_and_exits_1(tmp_path, with_bad, write_audio, capsys):
    import soundfile as sf

    d, good, text = with_bad
    (d / "empty.wav").write_bytes(b"")
    sf.write(str(d / "nan.wav"), np.array([0.1, np.nan, 0.2] * 100, np.float32), 16000,
             subtype="FLOAT")
    trunc = write_audio(d / "trunc.wav", duration=0.5, seed=3)
    trunc.write_bytes(trunc.read_bytes()[:3000])
    write_audio(d / "short.wav", duration=0.01, seed=4)          # 160 samples < a frame
    out = tmp_path / "out"
    rc, stdout, err = run([d, "--out", out, "--skip-bad", "--no-center"] + FAST, capsys)
    assert rc == 1
    assert "wrote the autocorrelograms of 2 file(s)" in stdout
    assert "skipped 5 unusable file(s)" in err and "Traceback" not in err
    for name, reason in [("bad.wav", "not a readable audio file"), ("empty.wav", "empty"),
                         ("nan.wav", "NaN"), ("trunc.wav", "truncated"),
                         ("short.wav", "fewer than frame_length = 512")]:
        line = next(ln for ln in err.splitlines() if name in ln)
        assert reason in line, line
    assert outputs(out) == ["a.axes.npz", "a.npy", "autocorrelogram_settings.json",
                            "b.axes.npz", "b.npy"]


def test_resume_skips_existing_outputs_and_overwrite_redoes_them(tmp_path, clips, capsys):
    out = tmp_path / "out"
    args = clips + ["--out", out, "--format", "npy", "obj"] + FAST
    assert run(args, capsys)[0] == 0
    marker = b"sentinel: must survive a resumed run"
    (out / "a.obj").write_bytes(marker)
    (out / "b.npy").unlink()
    rc, stdout, _ = run(args, capsys)
    assert rc == 0 and "of 1 file(s)" in stdout and "(2 already done)" in stdout
    assert (out / "a.obj").read_bytes() == marker                   # not recomputed
    assert np.load(out / "b.npy").shape[0] == 65                     # the missing one is back
    # another format into the same folder only adds the new outputs
    rc, stdout, _ = run(clips + ["--out", out, "--format", "png"] + FAST, capsys)
    assert rc == 0 and (out / "c.png").read_bytes()[:8] == PNG_MAGIC
    assert (out / "a.obj").read_bytes() == marker
    rc, stdout, _ = run(args + ["--overwrite"], capsys)
    assert rc == 0 and "of 3 file(s)" in stdout
    assert obj.read_autocorrelogram(out / "a.obj")[0].shape == (65, 32)


def test_other_settings_into_the_same_folder_are_refused(tmp_path, clips, capsys):
    out = tmp_path / "out"
    assert run(clips + ["--out", out] + FAST, capsys)[0] == 0
    rc, _, err = run(clips + ["--out", out, "--frame-length", "1024", "--hop-length", "256",
                              "--max-lag", "64"], capsys)
    assert rc == 2 and "--frame-length: 512 -> 1024" in err and "--overwrite" in err
    rc, _, err = run(clips + ["--out", out, "--frame-length", "1024", "--hop-length", "256",
                              "--max-lag", "64", "--overwrite"], capsys)
    assert rc == 0, err
    assert json.loads((out / "autocorrelogram_settings.json").read_text())["frame_length"] == 1024
    for junk in ("[1, 2]", "not json"):
        (out / "autocorrelogram_settings.json").write_text(junk)
        rc, _, err = run(clips + ["--out", out] + FAST, capsys)
        assert rc == 2 and "is not a settings file" in err and "Traceback" not in err


@pytest.mark.parametrize("extra,needle", [
    (["--max-lag", "512", "--frame-length", "512"],
     "--max-lag (512) must be smaller than --frame-length"),
    (["--frame-length", "1"], "--frame-length must be >= 2"),
    (["--hop-length", "0"], "--hop-length must be >= 1"),
    (["--sr", "8000", "--fmin", "5000"], "fmin (5000.0 Hz) must be <= sr / 2"),
    (["--sr", "8000", "--fmin", "10", "--frame-length", "512"], "raise --frame-length or fmin"),
    (["--fmin", "-3"], "--fmin must be > 0"),
    (["--sr", "0"], "--sr must be > 0"),
    (["--window", "nosuchwindow"], "nosuchwindow"),
    (["--precision", "0"], "--precision must be >= 1"),
    (["--workers", "0"], "--workers must be >= 1"),
])
def test_impossible_settings_fail_before_reading(tmp_path, clips, capsys, extra, needle):
    rc, _, err = run(clips + ["--out", tmp_path / "out"] + extra, capsys)
    assert rc == 2 and needle in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()


def test_fmin_above_nyquist_of_a_file_names_the_file(tmp_path, clips, capsys):
    rc, _, err = run([clips[1], "--out", tmp_path / "out", "--fmin", "5000"], capsys)
    assert rc == 2 and "b.flac" in err and "fmin (5000.0 Hz) must be <= sr / 2 (4000.0 Hz)" in err


def test_input_problems(tmp_path, clips, write_audio, capsys):
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    rc, _, err = run([empty, "--out", tmp_path / "o1"], capsys)
    assert rc == 2 and "no audio files found in folder" in err
    rc, _, err = run([tmp_path / "missing.wav", "--out", tmp_path / "o2"], capsys)
    assert rc == 2 and "missing.wav" in err and "does not exist" in err
    twin = write_audio(tmp_path / "in" / "a.flac", duration=0.2)
    rc, _, err = run([clips[0], twin, "--out", tmp_path / "o3"], capsys)
    assert rc == 2 and "a.wav" in err and "a.flac" in err and "same outputs" in err
    (tmp_path / "file").write_text("x")
    rc, _, err = run([clips[0], "--out", tmp_path / "file"], capsys)
    assert rc == 2 and "not a folder" in err
    # one output that cannot be made for a file (a single frame has no surface) names it
    write_audio(tmp_path / "tiny" / "one.wav", duration=0.005, sr=16000)
    rc, _, err = run([tmp_path / "tiny", "--out", tmp_path / "o4", "--format", "obj"] + FAST,
                     capsys)
    assert rc == 2 and "one.wav: cannot write one.obj" in err and "at least 2" in err


def test_the_same_file_twice_is_done_once(tmp_path, clips, capsys):
    rc, stdout, err = run([clips[0], clips[0], clips[0].parent, "--out", tmp_path / "o"] + FAST,
                          capsys)
    assert rc == 0 and "of 3 file(s)" in stdout, err


def test_interrupt_leaves_only_complete_outputs(tmp_path, clips, capsys, monkeypatch):
    real = obj.write_autocorrelogram
    calls = []

    def interrupted(path, *a, **kw):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(path, *a, **kw)

    monkeypatch.setattr(obj, "write_autocorrelogram", interrupted)
    out = tmp_path / "out"
    rc, _, err = run(clips + ["--out", out, "--format", "obj", "--workers", "1"] + FAST, capsys)
    assert rc == 130 and "interrupted" in err and "run the same command again" in err
    assert outputs(out) == ["a.obj", "autocorrelogram_settings.json"]
    monkeypatch.setattr(obj, "write_autocorrelogram", real)
    rc, stdout, _ = run(clips + ["--out", out, "--format", "obj"] + FAST, capsys)
    assert rc == 0 and "(1 already done)" in stdout
    assert outputs(out) == ["a.obj", "autocorrelogram_settings.json", "b.obj", "c.obj"]


def test_subprocess_runs_and_sigint_leaves_no_partial_file(tmp_path, clips):
    out = tmp_path / "out"
    ok = subprocess.run([sys.executable, "-m", "rae_fast", "autocorrelogram"] +
                        [str(c) for c in clips] + ["--out", str(out), "--format", "npy", "obj"]
                        + FAST, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert outputs(out) == ["a.axes.npz", "a.npy", "a.obj", "autocorrelogram_settings.json",
                            "b.axes.npz", "b.npy", "b.obj", "c.axes.npz", "c.npy", "c.obj"]
    bad = subprocess.run([sys.executable, "-m", "rae_fast", "autocorrelogram", str(clips[0]),
                          "--out", str(tmp_path / "o2"), "--max-lag", "4096"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("rae-fast autocorrelogram: error: impossible settings: --max-lag")
    # a real SIGINT in the middle of writing the second mesh
    hook = tmp_path / "hook.py"
    hook.write_text(textwrap.dedent("""
        import os, signal, sys
        import rae_fast.obj.writer as obj
        real_rows = obj._format_rows
        count = [0]
        def rows(fh, data, fmt):
            count[0] += 1
            if count[0] == 5:            # second file, after its vertices
                os.kill(os.getpid(), signal.SIGINT)
            return real_rows(fh, data, fmt)
        obj._format_rows = rows
        from rae_fast.cli import main
        sys.exit(main(sys.argv[1:]))
    """))
    out3 = tmp_path / "out3"
    cut = subprocess.run([sys.executable, str(hook), "autocorrelogram"] + [str(c) for c in clips]
                         + ["--out", str(out3), "--format", "obj", "--workers", "1"] + FAST,
                         capture_output=True, text=True)
    assert cut.returncode == 130, cut.stderr
    assert "interrupted" in cut.stderr and "Traceback" not in cut.stderr
    names = outputs(out3)
    assert "a.obj" in names and "c.obj" not in names
    assert not [n for n in names if n.endswith(".tmp") or n.startswith(".")]
    for n in names:
        if n.endswith(".obj"):
            obj.read_autocorrelogram(out3 / n)           # every file there is complete
    again = subprocess.run([sys.executable, "-m", "rae_fast", "autocorrelogram"] +
                           [str(c) for c in clips] + ["--out", str(out3), "--format", "obj"] + FAST,
                           capture_output=True, text=True)
    assert again.returncode == 0 and "already done" in again.stdout
    for c in clips:
        B = obj.read_autocorrelogram(out3 / f"{c.stem}.obj")[0]
        assert np.array_equal(B, np.load(out / f"{c.stem}.npy"))


def test_esc10_clips(tmp_path, esc10_path, capsys):
    clips = sorted(esc10_path.glob("*/*.ogg"))[:2]
    out = tmp_path / "out"
    rc, _, err = run(clips + ["--out", out, "--format", "npy", "png", "--max-lag", "441"], capsys)
    assert rc == 0, err
    A = np.load(out / f"{clips[0].stem}.npy")
    assert A.shape == (442, 431)                          # 5 s at 44.1 kHz, hop 512
    assert (out / f"{clips[0].stem}.png").read_bytes()[:8] == PNG_MAGIC


def test_fmin_and_max_lag_together_fail_before_any_work(tmp_path, capsys):
    from rae_fast.cli import main as cli_main
    import soundfile as sf
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(4000, dtype=np.float32) + 0.1, 8000)
    assert cli_main(["autocorrelogram", str(wav), "--out", str(tmp_path / "o"),
                     "--fmin", "100", "--max-lag", "50"]) == 2
    assert "not both" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").rglob("*.npy"))


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file names are bytes")
def test_file_names_that_are_not_utf8(tmp_path, write_audio, capsys):
    """A valid clip whose name is not UTF-8 gives every output (the OBJ comment names it
    printably); a bad one is named printably."""
    import os

    d = tmp_path / "in"
    os.rename(write_audio(d / "tmp.wav", duration=0.4, sr=8000),
              os.fsencode(d) + b"/caf\xe9.wav")
    (d / "x.wav").write_bytes(b"junk" * 10)
    os.rename(d / "x.wav", os.fsencode(d) + b"/bad\xff.wav")
    out = tmp_path / "out"
    rc, _, err = run([d, "--out", out, "--format", "npy", "obj", "--skip-bad", "--quiet", *FAST],
                     capsys)
    assert rc == 1 and "bad\\xff.wav: is not a readable audio file" in err
    assert "caf" not in err
    names = sorted(os.listdir(os.fsencode(out)))
    assert b"caf\xe9.obj" in names and b"caf\xe9.npy" in names
    text = open(os.fsencode(out) + b"/caf\xe9.obj", encoding="utf-8").read(2000)
    assert "caf\\xe9.wav" in text
