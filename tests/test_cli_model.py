"""``rae-fast train | export-onnx | generate | reconstruct`` (rae_fast.cli.model), in-process and
once through ``python -m rae_fast``."""
import csv
import json
import shlex
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from rae_fast.cli import main  # noqa: E402
from rae_fast.dataset import DataSet, load, save  # noqa: E402
from rae_fast.model import load_model  # noqa: E402
from rae_fast.model.checkpoints import list_checkpoints  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")


F, T = 8, 12
TINY = ["--num-units", "6", "--batch-size", "8", "--quiet"]


def write_specs(path, n=20, seed=0, t=T, f=F):
    rng = np.random.default_rng(seed)
    x = np.tanh(rng.standard_normal((n, t, f))).astype(np.float32)
    ds = DataSet(x, ("time", "freq"), [f"clip{seed}_{i:02d}.wav" for i in rng.permutation(n)],
                 chunk_nr=np.zeros(n, int), label_nominal=[["a", "b"][i % 2] for i in range(n)],
                 cv_folds=[[i % 2, 1 - i % 2] for i in range(n)],
                 partition=rng.integers(0, 3, n), attrs={"sr": 16000})
    save(ds, path)
    return ds


@pytest.fixture()
def specs(tmp_path):
    write_specs(tmp_path / "specs.nc")
    return tmp_path / "specs.nc"


def run_cli(*argv):
    return main([str(a) for a in argv])


def test_full_pipeline_in_process(tmp_path, specs, capsys):
    run = tmp_path / "RUN"
    assert run_cli("train", "--input", specs, "--run-dir", run, "--num-epochs", "2",
                   "--num-layers", "2", "--bidirectional-encoder", "--cell", "LSTM",
                   "--keep-prob", "0.9", "--encoder-noise", "0.1", "--feed-previous-prob", "0.2",
                   "--seed", "3", *TINY) == 0
    out = capsys.readouterr().out
    assert "trained 2 epoch(s)" in out and "representation size 24" in out
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"] == {"num_features": F, "num_layers": 2, "num_units": 6, "cell": "lstm",
                            "bidirectional_encoder": True, "bidirectional_decoder": False,
                            "dropout": pytest.approx(0.1), "encoder_noise": 0.1,
                            "feed_previous_prob": 0.2}
    assert cfg["training"]["seed"] == 3 and cfg["training"]["batch_size"] == 8
    assert cfg["info"]["inputs"] == [str(specs)]
    assert [e for e, _ in list_checkpoints(run)] == [1, 2]
    assert (run / "loss.csv").read_text().count("\n") == 3

    assert run_cli("export-onnx", run) == 0
    assert "max |diff|" in capsys.readouterr().out
    assert (run / "encoder.onnx").is_file() and (run / "autoencoder.onnx").is_file()

    reps_path = tmp_path / "reps.nc"
    assert run_cli("generate", "--model", run / "encoder.onnx", "--input", specs, "--output",
                   reps_path, "--batch-size", "7", "--threads", "2", "--quiet") == 0
    src, reps = load(specs), load(reps_path)
    assert reps.feature_dims == ("generated",) and reps.feature_shape == (24,)
    assert list(reps.filenames) == list(src.filenames)
    assert list(reps.label_nominal) == list(src.label_nominal)
    for name in ("chunk_nr", "label_numeric", "cv_folds", "partition"):
        np.testing.assert_array_equal(getattr(reps, name), getattr(src, name))
    model = load_model(run)
    with torch.no_grad():
        ref = model.encode(torch.from_numpy(src.features)).numpy()
    np.testing.assert_allclose(reps.features, ref, rtol=0, atol=1e-5)
    # the run directory itself works as --model
    assert run_cli("generate", "--model", run, "--input", specs, "--output",
                   tmp_path / "reps2.nc", "--quiet") == 0
    assert load(tmp_path / "reps2.nc").equals(reps)

    assert run_cli("reconstruct", "--model", run / "autoencoder.onnx", "--input", specs,
                   "--output", tmp_path / "rec.nc", "--quiet") == 0
    out = capsys.readouterr().out
    assert "reconstruction RMSE mean" in out
    assert "reconstruction mode: teacher-forced" in out and "always teacher-forced" in out
    rec = load(tmp_path / "rec.nc")
    assert rec.attrs["reconstruction_mode"] == "teacher_forcing"
    with torch.no_grad():
        ref_rec, _ = model(torch.from_numpy(src.features))
    np.testing.assert_allclose(rec.features, ref_rec.numpy(), rtol=0, atol=1e-5)
    assert (tmp_path / "rec.nc.rmse.csv").read_text().count("\n") == 21
    # PyTorch path from the run directory, free-running decoder
    assert run_cli("reconstruct", "--model", run, "--input", specs, "--output",
                   tmp_path / "free.nc", "--free-running", "--rmse-csv", tmp_path / "f.csv",
                   "--quiet", "--device", "cpu") == 0
    with torch.no_grad():
        free, _ = model.reconstruct(torch.from_numpy(src.features), free_running=True)
    np.testing.assert_allclose(load(tmp_path / "free.nc").features, free.numpy(), rtol=0,
                               atol=1e-6)
    assert (tmp_path / "f.csv").is_file()
    assert load(tmp_path / "free.nc").attrs["reconstruction_mode"] == "free_running"
    capsys.readouterr()
    # from a run directory with a unidirectional decoder, free running is the default ...
    assert run_cli("reconstruct", "--model", run, "--input", specs, "--output",
                   tmp_path / "default.nc", "--quiet", "--device", "cpu") == 0
    out = capsys.readouterr().out
    assert "reconstruction mode: free-running" in out and "default for a unidirectional" in out
    default = load(tmp_path / "default.nc")
    assert default.attrs["reconstruction_mode"] == "free_running"
    np.testing.assert_allclose(default.features, free.numpy(), rtol=0, atol=1e-6)
    # ... and --teacher-forcing gives what the ONNX autoencoder computes
    assert run_cli("reconstruct", "--model", run, "--input", specs, "--output",
                   tmp_path / "tf.nc", "--teacher-forcing", "--quiet", "--device", "cpu") == 0
    assert "teacher-forced" in capsys.readouterr().out
    tf = load(tmp_path / "tf.nc")
    assert tf.attrs["reconstruction_mode"] == "teacher_forcing"
    np.testing.assert_allclose(tf.features, ref_rec.numpy(), rtol=0, atol=1e-6)
    assert np.abs(tf.features - default.features).max() > 1e-3      # the modes really differ


def test_continue_equals_uninterrupted_training(tmp_path, specs):
    args = ["--input", specs, *TINY, "--dropout", "0.3", "--seed", "5"]
    assert run_cli("train", "--run-dir", tmp_path / "full", "--num-epochs", "3", *args) == 0
    assert run_cli("train", "--run-dir", tmp_path / "cut", "--num-epochs", "1", *args) == 0
    # architecture options are taken from the run; the epoch count can grow
    assert run_cli("train", "--run-dir", tmp_path / "cut", "--input", specs, "--num-epochs", "3",
                   "--continue", "--quiet") == 0
    a, b = load_model(tmp_path / "full"), load_model(tmp_path / "cut")
    for (k, v), (_, w) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(v, w), k

    def losses(run):
        rows = list(csv.DictReader(open(tmp_path / run / "loss.csv")))
        return [(r["epoch"], r["loss"]) for r in rows]

    # the loss log of the continued run is the uninterrupted one, epoch by epoch
    assert losses("cut") == losses("full") and [e for e, _ in losses("full")] == ["1", "2", "3"]


def test_several_input_files(tmp_path, capsys):
    write_specs(tmp_path / "a.nc", n=10, seed=1)
    write_specs(tmp_path / "b.nc", n=6, seed=2)
    assert run_cli("train", "--input", tmp_path / "a.nc", tmp_path / "b.nc", "--run-dir",
                   tmp_path / "run", "--num-epochs", "1", *TINY) == 0
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["n_instances"] == 16 and len(cfg["info"]["inputs"]) == 2
    write_specs(tmp_path / "c.nc", n=4, seed=3, t=T + 1)
    assert run_cli("train", "--input", tmp_path / "a.nc", tmp_path / "c.nc", "--run-dir",
                   tmp_path / "run2", "--num-epochs", "1", *TINY) == 2
    err = capsys.readouterr().err
    assert "rae-fast train: error:" in err and "c.nc" in err and "same shape" in err
    assert not (tmp_path / "run2").exists()


@pytest.mark.parametrize("argv,message", [
    (["train", "--input", "{tmp}/missing.nc", "--run-dir", "{tmp}/r"], "does not exist"),
    (["train", "--input", "{specs}", "--run-dir", "{tmp}/r", "--keep-prob", "0"],
     "--keep-prob must be in (0, 1]"),
    (["train", "--input", "{specs}", "--run-dir", "{tmp}/r", "--dropout", "1.0"],
     "--dropout must be < 1"),
    (["train", "--input", "{specs}", "--run-dir", "{tmp}/r", "--bidirectional-decoder",
      "--feed-previous-prob", "0.5"], "bidirectional decoder"),
    (["train", "--input", "{specs}", "--run-dir", "{tmp}/nothing", "--continue"],
     "does not exist"),
    (["train", "--input", "{text}", "--run-dir", "{tmp}/r"], "not a readable netCDF4"),
    (["export-onnx", "{tmp}"], "holds no checkpoint (train first)"),
    (["generate", "--model", "{tmp}", "--input", "{specs}", "--output", "{tmp}/o.nc"],
     "has no encoder.onnx"),
    (["generate", "--model", "{text}", "--input", "{specs}", "--output", "{tmp}/o.nc"],
     "not a loadable ONNX model"),
])
def test_user_errors_exit_2_with_one_line(tmp_path, specs, capsys, argv, message):
    text = tmp_path / "text.nc"
    text.write_text("plain text")
    argv = [a.format(tmp=tmp_path, specs=specs, text=text) for a in argv]
    if argv[0] == "export-onnx":
        (tmp_path / "config.json").unlink(missing_ok=True)
    assert main(argv + (["--quiet"] if argv[0] != "export-onnx" else [])) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"rae-fast {argv[0]}: error:")
    assert message in err[0]


def test_existing_run_and_model_mismatches(tmp_path, specs, capsys):
    run = tmp_path / "run"
    assert run_cli("train", "--input", specs, "--run-dir", run, "--num-epochs", "1", *TINY) == 0
    assert run_cli("train", "--input", specs, "--run-dir", run, "--num-epochs", "1", *TINY) == 2
    assert "already holds a training run" in capsys.readouterr().err
    assert run_cli("train", "--input", specs, "--run-dir", run, "--num-units", "7", "--continue",
                   "--quiet") == 2
    assert "--num-units" in capsys.readouterr().err
    assert run_cli("export-onnx", run, "--no-autoencoder", "--output", tmp_path / "e.onnx") == 0
    assert not (run / "autoencoder.onnx").exists()
    capsys.readouterr()
    assert run_cli("reconstruct", "--model", tmp_path / "e.onnx", "--input", specs, "--output",
                   tmp_path / "r.nc", "--quiet") == 2
    assert "is an encoder" in capsys.readouterr().err
    assert run_cli("reconstruct", "--model", tmp_path / "e.onnx", "--input", specs, "--output",
                   tmp_path / "r.nc", "--free-running", "--quiet") == 2
    assert "--free-running needs the run directory" in capsys.readouterr().err
    write_specs(tmp_path / "wide.nc", f=F + 1)
    assert run_cli("generate", "--model", tmp_path / "e.onnx", "--input", tmp_path / "wide.nc",
                   "--output", tmp_path / "o.nc", "--quiet") == 2
    assert "model expects 8" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert run_cli("train", "--input", specs, "--run-dir", tmp_path / "g", "--device", "cuda",
                       *TINY) == 2
        assert "no CUDA GPU" in capsys.readouterr().err
    for p in (tmp_path / "o.nc", tmp_path / "r.nc"):
        assert not p.exists()


def test_reconstruct_bidirectional_decoder_is_teacher_forced_and_says_so(tmp_path, specs,
                                                                         capsys):
    run = tmp_path / "run"
    assert run_cli("train", "--input", specs, "--run-dir", run, "--num-epochs", "1",
                   "--bidirectional-decoder", *TINY) == 0
    capsys.readouterr()
    assert run_cli("reconstruct", "--model", run, "--input", specs, "--output",
                   tmp_path / "r.nc", "--quiet", "--device", "cpu") == 0
    out = capsys.readouterr().out
    assert "reconstruction mode: teacher-forced" in out and "bidirectional decoder" in out
    rec = load(tmp_path / "r.nc")
    assert rec.attrs["reconstruction_mode"] == "teacher_forcing"
    model = load_model(run)
    with torch.no_grad():
        ref, _ = model(torch.from_numpy(load(specs).features))
    np.testing.assert_allclose(rec.features, ref.numpy(), rtol=0, atol=1e-6)
    assert run_cli("reconstruct", "--model", run, "--input", specs, "--output",
                   tmp_path / "f.nc", "--free-running", "--quiet") == 2
    assert "needs a unidirectional decoder" in capsys.readouterr().err
    assert not (tmp_path / "f.nc").exists()
    with pytest.raises(SystemExit):          # argparse: the two modes exclude each other
        run_cli("reconstruct", "--model", run, "--input", specs, "--output", tmp_path / "x.nc",
                "--free-running", "--teacher-forcing")
    assert "not allowed with argument" in capsys.readouterr().err


def test_ctrl_c_during_training_exits_130_and_keeps_complete_epochs(tmp_path, specs, capsys,
                                                                    monkeypatch):
    from rae_fast.model import training

    real = training._train_epoch

    def interrupted(*a, **kw):
        if a[4] == 2:               # epoch number
            raise KeyboardInterrupt
        return real(*a, **kw)

    monkeypatch.setattr(training, "_train_epoch", interrupted)
    run = tmp_path / "run"
    argv = ["train", "--input", str(specs), "--run-dir", str(run), "--num-epochs", "3", *TINY]
    assert run_cli(*argv) == 130
    err = capsys.readouterr().err.strip().splitlines()
    # the message names the exact command that continues the run (the same one plus
    # --continue): running the same command again refuses a run that holds checkpoints
    assert err == [f"rae-fast train: interrupted; continue from epoch 1 (saved in {run}) with: "
                   + shlex.join(["rae-fast", *argv, "--continue"])]
    monkeypatch.setattr(training, "_train_epoch", real)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["epoch_0001.pt"]
    assert not [p for p in run.rglob("*") if p.name.startswith(".")]   # no temp files left
    assert run_cli(*argv) == 2
    assert "already holds a training run" in capsys.readouterr().err
    assert run_cli(*shlex.split(err[0].split(" with: ", 1)[1])[1:]) == 0
    assert [e for e, _ in list_checkpoints(run)] == [1, 2, 3]


def test_generate_through_python_m_rae_fast(tmp_path, specs):
    run = tmp_path / "run"
    assert run_cli("train", "--input", specs, "--run-dir", run, "--num-epochs", "1", *TINY) == 0
    assert run_cli("export-onnx", run) == 0
    res = subprocess.run([sys.executable, "-m", "rae_fast", "generate", "--model",
                          str(run / "encoder.onnx"), "--input", str(specs), "--output",
                          str(tmp_path / "reps.nc"), "--quiet"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "wrote" in res.stdout and load(tmp_path / "reps.nc").feature_shape == (6,)
    bad = subprocess.run([sys.executable, "-m", "rae_fast", "generate", "--model",
                          str(run / "encoder.onnx"), "--input", str(tmp_path / "none.nc"),
                          "--output", str(tmp_path / "x.nc")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "does not exist" in bad.stderr
    assert "Traceback" not in bad.stderr
