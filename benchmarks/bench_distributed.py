"""Past one machine (issue 15): ``preprocess`` on a local Ray cluster against ``preprocess
--workers 2``, the driver's memory, and data-parallel training against one process.

Run with (takes about 15 minutes on 2 cores)::

    python -m pytest benchmarks/bench_distributed.py --benchmark-only -s \\
        --benchmark-columns=min,mean,max,rounds --benchmark-json=distributed.json

Groups (compare rows within a group; ``extra_info`` holds the figures of docs/scale.md):

``preprocess ESC-10 x10 (4000 clips)``
    fresh ``python -m rae_fast preprocess`` processes with auDeep's ESC-10 settings on a folder
    of 4000 symbolic links (ESC-10 ten times): ``--workers 2`` and ``--workers 1`` (threads, no
    Ray), ``--ray ADDRESS`` on a local cluster of one node (1 worker) and of two nodes (head +
    a second worker node on loopback, 1 CPU each, tests/_ray_cluster.py), and the same work
    written with ``ray.data`` (``map_batches`` in order, ``iter_batches`` into the writer) as a
    peer. ``clips_per_s``; ``peak_rss_mib`` is the driver's peak resident memory (the Ray
    workers are other processes).
``preprocess driver memory (400 clips)``, ``(12000 clips)``
    the same commands on ESC-10 itself and thirty times: with the 4000-clip rows, the driver's
    memory as the collection grows thirty times.
``preprocess 4000 clips: Ray / --workers 2, interleaved``
    ``--workers 2``, ``--ray`` on the two-node cluster and ``--ray`` on a one-node cluster
    with 2 CPUs (no transfer of results between nodes) in turn, three times: per-round
    throughput ratios and their median, the CPU time per clip of the local process and of the
    Ray driver (the workers' CPU is the cluster's).
``DDP training, 2 x 256 GRU (paper)``
    ``rae-fast train``'s loop in a fresh process on 192 ESC-10-sized instances (124 x 128),
    batch 64, 2 epochs of 3 steps: one process with 2 torch threads (also with
    ``OMP_WAIT_POLICY=PASSIVE``), one process with 1 thread, and 2 processes with 1 thread each
    (DistributedDataParallel, gloo). ``s_per_step`` is the second epoch's time per step (after
    start-up); ``loss_curve`` the two epochs' losses (dropout 0.2 draws differ per rank).
``DDP all-reduce``
    inside the 2-process group (32 instances per rank): steps with DDP's gradient all-reduce
    and under ``no_sync()`` (no communication) in turn, 6 of each (medians), and a bare
    ``all_reduce`` of the gradients' size.

The machine is shared: other processes on the 2 cores distort these figures; the ratios within
one run are what counts.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
ESC10 = REPO.parent / "shared" / "data" / "esc10"
CLI_ARGS = ["--window-width", "0.08", "--window-overlap", "0.04", "--mel-spectrum", "128",
            "--fixed-length", "5", "--center-fixed", "--clip-below", "-60", "--quiet",
            "--no-resume"]

sys.path.insert(0, str(REPO / "tests"))


@pytest.fixture(scope="module")
def esc10():
    if len(sorted(ESC10.glob("*/*.ogg"))) != 400:
        pytest.skip(f"ESC-10 not found at {ESC10}")
    return ESC10


def _repeat(esc10: Path, root: Path, times: int) -> Path:
    """ESC-10 layout with every clip linked ``times`` times (symbolic links, no copies)."""
    for d in sorted(p for p in esc10.iterdir() if p.is_dir()):
        (root / d.name).mkdir()
        for f in sorted(d.glob("*.ogg")):
            for r in range(times):
                os.symlink(f, root / d.name / f"{f.stem}-r{r}{f.suffix}")
    return root


@pytest.fixture(scope="module")
def esc10x10(esc10, tmp_path_factory):
    """ESC-10 ten times: 4000 clips."""
    return _repeat(esc10, tmp_path_factory.mktemp("esc10x10"), 10)


@pytest.fixture(scope="module")
def esc10x30(esc10, tmp_path_factory):
    """ESC-10 thirty times: 12000 clips."""
    return _repeat(esc10, tmp_path_factory.mktemp("esc10x30"), 30)


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster of one node (1 CPU); the 2-worker benchmarks add a second node."""
    pytest.importorskip("ray")
    from _ray_cluster import LocalRayCluster

    c = LocalRayCluster(n_nodes=1, object_store_mb=1024)
    try:
        yield c
    finally:
        c.stop()


def _run(cmd, env=None):
    """``(seconds, peak RSS in KiB, CPU seconds)`` of one command: its own process (and the
    processes it started and waited for; not the Ray workers, which belong to the cluster)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    out, err = proc.communicate()
    assert os.waitstatus_to_exitcode(status) == 0, err.decode()
    return seconds, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def _preprocess_cmd(basedir, out, *extra):
    return [sys.executable, "-m", "rae_fast", "preprocess", "--basedir", str(basedir),
            "--output", str(out), *CLI_ARGS, *extra]


def _bench(benchmark, group, peer, n, cmd, env=None, rounds=2):
    benchmark.group = group
    runs = []
    benchmark.pedantic(lambda: runs.append(_run(cmd, env)), rounds=rounds, iterations=1)
    best = min(r[0] for r in runs)
    benchmark.extra_info.update(peer=peer, clips=n, clips_per_s=round(n / best, 1),
                                peak_rss_mib=round(max(r[1] for r in runs) / 1024, 1),
                                process_cpu_ms_per_clip=round(min(r[2] for r in runs) / n * 1e3,
                                                              2))
    print(f"\n{group} | {peer}: {benchmark.extra_info}")


G4000 = "preprocess ESC-10 x10 (4000 clips)"
G400 = "preprocess driver memory (400 clips)"
G12000 = "preprocess driver memory (12000 clips)"


def test_local_workers_2(benchmark, esc10x10, esc10, tmp_path):
    _bench(benchmark, G4000, "rae_fast", 4000,
           _preprocess_cmd(esc10x10, tmp_path / "o.nc", "--workers", "2"))


def test_local_workers_2_400(benchmark, esc10, tmp_path):
    _bench(benchmark, G400, "rae_fast", 400,
           _preprocess_cmd(esc10, tmp_path / "o.nc", "--workers", "2"), rounds=1)


def test_local_workers_1(benchmark, esc10x10, tmp_path):
    _bench(benchmark, G4000, "--workers 1", 4000,
           _preprocess_cmd(esc10x10, tmp_path / "o.nc", "--workers", "1"), rounds=1)


def test_ray_1_worker(benchmark, cluster, esc10x10, tmp_path):
    _bench(benchmark, G4000, "ray, 1 worker", 4000,
           _preprocess_cmd(esc10x10, tmp_path / "o.nc", "--ray", cluster.address),
           env=cluster.env(), rounds=1)


def test_ray_2_workers(benchmark, cluster, esc10x10, tmp_path):
    if len(cluster.extra) == 0:
        cluster.add_node()
    _bench(benchmark, G4000, "ray, 2 workers", 4000,
           _preprocess_cmd(esc10x10, tmp_path / "o.nc", "--ray", cluster.address),
           env=cluster.env())


def test_ray_2_workers_400(benchmark, cluster, esc10, tmp_path):
    if len(cluster.extra) == 0:
        cluster.add_node()
    _bench(benchmark, G400, "ray, 2 workers", 400,
           _preprocess_cmd(esc10, tmp_path / "o.nc", "--ray", cluster.address),
           env=cluster.env(), rounds=1)


def test_local_workers_2_12000(benchmark, esc10x30, tmp_path):
    _bench(benchmark, G12000, "rae_fast", 12000,
           _preprocess_cmd(esc10x30, tmp_path / "o.nc", "--workers", "2"), rounds=1)


def test_ray_2_workers_12000(benchmark, cluster, esc10x30, tmp_path):
    if len(cluster.extra) == 0:
        cluster.add_node()
    _bench(benchmark, G12000, "ray, 2 workers", 12000,
           _preprocess_cmd(esc10x30, tmp_path / "o.nc", "--ray", cluster.address),
           env=cluster.env(), rounds=1)


@pytest.fixture
def one_node_cluster():
    """A single Ray node with 2 CPUs (no object transfer between nodes)."""
    pytest.importorskip("ray")
    from _ray_cluster import LocalRayCluster

    c = LocalRayCluster(n_nodes=1, object_store_mb=1024, head_cpus=2)
    try:
        yield c
    finally:
        c.stop()


def test_ray_vs_local_interleaved(benchmark, cluster, one_node_cluster, esc10x10, tmp_path):
    """``--workers 2``, ``--ray`` on the two 1-CPU nodes and ``--ray`` on one 2-CPU node in
    turn, 3 times each: throughput ratios robust to the load of a shared machine drifting."""
    if len(cluster.extra) == 0:
        cluster.add_node()
    benchmark.group = "preprocess 4000 clips: Ray / --workers 2, interleaved"
    cmds = {"local": (_preprocess_cmd(esc10x10, tmp_path / "a.nc", "--workers", "2"), None),
            "ray_2_nodes": (_preprocess_cmd(esc10x10, tmp_path / "b.nc", "--ray",
                                            cluster.address), cluster.env()),
            "ray_1_node": (_preprocess_cmd(esc10x10, tmp_path / "c.nc", "--ray",
                                           one_node_cluster.address), one_node_cluster.env())}
    runs = {k: [] for k in cmds}

    def go():
        for key, (cmd, env) in cmds.items():
            runs[key].append(_run(cmd, env))

    benchmark.pedantic(go, rounds=3, iterations=1)
    info = {"peer": "rae_fast"}
    for key in cmds:
        info[f"{key}_clips_per_s"] = [round(4000 / r[0], 1) for r in runs[key]]
        info[f"{key}_cpu_ms_per_clip"] = round(min(r[2] for r in runs[key]) / 4, 2)
        info[f"{key}_peak_rss_mib"] = round(max(r[1] for r in runs[key]) / 1024, 1)
        if key != "local":
            ratios = [lt[0] / rt[0] for lt, rt in zip(runs["local"], runs[key])]
            info[f"{key}_over_local"] = [round(r, 3) for r in ratios]
            info[f"{key}_over_local_median"] = round(float(np.median(ratios)), 3)
    benchmark.extra_info.update(info)
    print(f"\ninterleaved: {benchmark.extra_info}")


_RAY_DATA = r'''
import sys, numpy as np, ray
from rae_fast.dataset import DataSetWriter
from rae_fast.layouts import parse_dataset
from rae_fast.preprocessing import FeatureSettings, extract_features

S = FeatureSettings(window_width=0.08, window_overlap=0.04, mel_bands=128, clip_below=-60.0,
                    fixed_length=5.0, center_fixed=True)

def feats(batch):
    return {"i": batch["i"], "x": np.concatenate([extract_features(p, S) for p in batch["path"]])}

ray.init(address=sys.argv[2], logging_level="WARNING")
ctx = ray.data.DataContext.get_current()
ctx.execution_options.preserve_order = True
ctx.enable_progress_bars = False
parsed = parse_dataset(sys.argv[1])
insts = parsed.instances
ds = ray.data.from_items([{"i": k, "path": str(inst.path)} for k, inst in enumerate(insts)])
ds = ds.map_batches(feats, batch_size=32, batch_format="numpy")
with DataSetWriter(sys.argv[3], S.feature_dims, (124, 128), parsed.n_folds,
                   parsed.label_map) as w:
    for b in ds.iter_batches(batch_size=None, batch_format="numpy"):
        for k, x in zip(b["i"], b["x"]):
            inst = insts[int(k)]
            w.append(x, inst.filename, chunk_nr=0, label_nominal=inst.label_nominal,
                     cv_folds=list(inst.cv_folds), partition=inst.partition)
'''


def test_ray_data_2_workers(benchmark, cluster, esc10x10, tmp_path):
    pytest.importorskip("ray.data")
    if len(cluster.extra) == 0:
        cluster.add_node()
    script = tmp_path / "ray_data_preprocess.py"
    script.write_text(_RAY_DATA)
    _bench(benchmark, G4000, "ray.data map_batches, 2 workers", 4000,
           [sys.executable, str(script), str(esc10x10), cluster.address,
            str(tmp_path / "o.nc")], env=cluster.env(), rounds=1)


# ------------------------------------------------------------------------------- training

def _paper_data(n=320):
    rng = np.random.default_rng(0)
    return np.tanh(rng.standard_normal((n, 124, 128))).astype(np.float32)


def _paper_config():
    from rae_fast.model import AutoencoderConfig

    return AutoencoderConfig(num_features=128, num_layers=2, num_units=256,
                             bidirectional_decoder=True)


_TRAIN = r'''
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from bench_distributed import _paper_config, _paper_data
from rae_fast.model import TrainingConfig
from rae_fast.model.parallel import train_parallel

if __name__ == "__main__":           # the DDP processes are spawned: they import this file
    procs, threads = int(sys.argv[3]), int(sys.argv[4])
    train_parallel(_paper_data(192), sys.argv[2], _paper_config(),
                   TrainingConfig(num_epochs=2, batch_size=64, seed=0), num_workers=procs,
                   n_threads=threads, progress=False, tensorboard=False)
'''


@pytest.mark.parametrize("case", ["1x2", "1x2-passive", "1x1", "2x1"])
def test_ddp_training(benchmark, tmp_path, case):
    """One training run in a fresh process (``processes x threads``; ``passive``: with
    ``OMP_WAIT_POLICY=PASSIVE``, OpenMP threads that sleep instead of spinning at barriers)."""
    pytest.importorskip("torch")
    benchmark.group = "DDP training, 2 x 256 GRU (paper)"
    procs, threads = (int(v) for v in case.split("-")[0].split("x"))
    env = dict(os.environ)
    if case.endswith("passive"):
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    run = tmp_path / "run"
    script = tmp_path / "train.py"
    script.write_text(_TRAIN)
    out = {}

    def go():
        out["run"] = _run([sys.executable, str(script), str(Path(__file__).parent), str(run),
                           str(procs), str(threads)], env)

    benchmark.pedantic(go, rounds=1, iterations=1)
    with open(run / "loss.csv") as fh:
        rows = list(csv.DictReader(fh))
    steps = int(rows[1]["steps"])
    benchmark.extra_info.update(
        peer="rae_fast" if case == "1x2" else case, processes=procs,
        threads_per_process=threads,
        s_per_step=round(float(rows[1]["seconds"]) / steps, 3),
        s_per_step_epoch1=round(float(rows[0]["seconds"]) / steps, 3),
        cpu_s_whole_run=round(out["run"][2], 1),
        loss_curve=[float(r["loss"]) for r in rows])
    print(f"\nDDP {case}: {benchmark.extra_info}")


def _allreduce_rank(rank, rendezvous, result, steps):
    import json

    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    from rae_fast.model import RecurrentAutoencoder, rmse

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank,
                            world_size=2)
    torch.manual_seed(0)
    model = DDP(RecurrentAutoencoder(_paper_config()))
    x = torch.from_numpy(_paper_data(64)[rank * 32:(rank + 1) * 32].copy())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(sync=True):
        opt.zero_grad()
        if sync:
            recon, _ = model(x)
            rmse(recon, x).backward()
        else:
            with model.no_sync():
                recon, _ = model(x)
                rmse(recon, x).backward()
        opt.step()

    step()
    # steps with and without the all-reduce in turn (the load of a shared machine drifts)
    spent = {True: [], False: []}
    for k in range(2 * steps):
        sync = k % 2 == 0
        dist.barrier()
        t = time.perf_counter()
        step(sync)
        dist.barrier()
        spent[sync].append(time.perf_counter() - t)
    times = {"with_allreduce": float(np.median(spent[True])),
             "no_sync": float(np.median(spent[False]))}
    n_params = sum(p.numel() for p in model.parameters())
    flat = torch.zeros(n_params)
    dist.barrier()
    t = time.perf_counter()
    for _ in range(10):
        dist.all_reduce(flat)
    times["bare_allreduce"] = (time.perf_counter() - t) / 10
    times["gradient_mib"] = n_params * 4 / 2 ** 20
    if rank == 0:
        Path(result).write_text(json.dumps(times))
    dist.destroy_process_group()


def test_ddp_allreduce_overhead(benchmark, tmp_path):
    pytest.importorskip("torch")
    import json

    import torch.multiprocessing as mp

    benchmark.group = "DDP all-reduce"
    result = tmp_path / "allreduce.json"
    folder = tempfile.mkdtemp(prefix="rae_fast_bench_")

    def go():
        mp.start_processes(_allreduce_rank, args=(os.path.join(folder, "rdv"), str(result), 6),
                           nprocs=2, join=True, start_method="spawn")

    benchmark.pedantic(go, rounds=1, iterations=1)
    times = json.loads(result.read_text())
    benchmark.extra_info.update(
        peer="rae_fast", s_per_step_with_allreduce=round(times["with_allreduce"], 3),
        s_per_step_no_sync=round(times["no_sync"], 3),
        allreduce_overhead_s=round(times["with_allreduce"] - times["no_sync"], 3),
        bare_allreduce_s=round(times["bare_allreduce"], 4),
        gradient_mib=round(times["gradient_mib"], 1))
    print(f"\nDDP all-reduce: {benchmark.extra_info}")
