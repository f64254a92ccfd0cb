"""The longer tests of rae_fast.distributed on a local two-node Ray cluster (marker ``ray_full``,
not in the default run): ``python -m pytest -m ray_full``.

ESC-10 through Ray byte for byte, a node with another rae_fast version, the command line with
``--ray auto`` / ``local`` / a bad node, generate and evaluate from the command line, a killed
worker during generate, training with Ray Train.
"""
from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

pytest.importorskip("ray")

from rae_fast import distributed as dist  # noqa: E402
from rae_fast.preprocessing import FeatureSettings, preprocess  # noqa: E402

from _ray_cluster import (BLOCK_RAE_FAST, OTHER_VERSION, _pids_with,  # noqa: E402
                          assert_same_file, rae_fast_cli, worker_pids)

pytestmark = [pytest.mark.ray, pytest.mark.ray_full]

#: auDeep's ESC-10 settings (the README's recipe)
ESC_SETTINGS = FeatureSettings(window_width=0.08, window_overlap=0.04, mel_bands=128,
                               clip_below=-60.0, fixed_length=5.0, center_fixed=True)


def test_esc10_on_ray_is_byte_identical_to_preprocess_workers_2(ray_cluster, esc10_path,
                                                               tmp_path):
    ref = preprocess(esc10_path, tmp_path / "ref.nc", ESC_SETTINGS, workers=2, progress=False)
    res = dist.preprocess(esc10_path, tmp_path / "ray.nc", ESC_SETTINGS,
                          address=ray_cluster.address, progress=False)
    assert res.n_instances == ref.n_instances == 400
    assert_same_file(ref.path, res.path)


def test_a_node_with_another_rae_fast_version_is_refused(ray_cluster, make_collection,
                                                         tmp_path):
    base, _ = make_collection("esc", per_label=1, duration=0.5)
    node = ray_cluster.add_node(sitecustomize=OTHER_VERSION)
    try:
        with pytest.raises(dist.ClusterError, match=r"run rae_fast 0\.0\.1, this process runs"):
            dist.connect(ray_cluster.address)
        res = rae_fast_cli("preprocess", "--basedir", base, "--output", tmp_path / "o.nc",
                           "--ray", ray_cluster.address, "--quiet", env=ray_cluster.env())
    finally:
        ray_cluster.remove_node(node)
    assert res.returncode == 2, res.stderr
    assert "cannot run rae_fast on every node" in res.stderr and "0.0.1" in res.stderr
    assert "Traceback" not in res.stderr
    assert list(tmp_path.glob("o.nc*")) == []


def test_cli_names_a_node_without_rae_fast(ray_cluster, make_collection, tmp_path):
    base, _ = make_collection("esc", per_label=1, duration=0.5)
    node = ray_cluster.add_node(sitecustomize=BLOCK_RAE_FAST)
    try:
        res = rae_fast_cli("preprocess", "--basedir", base, "--output", tmp_path / "o.nc",
                           "--ray", ray_cluster.address, "--quiet", env=ray_cluster.env())
    finally:
        ray_cluster.remove_node(node)
    assert res.returncode == 2
    assert "its workers cannot import rae_fast (ModuleNotFoundError" in res.stderr
    assert list(tmp_path.glob("o.nc*")) == []


def test_cli_ray_auto_and_local(ray_cluster, make_collection, tmp_path):
    base, _ = make_collection("esc", per_label=2, duration=1.0)
    args = ["preprocess", "--basedir", base, "--window-width", "0.04", "--window-overlap",
            "0.02", "--mel-spectrum", "32", "--fixed-length", "1", "--quiet"]
    assert rae_fast_cli(*args, "--output", tmp_path / "ref.nc").returncode == 0
    env = dict(ray_cluster.env(), RAY_ADDRESS=ray_cluster.address)
    res = rae_fast_cli(*args, "--output", tmp_path / "auto.nc", "--ray", "auto", env=env)
    assert res.returncode == 0, res.stderr
    assert_same_file(tmp_path / "ref.nc", tmp_path / "auto.nc")
    # local: a cluster of its own, started and stopped by the command
    with dist.connect("local", num_cpus=1) as own:
        assert own.started_cluster and own.num_cpus == 1 and len(own.nodes) == 1
    env = {k: v for k, v in ray_cluster.env().items() if k != "RAY_ADDRESS"}
    before = set(_pids_with("raylet"))
    res = rae_fast_cli(*args, "--output", tmp_path / "local.nc", "--ray", "local", env=env)
    assert res.returncode == 0, res.stderr
    assert_same_file(tmp_path / "ref.nc", tmp_path / "local.nc")
    deadline = time.monotonic() + 30
    while set(_pids_with("raylet")) - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not set(_pids_with("raylet")) - before


def _encoder_and_specs(tmp_path, n=60):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from rae_fast.dataset import DataSet, save
    from rae_fast.model import AutoencoderConfig, RecurrentAutoencoder, export_encoder

    torch.manual_seed(0)
    model = RecurrentAutoencoder(AutoencoderConfig(num_features=16, num_layers=2,
                                                   num_units=32)).eval()
    enc = export_encoder(model, tmp_path / "encoder.onnx")
    rng = np.random.default_rng(1)
    labels = [["a", "b", "c"][i % 3] for i in range(n)]
    folds = np.zeros((n, 3), np.int8)
    folds[np.arange(n), (np.arange(n) // 3) % 3] = 1
    save(DataSet(np.tanh(rng.standard_normal((n, 40, 16))).astype(np.float32),
                 ("time", "freq"), [f"f{i:03d}.wav" for i in range(n)], label_nominal=labels,
                 cv_folds=folds), tmp_path / "specs.nc")
    return enc, tmp_path / "specs.nc"


def test_cli_generate_and_evaluate_on_ray(ray_cluster, tmp_path):
    enc, specs = _encoder_and_specs(tmp_path)
    env = ray_cluster.env()
    common = ["--model", enc, "--input", specs, "--batch-size", "7", "--quiet"]
    assert rae_fast_cli("generate", *common, "--output", tmp_path / "ref.nc",
                        "--threads", "2").returncode == 0
    res = rae_fast_cli("generate", *common, "--output", tmp_path / "ray.nc", "--ray",
                       ray_cluster.address, env=env)
    assert res.returncode == 0, res.stderr
    assert_same_file(tmp_path / "ref.nc", tmp_path / "ray.nc")
    ev = ["evaluate", "--input", tmp_path / "ray.nc", "--cross-validate", "--classifier",
          "mlp", "--num-epochs", "20", "--repeat", "2", "--brief"]
    local = rae_fast_cli(*ev, "--jobs", "2")
    remote = rae_fast_cli(*ev, "--ray", ray_cluster.address, env=env)
    assert local.returncode == remote.returncode == 0, remote.stderr
    assert local.stdout == remote.stdout


def test_a_worker_killed_during_generate_is_retried(ray_cluster, tmp_path):
    from rae_fast.inference import generate

    enc, specs = _encoder_and_specs(tmp_path, n=400)
    generate(enc, specs, tmp_path / "ref.nc", batch_size=10, progress=False)
    killed = []
    stop = threading.Event()

    def killer():
        while not stop.is_set() and not killed:
            for pid in worker_pids("rae_fast._encode_range"):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    continue
                killed.append(pid)
                return
            time.sleep(0.002)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        dist.generate(enc, specs, tmp_path / "ray.nc", batch_size=10,
                      address=ray_cluster.address, progress=False)
    finally:
        stop.set()
        thread.join()
    assert killed
    assert_same_file(tmp_path / "ref.nc", tmp_path / "ray.nc")


def test_ray_train_matches_local_processes_and_continues(ray_cluster, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("ray.train")
    from rae_fast.model import AutoencoderConfig, TrainingConfig
    from rae_fast.model.parallel import train_parallel

    rng = np.random.default_rng(0)
    x = np.tanh(rng.standard_normal((64, 12, 10))).astype(np.float32)
    cfg = AutoencoderConfig(num_features=10, num_layers=2, num_units=16, dropout=0.0,
                            bidirectional_decoder=True)
    tc = TrainingConfig(num_epochs=2, batch_size=16, seed=4)
    local = train_parallel(x, tmp_path / "local", cfg, tc, num_workers=2, n_threads=1,
                           progress=False, tensorboard=False)
    remote = dist.train(x, tmp_path / "ray", cfg, tc, num_workers=2, n_threads=1,
                        address=ray_cluster.address, progress=False, tensorboard=False)
    assert remote.losses == local.losses
    with pytest.raises(FileExistsError):
        dist.train(x, tmp_path / "ray", cfg, tc, num_workers=2, address=ray_cluster.address)
    more = dist.train(x, tmp_path / "ray", None, tc.replace(num_epochs=3), num_workers=2,
                      resume=True, address=ray_cluster.address, progress=False,
                      tensorboard=False)
    assert more.epoch == 3 and more.losses[:2] == local.losses
    assert not (tmp_path / "ray" / ".ray_train").exists()
