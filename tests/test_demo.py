"""`rae-fast demo`: the whole pipeline end to end (reduced size), resume, and its errors."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from rae_fast.cli import main  # noqa: E402
from rae_fast.dataset import load  # noqa: E402
from rae_fast.synth import DEMO_CLASSES, synth_clip  # noqa: E402


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    status = main(["demo", "--quick", "--out", str(out), "--threads", "1"])
    assert status == 0
    return out


def test_quick_demo_runs_every_stage_and_learns(quick_demo, capsys):
    out = quick_demo
    for name in ("spectrograms.nc", "encoder.onnx", "representations.nc", "evaluation.json",
                 "confusion.csv", "run/loss.csv", "demo-settings.json"):
        assert (out / name).is_file(), name
    assert len(list((out / "autocorrelograms").rglob("*.obj"))) == len(DEMO_CLASSES)
    assert len(list((out / "autocorrelograms").rglob("*.npy"))) == len(DEMO_CLASSES)
    # back to sound: one WAV per clip, as long as its spectrogram's frames cover, not silent;
    # and the two pictures
    wavs = sorted((out / "decoded").rglob("*.wav"))
    assert len(wavs) == 8 * len(DEMO_CLASSES)
    for w in wavs[:: len(wavs) // 6]:
        y, sr = sf.read(str(w))
        assert sr == 16000 and y.ndim == 1 and 0.5 * 16000 < len(y) <= 16000
        assert np.isfinite(y).all() and np.abs(y).max() > 1e-3
    for png in ("tsne.png", "reconstruction.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    # representations keep the instances and labels of the spectrograms, in order
    with load(out / "spectrograms.nc") as s, load(out / "representations.nc") as r:
        assert list(r.filenames) == list(s.filenames)
        assert list(r.label_nominal) == list(s.label_nominal)
        assert r.feature_dims == ("generated",)
        assert s.n_folds == 4 and len(s) == 8 * len(DEMO_CLASSES)
    res = json.loads((out / "evaluation.json").read_text())
    assert sorted(res["class_names"]) == sorted(DEMO_CLASSES)
    cm = np.asarray(res["confusion_matrix"])
    assert cm.shape == (6, 6) and cm.sum() == 8 * len(DEMO_CLASSES)
    # even the 4-epoch autoencoder is far above chance (1/6); the full demo reaches ~96 %
    assert res["accuracy"] > 2 / len(DEMO_CLASSES)
    assert np.isclose(res["accuracy"], np.trace(cm) / cm.sum())


def test_rerun_resumes_through_the_console_script(quick_demo, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(quick_demo, out)
    exe = shutil.which("rae-fast")
    cmd = [exe] if exe else [sys.executable, "-m", "rae_fast"]
    p = subprocess.run([*cmd, "demo", "--quick", "--out", str(out), "--threads", "1"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    # finished stages are not redone, evaluation runs again and reports the same accuracy
    assert p.stdout.count("done before") >= 4
    assert "accuracy" in p.stdout and str(out.resolve()) in p.stdout
    # the summary names the pictures and a few decoded files
    summary = p.stdout.split("== summary")[1]
    assert "tsne.png" in summary and "reconstruction.png" in summary
    assert "decoded/fold_1/" in summary and ".wav" in summary
    a = json.loads((quick_demo / "evaluation.json").read_text())["accuracy"]
    b = json.loads((out / "evaluation.json").read_text())["accuracy"]
    assert a == b


def test_other_settings_in_the_same_folder_are_refused(quick_demo, capsys):
    assert main(["demo", "--out", str(quick_demo), "--threads", "1"]) == 2
    assert "other settings" in capsys.readouterr().err


@pytest.mark.parametrize("argv, msg", [
    (["--data", "/no/such/folder"], "--data"),
    (["--epochs", "0"], "--epochs"),
    (["--threads", "-1"], "--threads"),
])
def test_bad_arguments(tmp_path, capsys, argv, msg):
    assert main(["demo", "--quick", "--out", str(tmp_path / "o"), *argv]) == 2
    assert msg in capsys.readouterr().err


def test_unlabelled_user_folder_is_a_clear_error(tmp_path, capsys):
    data = tmp_path / "flat"
    data.mkdir()
    for i in range(3):
        sf.write(data / f"clip{i}.wav", synth_clip("chirp", 16000, 1.0, rng=i), 16000)
    assert main(["demo", "--quick", "--data", str(data), "--out", str(tmp_path / "o")]) == 2
    assert "no labels" in capsys.readouterr().err


def test_user_folder_without_folds_gets_four(tmp_path, capsys):
    data = tmp_path / "classes"
    for c in ("chirp", "click_train"):
        (data / c).mkdir(parents=True)
        for i in range(4):
            sf.write(data / c / f"{c}{i}.wav", synth_clip(c, 16000, 1.0, rng=i), 16000)
    out = tmp_path / "o"
    assert main(["demo", "--quick", "--data", str(data), "--out", str(out), "--epochs", "1",
                 "--threads", "1"]) == 0
    with load(out / "representations.nc") as r:
        assert r.n_folds == 4 and len(r) == 8
    assert not (out / "audio").exists()  # the user's folder is used, nothing synthesised


def test_user_folder_with_different_lengths_and_rates(tmp_path, capsys):
    """ESC-10-like: clips of different lengths (the demo used to stop at 'the clips give
    features of different lengths'), two sample rates and an unusable file."""
    data = tmp_path / "classes"
    for c in ("chirp", "click_train"):
        (data / c).mkdir(parents=True)
        for i in range(4):
            sr = 22050 if i == 0 else 16000
            sf.write(data / c / f"{c}{i}.wav", synth_clip(c, sr, 0.8 + 0.15 * i, rng=i), sr)
    (data / "chirp" / "broken.wav").write_text("not audio")
    out = tmp_path / "o"
    assert main(["demo", "--quick", "--data", str(data), "--out", str(out), "--epochs", "1",
                 "--threads", "1"]) == 0
    text = capsys.readouterr().out
    assert "--sr auto: 16000 Hz, the most common rate (6 of 8 files)" in text
    assert "--fixed-length auto: 0.95 s, the median clip length" in text
    assert "skipped 1 unusable file(s)" in text and "chirp/broken.wav" in text
    assert "every recording cut or padded to 0.95 s (centred) at 16000 Hz (chosen by " \
           "--fixed-length auto and --sr auto)" in text
    with load(out / "spectrograms.nc") as s:
        assert len(s) == 8 and s.attrs["preprocess.sr"] == 16000
        assert s.attrs["preprocess.fixed_length"] == pytest.approx(0.95)
    assert (out / "evaluation.json").is_file()
    # another length is another run: refused in the same folder
    assert main(["demo", "--quick", "--data", str(data), "--out", str(out), "--epochs", "1",
                 "--fixed-length", "2"]) == 2
    assert "(--fixed-length)" in capsys.readouterr().err
