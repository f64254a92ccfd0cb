"""Training (rae_fast.model.training): overfitting, exact resume, checkpoints, run-dir guards."""
import csv
import glob
import sys
import types
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import rae_fast  # noqa: E402
from rae_fast.model import (AutoencoderConfig, TrainingConfig, latest_checkpoint,  # noqa: E402
                            load_checkpoint, load_model, train)
from rae_fast.model import list_checkpoints, resolve_device  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")


ESC10 = Path(__file__).resolve().parents[2] / "shared" / "data" / "esc10"


def synthetic_spectrograms(n=4, seconds=1.0, n_mels=32):
    """Spectrograms (n, time, n_mels) in [-1, 1] of chirps, computed by rae_fast.spectrogram."""
    sr = 16000
    t = np.arange(int(sr * seconds)) / sr
    rng = np.random.default_rng(0)
    ys = [np.sin(2 * np.pi * (300 + 800 * k) * t + 2 * np.pi * 200 * k * t ** 2)
          + 0.05 * rng.standard_normal(t.size) for k in range(n)]
    S = rae_fast.spectrogram(np.stack(ys).astype(np.float32), sr, n_mels=n_mels)
    return np.ascontiguousarray(S.transpose(0, 2, 1))


def esc10_spectrograms(n=4, n_mels=32):
    sf = pytest.importorskip("soundfile")
    files = sorted(glob.glob(str(ESC10 / "*" / "*.ogg")))[::100][:n]
    out = []
    for f in files:
        y, sr = sf.read(f, dtype="float32")
        out.append(rae_fast.spectrogram(y, sr, n_mels=n_mels).T)
    return np.ascontiguousarray(np.stack(out))


def small_data(n=12, t=10, f=6, seed=0):
    return np.tanh(np.random.default_rng(seed).standard_normal((n, t, f))).astype(np.float32)


TINY = dict(num_units=6, dropout=0.3, encoder_noise=0.2, feed_previous_prob=0.3)


# --------------------------------------------------------------------------- overfit

@pytest.mark.parametrize("source", ["synthetic", "esc10"])
def test_tiny_model_overfits_a_handful_of_spectrograms(tmp_path, source):
    if source == "esc10":
        if not ESC10.is_dir():
            pytest.skip(f"ESC-10 recordings not found at {ESC10}")
        x = esc10_spectrograms()
    else:
        x = synthetic_spectrograms()
    assert x.min() >= -1 and x.max() <= 1 and x.shape[0] == 4
    r = train(x, tmp_path / "run", AutoencoderConfig(num_features=32, num_units=64, dropout=0.0),
              TrainingConfig(num_epochs=100, batch_size=4, learning_rate=1e-2), progress=False,
              keep_checkpoints=1)
    assert len(r.losses) == 100 and r.epoch == 100
    assert r.losses[0] / r.losses[-1] >= 10, r.losses[::10]
    with torch.no_grad():
        final = float(r.model.loss(torch.from_numpy(x)))
    assert final < r.losses[0] / 10
    assert [p for _, p in list_checkpoints(r.run_dir)] == [r.checkpoint]


# ----------------------------------------------------------------------------- resume

def _state(result):
    return {k: v.clone() for k, v in result.model.state_dict().items()}


def _assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_resume_equals_uninterrupted_run(tmp_path):
    x = small_data()
    cfg = AutoencoderConfig(num_features=6, num_layers=2, **TINY)
    tc = TrainingConfig(num_epochs=3, batch_size=5, seed=7)
    full = train(x, tmp_path / "full", cfg, tc, progress=False)

    class Stop(KeyboardInterrupt):
        pass

    def stop_after_first(epoch, loss):
        if epoch == 1:
            raise Stop()

    with pytest.raises(Stop):
        train(x, tmp_path / "cut", cfg, tc, progress=False, on_epoch_end=stop_after_first)
    assert [e for e, _ in list_checkpoints(tmp_path / "cut")] == [1]
    torch.manual_seed(12345)           # whatever the caller's RNG does in between
    np.random.seed(99)
    resumed = train(x, tmp_path / "cut", resume=True, progress=False)
    assert resumed.epoch == 3
    _assert_same_weights(_state(full), _state(resumed))
    assert full.losses == resumed.losses
    a = load_checkpoint(full.checkpoint)["optimizer"]["state"]
    b = load_checkpoint(resumed.checkpoint)["optimizer"]["state"]
    for k in a:
        for name in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(a[k][name], b[k][name])
    # continuing a finished run to more epochs == training that many epochs at once
    longer = train(x, tmp_path / "full", training_config=tc.replace(num_epochs=4), resume=True,
                   progress=False)
    straight = train(x, tmp_path / "four", cfg, tc.replace(num_epochs=4), progress=False)
    _assert_same_weights(_state(longer), _state(straight))
    # and the randomness matters: another seed gives other weights
    other = train(x, tmp_path / "other", cfg, tc.replace(seed=8), progress=False)
    assert any(not torch.equal(v, _state(full)[k]) for k, v in _state(other).items())
    rows = list(csv.DictReader(open(tmp_path / "cut" / "loss.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]


def test_resume_restores_rng_of_the_checkpoint(tmp_path):
    """The random state after resuming is the one saved after the epoch, not a reseeded one."""
    x = small_data(n=6)
    cfg = AutoencoderConfig(num_features=6, **TINY)
    tc = TrainingConfig(num_epochs=1, batch_size=3)
    train(x, tmp_path / "r", cfg, tc, progress=False)
    ckpt = load_checkpoint(latest_checkpoint(tmp_path / "r"))
    torch.manual_seed(tc.seed)
    assert not torch.equal(ckpt["rng"]["torch"], torch.get_rng_state())
    before = torch.get_rng_state()
    train(x, tmp_path / "r2", cfg, tc, progress=False)
    assert torch.equal(before, torch.get_rng_state())      # the caller's RNG is left alone


def _np_and_py_states():
    import random
    st = np.random.get_state(legacy=False)
    return (st["state"]["key"].copy(), st["state"]["pos"], st["has_gauss"], st["gauss"],
            random.getstate())


def _assert_same_np_and_py_states(a, b):
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1:] == b[1:]


def test_resume_leaves_the_callers_numpy_and_python_random_states_alone(tmp_path):
    """train(resume=True) must not put the numpy / ``random`` global states of the first
    call back into the caller's process (training never draws from them)."""
    import random

    x = small_data(n=6)
    cfg = AutoencoderConfig(num_features=6, **TINY)
    tc = TrainingConfig(num_epochs=1, batch_size=3)
    np.random.seed(11)
    random.seed(11)
    train(x, tmp_path / "r", cfg, tc, progress=False)
    np.random.seed(1234)                 # the caller moves on to other states
    random.seed(1234)
    np.random.random(3)
    random.random()
    before = _np_and_py_states()
    train(x, tmp_path / "r", training_config=tc.replace(num_epochs=2), resume=True,
          progress=False)
    _assert_same_np_and_py_states(before, _np_and_py_states())
    # checkpoints of earlier versions stored numpy / Python states: they are ignored
    path = latest_checkpoint(tmp_path / "r")
    ckpt = torch.load(path, weights_only=True)
    assert set(ckpt["rng"]) == {"torch"}
    ckpt["rng"]["numpy"] = {"key": torch.zeros(624, dtype=torch.int64), "pos": 624,
                            "has_gauss": 0, "gauss": 0.0}
    ckpt["rng"]["python"] = [3, [0] * 624 + [624], None]
    torch.save(ckpt, path)
    before = _np_and_py_states()
    r = train(x, tmp_path / "r", training_config=tc.replace(num_epochs=3), resume=True,
              progress=False)
    assert r.epoch == 3
    _assert_same_np_and_py_states(before, _np_and_py_states())


# ------------------------------------------------------------------------ checkpoints

def test_checkpoints_load_with_weights_only_and_are_pruned(tmp_path):
    x = small_data()
    r = train(x, tmp_path / "run", AutoencoderConfig(num_features=6, cell="lstm", **TINY),
              TrainingConfig(num_epochs=4, batch_size=4), progress=False, keep_checkpoints=2)
    assert [e for e, _ in list_checkpoints(r.run_dir)] == [3, 4]
    raw = torch.load(r.checkpoint, weights_only=True)
    assert raw["epoch"] == 4 and raw["format"] == "rae_fast.checkpoint"
    assert set(raw) >= {"model", "optimizer", "rng", "model_config", "training_config", "loss"}
    assert raw["model_config"]["cell"] == "lstm"
    m = load_model(r.run_dir)
    assert not m.training
    with torch.no_grad():
        torch.testing.assert_close(m.encode(x), r.model.encode(x), rtol=0, atol=0)
    m3 = load_model(r.run_dir, epoch=3)
    assert not torch.equal(m3.fc.weight, m.fc.weight)
    with pytest.raises(FileNotFoundError, match="no checkpoint for epoch 1"):
        load_model(r.run_dir, epoch=1)
    with pytest.raises(ValueError, match="epoch must be >= 1"):
        load_model(r.run_dir, epoch=0)
    bogus = tmp_path / "bogus.pt"
    bogus.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="not a readable rae_fast checkpoint"):
        load_checkpoint(bogus)
    torch.save({"a": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a rae_fast checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    rows = list(csv.DictReader(open(r.run_dir / "loss.csv")))
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3, 4]
    assert [float(row["loss"]) for row in rows] == pytest.approx(r.losses, rel=1e-6)
    cfg = __import__("json").loads((r.run_dir / "config.json").read_text())
    assert cfg["feature_shape"] == [10, 6] and cfg["n_instances"] == 12


def test_interrupted_checkpoint_write_leaves_nothing_half_written(tmp_path, monkeypatch):
    x = small_data()
    cfg = AutoencoderConfig(num_features=6, **TINY)
    tc = TrainingConfig(num_epochs=2, batch_size=4)
    real_save = torch.save
    calls = {"n": 0}

    def flaky_save(obj, f, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:                    # epoch 2: die in the middle of writing
            Path(f).write_bytes(b"\x80half")
            raise KeyboardInterrupt
        return real_save(obj, f, *a, **kw)

    monkeypatch.setattr(torch, "save", flaky_save)
    with pytest.raises(KeyboardInterrupt):
        train(x, tmp_path / "run", cfg, tc, progress=False)
    monkeypatch.setattr(torch, "save", real_save)
    ck = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in ck.iterdir()) == ["epoch_0001.pt"]
    r = train(x, tmp_path / "run", resume=True, progress=False)
    ref = train(x, tmp_path / "ref", cfg, tc, progress=False)
    _assert_same_weights(_state(r), _state(ref))


# ------------------------------------------------------------------------------ guards

def test_run_directory_guards(tmp_path):
    x = small_data()
    cfg = AutoencoderConfig(num_features=6, num_units=4)
    tc = TrainingConfig(num_epochs=1, batch_size=6)
    train(x, tmp_path / "run", cfg, tc, progress=False)
    with pytest.raises(FileExistsError, match="already holds a training run"):
        train(x, tmp_path / "run", cfg, tc, progress=False)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        train(x, tmp_path / "nothing", resume=True, progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="not a training run"):
        train(x, tmp_path / "empty", resume=True, progress=False)
    with pytest.raises(ValueError, match=r"differs .* \['num_units'\]"):
        train(x, tmp_path / "run", cfg.replace(num_units=5), resume=True, progress=False)
    with pytest.raises(ValueError, match="num_features=7"):
        train(x, tmp_path / "new", AutoencoderConfig(num_features=7), tc, progress=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        train(x, tmp_path / "file", cfg, tc, progress=False)
    with pytest.warns(RuntimeWarning, match="differ from those the run started with"):
        train(small_data(seed=1), tmp_path / "run", training_config=tc.replace(num_epochs=2),
              resume=True, progress=False)
    with pytest.raises(TypeError, match="model_config"):
        train(x, tmp_path / "t1", {"num_features": 6}, progress=False)
    with pytest.raises(ValueError, match="keep_checkpoints"):
        train(x, tmp_path / "t2", cfg, tc, keep_checkpoints=0, progress=False)
    with pytest.raises(ValueError, match="n_threads"):
        train(x, tmp_path / "t3", cfg, tc, n_threads=0, progress=False)


def test_bad_features_are_refused(tmp_path):
    cfg = AutoencoderConfig(num_features=6)
    tc = TrainingConfig(num_epochs=1)
    run = tmp_path / "r"
    with pytest.raises(TypeError, match="floating point"):
        train(np.zeros((4, 5, 6), np.int32), run, cfg, tc)
    with pytest.raises(ValueError, match="3-D"):
        train(np.zeros((4, 6), np.float32), run, cfg, tc)
    with pytest.raises(ValueError, match="empty"):
        train(np.zeros((0, 5, 6), np.float32), run, cfg, tc)
    bad = small_data()
    bad[3, 2, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or Inf \(instance 3\)"):
        train(bad, run, cfg, tc)
    with pytest.raises(ValueError, match="empty"):
        train([], run, cfg, tc)
    with pytest.raises(ValueError, match="same number of features"):
        train([np.zeros((3, 6), np.float32), np.zeros((3, 5), np.float32)], run, cfg, tc)
    with pytest.raises(ValueError, match=r"features\[1\] must be a non-empty 2-D"):
        train([np.zeros((3, 6), np.float32), np.zeros((0, 6), np.float32)], run, cfg, tc)
    with pytest.raises(TypeError, match="must be an array"):
        train("spectrograms.nc", run, cfg, tc)
    with pytest.raises(ValueError, match="device"):
        train(small_data(), run, cfg, tc, device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            train(small_data(), run, cfg, tc, device="cuda")
    assert not run.exists()                        # nothing was created for refused input
    with pytest.warns(RuntimeWarning, match=r"values in \[-3"):
        train(small_data() * 3, run, AutoencoderConfig(num_features=6, num_units=3), tc,
              progress=False)
    with pytest.raises(ValueError, match="learning_rate"):
        TrainingConfig(learning_rate=0)
    with pytest.raises(ValueError, match="unknown TrainingConfig"):
        TrainingConfig.from_dict({"epochs": 3})


def test_diverging_loss_stops_with_a_clear_error(tmp_path, monkeypatch):
    from rae_fast.model import training

    monkeypatch.setattr(training, "rmse", lambda *a, **k: torch.tensor(float("nan"),
                                                                        requires_grad=True))
    with pytest.raises(ValueError, match="loss became nan at epoch 1, step 1"):
        train(small_data(), tmp_path / "r", AutoencoderConfig(num_features=6),
              TrainingConfig(num_epochs=1), progress=False)


def test_variable_length_instances_train_with_padding_and_lengths(tmp_path):
    rng = np.random.default_rng(0)
    seqs = [np.tanh(rng.standard_normal((int(n), 6))).astype(np.float32)
            for n in rng.integers(3, 15, size=10)]
    r = train(seqs, tmp_path / "r", AutoencoderConfig(num_features=6, num_units=8, dropout=0.0),
              TrainingConfig(num_epochs=15, batch_size=4, learning_rate=1e-2), progress=False)
    assert r.losses[-1] < r.losses[0]
    cfg = __import__("json").loads((r.run_dir / "config.json").read_text())
    assert cfg["feature_shape"] is None and cfg["n_instances"] == 10


def test_progress_bar_and_tensorboard_logging(tmp_path, monkeypatch, capsys):
    logged = []

    class FakeWriter:
        def __init__(self, log_dir):
            self.log_dir = log_dir

        def add_scalar(self, tag, value, step):
            logged.append((tag, float(value), step))

        def flush(self):
            pass

        def close(self):
            logged.append(("closed", 0.0, 0))

    fake = types.ModuleType("torch.utils.tensorboard")
    fake.SummaryWriter = FakeWriter
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", fake)
    r = train(small_data(), tmp_path / "r", AutoencoderConfig(num_features=6, num_units=4),
              TrainingConfig(num_epochs=2, batch_size=5), progress=True)
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "loss=" in err
    steps = [v for tag, v, s in logged if tag == "loss/step"]
    epochs = [(v, s) for tag, v, s in logged if tag == "loss/epoch"]
    assert len(steps) == 2 * 3 and [s for _, s in epochs] == [1, 2]
    assert [v for v, _ in epochs] == pytest.approx(r.losses, rel=1e-6)
    assert logged[-1][0] == "closed"


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError):
        resolve_device("gpu0")
    with pytest.raises(TypeError):
        resolve_device(3)


@pytest.mark.gpu
def test_cuda_training_matches_cpu_closely(tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU visible to PyTorch")
    x = small_data()
    cfg = AutoencoderConfig(num_features=6, num_units=8, dropout=0.0)
    tc = TrainingConfig(num_epochs=2, batch_size=4)
    gpu = train(x, tmp_path / "g", cfg, tc, device="cuda", progress=False)
    cpu = train(x, tmp_path / "c", cfg, tc, device="cpu", progress=False)
    assert next(gpu.model.parameters()).is_cuda
    assert gpu.losses == pytest.approx(cpu.losses, rel=1e-3)
    resumed = train(x, tmp_path / "g", training_config=tc.replace(num_epochs=3), resume=True,
                    device="cuda", progress=False)
    assert resumed.epoch == 3


# ------------------------------------------------------------- failures while resuming

def _three_epochs(tmp_path, name="run", keep=None):
    x = small_data()
    cfg = AutoencoderConfig(num_features=6, **TINY)
    tc = TrainingConfig(num_epochs=3, batch_size=5, seed=3)
    return x, cfg, tc, train(x, tmp_path / name, cfg, tc, progress=False, keep_checkpoints=keep)


@pytest.mark.parametrize("cut", [0, 1, 100, 0.5, -1])
def test_resume_falls_back_past_a_truncated_newest_checkpoint(tmp_path, caplog, cut):
    """A newest checkpoint cut short (a full disk, a crash, a bad copy) is skipped with a
    warning naming it; training continues from the newest intact one and ends bit-identical
    to an uninterrupted run."""
    x, cfg, tc, full = _three_epochs(tmp_path, "full")
    run = tmp_path / "run"
    train(x, run, cfg, tc, progress=False)
    newest = run / "checkpoints" / "epoch_0003.pt"
    data = newest.read_bytes()
    size = int(len(data) * cut) if isinstance(cut, float) else (cut if cut >= 0
                                                                else len(data) + cut)
    newest.write_bytes(data[:size])
    config_before = (run / "config.json").read_bytes()
    with caplog.at_level("WARNING", logger="rae_fast.model.training"):
        r = train(x, run, resume=True, progress=False)
    warned = " ".join(rec.getMessage() for rec in caplog.records if rec.levelname == "WARNING")
    assert f"skipping checkpoint {newest}" in warned
    assert "continuing from" in warned and "epoch_0002.pt" in warned
    assert r.epoch == 3
    _assert_same_weights(_state(r), _state(full))
    assert r.losses == full.losses
    assert load_checkpoint(newest)["epoch"] == 3                    # rewritten, intact
    assert (run / "config.json").read_bytes() == config_before     # same settings


def test_failed_resume_leaves_config_json_as_it_was(tmp_path, monkeypatch):
    import errno

    from rae_fast._io import WriteError
    from rae_fast.model import checkpoints

    x, cfg, tc, _ = _three_epochs(tmp_path)
    run = tmp_path / "run"
    config_before = (run / "config.json").read_bytes()
    # 1. a full disk when the first new checkpoint is written
    real = checkpoints.atomic_path

    def full(path, *a, **kw):
        raise WriteError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(checkpoints, "atomic_path", full)
    with pytest.raises(WriteError, match="epoch_0004.pt"):
        train(x, run, training_config=tc.replace(num_epochs=5), resume=True, progress=False,
              run_info={"inputs": ["other.nc"]})
    assert (run / "config.json").read_bytes() == config_before
    assert [e for e, _ in list_checkpoints(run)] == [1, 2, 3]
    monkeypatch.setattr(checkpoints, "atomic_path", real)
    # 2. no usable checkpoint at all
    for _, p in list_checkpoints(run):
        p.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"holds no usable checkpoint \(unreadable: "
                                         r"epoch_0003.pt, epoch_0002.pt, epoch_0001.pt\)"):
        train(x, run, training_config=tc.replace(num_epochs=5), resume=True, progress=False)
    assert (run / "config.json").read_bytes() == config_before
    # 3. once the first new checkpoint is written, the new settings are recorded
    x2, cfg2, tc2, _ = _three_epochs(tmp_path, "ok")
    train(x2, tmp_path / "ok", training_config=tc2.replace(num_epochs=4), resume=True,
          progress=False)
    saved = __import__("json").loads((tmp_path / "ok" / "config.json").read_text())
    assert saved["training"]["num_epochs"] == 4


def test_loss_log_row_lost_to_a_full_disk_comes_back_from_the_checkpoint(tmp_path,
                                                                         monkeypatch):
    import errno

    from rae_fast._io import WriteError
    from rae_fast.model import training

    x, cfg, tc, full = _three_epochs(tmp_path, "full")
    real = training._write_loss_log

    def full_at_epoch_2(path, rows):
        if len(rows) == 2:
            raise WriteError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, rows)

    monkeypatch.setattr(training, "_write_loss_log", full_at_epoch_2)
    with pytest.raises(WriteError):
        train(x, tmp_path / "run", cfg, tc, progress=False)
    monkeypatch.setattr(training, "_write_loss_log", real)
    assert [e for e, _ in list_checkpoints(tmp_path / "run")] == [1, 2]
    r = train(x, tmp_path / "run", resume=True, progress=False)
    assert r.losses == full.losses
    rows = list(csv.DictReader(open(tmp_path / "run" / "loss.csv")))
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3]


def test_new_run_stopped_in_its_first_epoch_leaves_nothing(tmp_path, monkeypatch):
    from rae_fast.model import training

    x = small_data()
    cfg = AutoencoderConfig(num_features=6, num_units=4)
    tc = TrainingConfig(num_epochs=1, batch_size=6)
    real = training._train_epoch

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "_train_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(x, tmp_path / "a" / "run", cfg, tc, progress=False)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(training, "_train_epoch", real)
    assert train(x, tmp_path / "a" / "run", cfg, tc, progress=False).epoch == 1
    # a run folder holding only config.json (stopped before its first checkpoint by an
    # older version) is started again rather than refused
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "config.json").write_text("{}")
    assert train(x, tmp_path / "b", cfg, tc, progress=False).epoch == 1
    with pytest.raises(FileExistsError, match="already holds a training run"):
        train(x, tmp_path / "b", cfg, tc, progress=False)
