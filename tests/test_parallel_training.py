"""Data-parallel training (rae_fast.model.parallel): N processes with DistributedDataParallel
(gloo) follow the one-process loss curve, rank 0 alone writes the run, --continue works with N
processes. The longer cases (exact resume with dropout, Ray Train, errors) are marked
``ray_full`` (``python -m pytest -m ray_full``)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rae_fast.model import AutoencoderConfig, TrainingConfig, train  # noqa: E402
from rae_fast.model.parallel import train_parallel  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: Largest relative difference per epoch between the loss curves of 1 and 2 processes without
#: dropout/noise (only the order of floating-point sums differs); measured ~1e-7.
CURVE_RTOL = 1e-5


def data(n=80, t=12, f=10, seed=0):
    rng = np.random.default_rng(seed)
    return np.tanh(rng.standard_normal((n, t, f))).astype(np.float32)


def config(dropout=0.0):
    return AutoencoderConfig(num_features=10, num_layers=2, num_units=16, dropout=dropout,
                             bidirectional_decoder=True)


def test_two_processes_follow_the_one_process_loss_curve(tmp_path):
    x = data()
    tc = TrainingConfig(num_epochs=3, batch_size=24, seed=5)   # last batch of 8: 4 per rank
    one = train(x, tmp_path / "one", config(), tc, progress=False, tensorboard=False)
    two = train_parallel(x, tmp_path / "two", config(), tc, num_workers=2, progress=False,
                         tensorboard=False, keep_checkpoints=2)
    assert len(one.losses) == len(two.losses) == 3
    np.testing.assert_allclose(two.losses, one.losses, rtol=CURVE_RTOL)
    a, b = one.model.state_dict(), two.model.state_dict()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-4
    # rank 0 alone wrote the run: one config, one loss log, the kept checkpoints
    cfg = json.loads((tmp_path / "two" / "config.json").read_text())
    assert cfg["data_parallel"] == {"world_size": 2, "backend": "gloo"}
    assert cfg["training"]["batch_size"] == 24
    assert sorted(p.name for p in (tmp_path / "two" / "checkpoints").iterdir()) == \
        ["epoch_0002.pt", "epoch_0003.pt"]
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == \
        ["checkpoints", "config.json", "loss.csv"]


@pytest.mark.ray_full
def test_continue_with_two_processes_equals_an_uninterrupted_run(tmp_path):
    """With dropout, each rank's random stream is saved in the checkpoints: continuing with the
    same number of processes gives the very weights of an uninterrupted run."""
    x = data()
    full = train_parallel(x, tmp_path / "full", config(0.2),
                          TrainingConfig(num_epochs=3, batch_size=24, seed=1), num_workers=2,
                          progress=False, tensorboard=False)
    train_parallel(x, tmp_path / "cut", config(0.2),
                   TrainingConfig(num_epochs=1, batch_size=24, seed=1), num_workers=2,
                   progress=False, tensorboard=False)
    cont = train_parallel(x, tmp_path / "cut", None,
                          TrainingConfig(num_epochs=3, batch_size=24, seed=1), num_workers=2,
                          resume=True, progress=False, tensorboard=False)
    assert cont.losses == full.losses
    a, b = full.model.state_dict(), cont.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.ray_full
def test_cli_train_with_workers_and_continue(tmp_path):
    from rae_fast.dataset import DataSet, save

    x = data(n=40)
    save(DataSet(x, ("time", "freq"), [f"f{i}.wav" for i in range(40)]), tmp_path / "x.nc")

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "rae_fast", "train", "--input",
                               str(tmp_path / "x.nc"), "--run-dir", str(tmp_path / "run"),
                               "--quiet", *args], capture_output=True, text=True, timeout=600)

    res = cli("--num-units", "8", "--num-epochs", "1", "--batch-size", "16", "--num-workers",
              "2")
    assert res.returncode == 0, res.stderr
    assert "with 2 processes" in res.stdout
    res = cli("--num-epochs", "2", "--continue", "--num-workers", "2")
    assert res.returncode == 0, res.stderr
    lines = (tmp_path / "run" / "loss.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines] == ["epoch", "1", "2"]
    # another number of processes continues too (fresh random streams, logged)
    res = cli("--num-epochs", "3", "--continue", "--num-workers", "1")
    assert res.returncode == 0, res.stderr


@pytest.mark.ray_full
def test_an_error_in_a_training_process_is_raised_as_itself(tmp_path):
    x = data()
    with pytest.raises(ValueError, match="num_features=12"):
        train_parallel(x, tmp_path / "run", config().replace(num_features=12),
                       TrainingConfig(num_epochs=1), num_workers=2, progress=False)
    train_parallel(x, tmp_path / "run2", config(), TrainingConfig(num_epochs=1),
                   num_workers=2, progress=False, tensorboard=False)
    with pytest.raises(FileExistsError, match="already holds a training run"):
        train_parallel(x, tmp_path / "run2", config(), TrainingConfig(num_epochs=1),
                       num_workers=2, progress=False)
