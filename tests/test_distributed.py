"""rae_fast.distributed on a real local Ray cluster (a head node and a second worker node on
loopback, tests/_ray_cluster.py): the batch stages give byte-identical outputs to one machine,
a killed worker process is retried, an interrupted driver resumes, bad input fails clearly.

This is the short subset of the default run (marker ``ray``); the longer tests are in
tests/test_distributed_full.py (``python -m pytest -m ray_full``).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray")

from rae_fast import distributed as dist  # noqa: E402
from rae_fast.audio import AudioError  # noqa: E402
from rae_fast.dataset import load  # noqa: E402
from rae_fast.preprocessing import FeatureSettings, preprocess  # noqa: E402

from _ray_cluster import (BLOCK_RAE_FAST, assert_same_file, free_port,  # noqa: E402
                          rae_fast_cli, worker_pids)

pytestmark = pytest.mark.ray

SETTINGS = FeatureSettings(window_width=0.04, window_overlap=0.02, mel_bands=32,
                           fixed_length=1.0, clip_below=-60.0)


# --------------------------------------------------------------------- same bytes as one machine

def test_preprocess_on_ray_is_byte_identical_to_one_machine(ray_cluster, make_collection,
                                                            tmp_path):
    base, rows = make_collection("esc", per_label=5, duration=1.2)
    ref = preprocess(base, tmp_path / "ref.nc", SETTINGS, workers=2, progress=False)
    with dist.connect(ray_cluster.address) as cluster:
        assert len(cluster.nodes) == 2 and cluster.num_cpus == 2
        res = dist.preprocess(base, tmp_path / "ray.nc", SETTINGS, cluster=cluster,
                              block_size=2, progress=False)
    assert (res.n_instances, res.n_files) == (ref.n_instances, ref.n_files) == (15, 15)
    assert_same_file(ref.path, res.path)
    assert not Path(str(res.path) + ".partial").exists()


def test_autocorrelogram_on_ray_writes_the_same_files(ray_cluster, make_collection, tmp_path):
    from rae_fast.autocorr_files import AutocorrelogramSettings, write_autocorrelograms

    base, _ = make_collection("class_folders", per_label=2, duration=0.5)
    s = AutocorrelogramSettings(frame_length=512, hop_length=256, max_lag=128)
    write_autocorrelograms([base], tmp_path / "ref", s, formats=("npy", "obj"), workers=2,
                           progress=False)
    res = dist.write_autocorrelograms([base], tmp_path / "ray", s, formats=("npy", "obj"),
                                      address=ray_cluster.address, progress=False)
    assert res.n_written == 6
    ref_files = sorted(p.relative_to(tmp_path / "ref") for p in (tmp_path / "ref").rglob("*")
                       if p.is_file())
    ray_files = sorted(p.relative_to(tmp_path / "ray") for p in (tmp_path / "ray").rglob("*")
                       if p.is_file())
    assert ref_files == ray_files and len(ref_files) == 1 + 6 * 3
    for rel in ref_files:
        if rel.suffix == ".npz":            # a zip archive: compare its arrays
            a, b = np.load(tmp_path / "ref" / rel), np.load(tmp_path / "ray" / rel)
            assert all(a[k].tobytes() == b[k].tobytes() for k in a.files)
        else:
            assert (tmp_path / "ref" / rel).read_bytes() == (tmp_path / "ray" / rel).read_bytes()


def test_generate_on_ray_is_byte_identical(ray_cluster, tmp_path):
    pytest.importorskip("onnxruntime")
    torch = pytest.importorskip("torch")
    from rae_fast.dataset import DataSet, save
    from rae_fast.inference import generate
    from rae_fast.model import AutoencoderConfig, RecurrentAutoencoder, export_encoder

    torch.manual_seed(0)
    model = RecurrentAutoencoder(AutoencoderConfig(num_features=6, num_layers=2, num_units=5,
                                                   bidirectional_encoder=True)).eval()
    enc = export_encoder(model, tmp_path / "encoder.onnx")
    rng = np.random.default_rng(0)
    n = 23
    save(DataSet(np.tanh(rng.standard_normal((n, 9, 6))).astype(np.float32), ("time", "freq"),
                 [f"f{i:02d}.wav" for i in range(n)], chunk_nr=rng.integers(0, 3, n),
                 label_nominal=[["a", "b"][i % 2] for i in range(n)],
                 cv_folds=rng.integers(0, 2, (n, 2)), partition=rng.integers(0, 3, n)),
         tmp_path / "specs.nc")
    generate(enc, tmp_path / "specs.nc", tmp_path / "ref.nc", batch_size=5, n_threads=2,
             progress=False)
    dist.generate(enc, tmp_path / "specs.nc", tmp_path / "ray.nc", batch_size=5,
                  address=ray_cluster.address, progress=False)
    assert_same_file(tmp_path / "ref.nc", tmp_path / "ray.nc")


def test_embed_on_ray_is_byte_identical(ray_cluster, make_collection, tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from rae_fast.embedding import Embedder, embed_to_file
    from rae_fast.model import AutoencoderConfig, TrainingConfig, export_encoder, train
    from rae_fast.preprocessing import FrontEnd

    base, _ = make_collection("class_folders", per_label=3, duration=1.5)
    s = FeatureSettings(window_width=0.04, window_overlap=0.02, mel_bands=16, fixed_length=0.5)
    preprocess(base, tmp_path / "feat.nc", s, workers=2, progress=False)
    ds = load(tmp_path / "feat.nc")
    fe = FrontEnd.from_dataset(ds.attrs, ds.feature_dims, ds.feature_shape)
    torch.manual_seed(0)
    train(ds.features, tmp_path / "run", AutoencoderConfig(num_features=16, num_units=6),
          TrainingConfig(num_epochs=1, batch_size=4), progress=False, tensorboard=False,
          run_info={"frontend": fe.to_dict()})
    enc = export_encoder(tmp_path / "run", tmp_path / "encoder.onnx")
    with dist.connect(ray_cluster.address) as cluster:
        for name, kw in (("windows", dict(hop=0.25)), ("mean", dict(aggregate="mean+std"))):
            with Embedder(enc, n_threads=2, batch_size=5) as emb:
                embed_to_file(emb, [base], tmp_path / f"ref-{name}.nc", progress=False, **kw)
                embed_to_file(emb, [base], tmp_path / f"ref-{name}.csv", progress=False, **kw)
            dist.embed(enc, [base], tmp_path / f"ray-{name}.nc", batch_size=5,
                       cluster=cluster, block_size=2, progress=False, **kw)
            dist.embed(enc, [base], tmp_path / f"ray-{name}.csv", batch_size=5,
                       cluster=cluster, progress=False, **kw)
            assert_same_file(tmp_path / f"ref-{name}.nc", tmp_path / f"ray-{name}.nc")
            assert (tmp_path / f"ref-{name}.csv").read_bytes() == \
                (tmp_path / f"ray-{name}.csv").read_bytes()
    assert len(load(tmp_path / "ray-windows.nc")) > 9         # several windows per file


def test_evaluate_on_ray_equals_the_local_run(ray_cluster, make_dataset):
    pytest.importorskip("torch")
    from rae_fast.evaluation import cross_validate

    ds = make_dataset(n=36, feature_shape=(6,), n_labels=3, n_folds=4, seed=2)
    with dist.connect(ray_cluster.address) as cluster:
        for clf, params in (("svm", {"C": 0.5}), ("mlp", {"epochs": 15, "hidden_units": 8})):
            local = cross_validate(ds, clf, repeat=2, seed=7, n_jobs=2, **params)
            remote = dist.cross_validate(ds, clf, repeat=2, seed=7, cluster=cluster, **params)
            assert local.accuracies.shape == (2, 4)
            assert np.array_equal(local.accuracies, remote.accuracies)
            assert np.array_equal(local.uars, remote.uars)
            assert np.array_equal(local.confusion_matrices, remote.confusion_matrices)


# ---------------------------------------------------------------------------------- faults

def test_a_killed_worker_process_is_retried_and_every_instance_written_once(
        ray_cluster, make_collection, tmp_path):
    base, _ = make_collection("esc", per_label=8, duration=4.0, sr=22050)
    settings = FeatureSettings(window_width=0.04, window_overlap=0.02, mel_bands=64,
                               fixed_length=4.0)
    ref = preprocess(base, tmp_path / "ref.nc", settings, workers=2, progress=False)
    killed = []
    stop = threading.Event()

    def killer():                   # SIGKILL the first worker process caught inside a task
        while not stop.is_set() and not killed:
            for pid in worker_pids("rae_fast._features_or_error"):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    continue
                killed.append(pid)
                return
            time.sleep(0.002)

    with dist.connect(ray_cluster.address) as cluster:
        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        try:
            res = dist.preprocess(base, tmp_path / "ray.nc", settings, cluster=cluster,
                                  block_size=2, progress=False)
        finally:
            stop.set()
            thread.join()
    assert killed, "no worker process was caught running a task"
    with pytest.raises(OSError):
        os.kill(killed[0], 0)                       # it really died
    assert res.n_instances == ref.n_instances == 24
    out = load(res.path)
    assert len(set(out.filenames.tolist())) == len(out) == 24
    assert_same_file(ref.path, res.path)


def test_interrupted_driver_leaves_no_output_and_a_rerun_resumes(ray_cluster, make_collection,
                                                                 tmp_path):
    # 60 clips of 8 s with 10 ms windows: 800 kB of features each, so that the driver's writer
    # has flushed some files to OUTPUT.partial (every 8 MiB) well before the end
    base, _ = make_collection("esc", labels=("a", "b", "c", "d", "e"), per_label=12,
                              duration=8.0)
    args = ["preprocess", "--basedir", base, "--window-width", "0.01", "--window-overlap",
            "0.005", "--mel-spectrum", "128", "--fixed-length", "8", "--quiet"]
    ref = tmp_path / "ref.nc"
    assert rae_fast_cli(*args, "--output", ref, "--workers", "2").returncode == 0
    out = tmp_path / "ray.nc"
    partial = Path(str(out) + ".partial")
    cmd = [sys.executable, "-m", "rae_fast", *map(str, args), "--output", str(out), "--ray",
           ray_cluster.address, "--block-size", "1"]
    proc = subprocess.Popen(cmd, env=ray_cluster.env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if partial.exists() and partial.stat().st_size > 4 << 20:    # a first flush
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err and "Traceback" not in err
    assert not out.exists() and partial.exists()
    again = rae_fast_cli(*args, "--output", out, "--ray", ray_cluster.address,
                         env=ray_cluster.env())
    assert again.returncode == 0, again.stderr
    resumed = int(again.stdout.split("resumed after ")[1].split()[0])
    assert 0 < resumed < 60
    assert not partial.exists()
    assert_same_file(ref, out)


# ------------------------------------------------------------------------------- bad input

def test_an_unreachable_address_fails_fast_and_clearly(make_collection, tmp_path):
    base, _ = make_collection("esc", per_label=1, duration=0.5)
    port = free_port()
    t0 = time.monotonic()
    res = rae_fast_cli("preprocess", "--basedir", base, "--output", tmp_path / "o.nc", "--ray",
                       f"127.0.0.1:{port}", "--quiet", timeout=120)
    assert res.returncode == 2
    assert f"--ray '127.0.0.1:{port}': no Ray cluster answers there" in res.stderr
    assert "Traceback" not in res.stderr
    assert time.monotonic() - t0 < 60
    assert list(tmp_path.glob("o.nc*")) == []


def test_a_file_failing_on_a_worker_is_named(ray_cluster, make_collection, tmp_path):
    import soundfile as sf

    base, rows = make_collection("esc", per_label=2, duration=1.0)
    # a float WAV holding NaN: its header is fine, decoding it on a worker fails
    bad = base / Path(rows[2]["filename"]).with_name("9-999-A.wav")
    y = np.zeros(16000, np.float32)
    y[100] = np.nan
    sf.write(str(bad), y, 16000, subtype="FLOAT")
    with dist.connect(ray_cluster.address) as cluster:
        with pytest.raises(AudioError, match="9-999-A.wav"):
            dist.preprocess(base, tmp_path / "o.nc", SETTINGS, cluster=cluster, block_size=1,
                            progress=False)
        assert not (tmp_path / "o.nc").exists()
        res = dist.preprocess(base, tmp_path / "o.nc", SETTINGS, cluster=cluster,
                              skip_bad=True, progress=False)
    assert [name for name, _ in res.skipped] == [str(bad.relative_to(base).as_posix())]
    ref = preprocess(base, tmp_path / "ref.nc", SETTINGS, skip_bad=True, progress=False)
    assert_same_file(ref.path, res.path)


def test_a_node_that_cannot_import_rae_fast_is_named_before_any_work(ray_cluster,
                                                                    make_collection, tmp_path):
    base, _ = make_collection("esc", per_label=1, duration=0.5)
    node = ray_cluster.add_node(sitecustomize=BLOCK_RAE_FAST)
    try:
        with pytest.raises(dist.ClusterError, match=r"cannot import rae_fast \(Module"):
            dist.preprocess(base, tmp_path / "o.nc", SETTINGS, address=ray_cluster.address,
                            progress=False)
    finally:
        ray_cluster.remove_node(node)
    assert list(tmp_path.glob("o.nc*")) == []


# -------------------------------------------------------------------------------- optional

def test_ray_is_imported_only_when_asked():
    code = ("import sys, rae_fast.cli, rae_fast.distributed, rae_fast.preprocessing, "
            "rae_fast.inference, rae_fast.evaluation, rae_fast.autocorr_files\n"
            "rae_fast.cli.build_parser()\n"
            "assert 'ray' not in sys.modules, sorted(m for m in sys.modules if 'ray' in m)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr


def test_cli_refuses_mixed_options(tmp_path):
    res = rae_fast_cli("preprocess", "--basedir", tmp_path, "--output", tmp_path / "o.nc",
                       "--ray", "local", "--workers", "2", "--quiet")
    assert res.returncode == 2 and "--workers applies without --ray" in res.stderr
    res = rae_fast_cli("preprocess", "--basedir", tmp_path, "--output", tmp_path / "o.nc",
                       "--block-size", "2", "--quiet")
    assert res.returncode == 2 and "--block-size applies with --ray" in res.stderr
