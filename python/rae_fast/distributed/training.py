"""Data-parallel training on a Ray cluster with Ray Train: :func:`train`.

Ray Train's ``TorchTrainer`` starts ``num_workers`` processes on the cluster and sets up their
``torch.distributed`` group (gloo on CPU, NCCL on GPU); each runs
:func:`rae_fast.model.train` as one rank of that group (see :mod:`rae_fast.model.parallel` for
how a global batch is shared and why N workers follow the one-process loss curve). The
features go to the workers through Ray's object store (once per node); the run directory must
be on storage that every node writes at the same path (rank 0, wherever Ray places it, writes
the checkpoints and ``loss.csv`` there), and ``resume=True`` continues from it.
"""
from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path
from typing import Any, Dict, Optional

from .._validation import check_int
from .cluster import RayCluster, connect

log = logging.getLogger(__name__)

__all__ = ["train"]


def _train_loop(config: Dict[str, Any]) -> None:
    """``train_loop_per_worker`` of the TorchTrainer: one rank of the run."""
    import ray
    import ray.train.torch

    from ..model.parallel import ProcessGroup
    from ..model.training import train as _train

    features = config["features"]
    if isinstance(features, ray.ObjectRef):
        features = ray.get(features)
    kwargs = dict(config["kwargs"])
    device = ray.train.torch.get_device()
    pg = ProcessGroup.current(device)
    if kwargs.pop("progress") is not True or pg.rank != 0:
        kwargs["progress"] = False
    _train(features, device=device, process_group=pg, **kwargs)


def train(features, run_dir, model_config=None, training_config=None, *, num_workers: int,
          address: str = "auto", cluster: Optional[RayCluster] = None, resume: bool = False,
          use_gpu: bool = False, n_threads: int = 1, progress: Optional[bool] = None,
          keep_checkpoints: Optional[int] = 3, tensorboard: bool = True,
          run_info: Optional[Dict[str, Any]] = None,
          runtime_env: Optional[Dict[str, Any]] = None):
    """:func:`rae_fast.model.train` as ``num_workers`` Ray Train workers (DDP).

    Parameters
    ----------
    features, run_dir, model_config, training_config, resume, keep_checkpoints, tensorboard,
    run_info
        As in :func:`rae_fast.model.train` (the batch size stays the global batch).
    num_workers : int
        Ray Train workers (ranks).
    address, cluster, runtime_env
        As in :func:`rae_fast.distributed.preprocess`.
    use_gpu : bool
        One GPU per worker (NCCL); else the CPU (gloo).
    n_threads : int
        CPUs (and torch threads) per worker.
    progress : bool or None
        Rank 0's progress bar (only ``True`` shows one: the workers have no terminal).

    Returns
    -------
    TrainResult
        As :func:`train`, with the model read from the newest checkpoint.
    """
    from ..model.checkpoints import latest_checkpoint, load_model, read_run_config
    from ..model.training import TrainResult, _read_loss_log

    num_workers = check_int(num_workers, "num_workers", 1, 4096)
    n_threads = check_int(n_threads, "n_threads", 1, 1024)
    run_dir = Path(run_dir).resolve()
    if not resume and (run_dir / "config.json").exists():
        raise FileExistsError(f"{run_dir} already holds a training run; continue it with "
                              "resume=True or choose another run directory")
    if resume:
        read_run_config(run_dir)                # fails here, clearly, when there is no run
    from .cluster import import_ray

    import_ray()
    import numpy as np
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    kwargs = dict(run_dir=str(run_dir), model_config=model_config,
                  training_config=training_config, resume=resume, n_threads=n_threads,
                  progress=progress, keep_checkpoints=keep_checkpoints, tensorboard=tensorboard,
                  run_info=run_info)
    own = cluster is None
    c = connect(address, runtime_env=runtime_env) if own else cluster
    try:
        ray = c.ray
        if not isinstance(features, (list, tuple)):
            features = np.ascontiguousarray(np.asarray(features, dtype=np.float32))
        trainer = TorchTrainer(
            _train_loop,
            train_loop_config={"features": ray.put(features), "kwargs": kwargs},
            scaling_config=ScalingConfig(num_workers=num_workers, use_gpu=bool(use_gpu),
                                         resources_per_worker={"CPU": n_threads}),
            run_config=RunConfig(name=f"rae_fast-{uuid.uuid4().hex[:8]}",
                                 storage_path=str(run_dir / ".ray_train"),
                                 failure_config=FailureConfig(max_failures=0)))
        try:
            trainer.fit()
        except Exception as exc:  # noqa: BLE001 - Ray Train wraps the worker's error
            raise _worker_error(exc) from None
        shutil.rmtree(run_dir / ".ray_train", ignore_errors=True)   # Ray Train's own state
    finally:
        if own:
            c.close()
    model = load_model(run_dir, device="cpu")
    rows = _read_loss_log(run_dir / "loss.csv", 10 ** 9)
    losses = [float(r["loss"]) for r in rows if r.get("loss")]
    epoch = max((int(r["epoch"]) for r in rows), default=0)
    return TrainResult(model=model, run_dir=run_dir, epoch=epoch, losses=losses,
                       checkpoint=latest_checkpoint(run_dir))


def _worker_error(exc: BaseException) -> BaseException:
    """The exception a training worker raised (Ray Train wraps it), or ``exc``."""
    seen = set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, (ValueError, TypeError, FileExistsError, FileNotFoundError)):
            return e
        for attr in ("worker_failures", "errors"):
            inner = getattr(e, attr, None)
            if isinstance(inner, dict):
                stack.extend(v for v in inner.values() if isinstance(v, BaseException))
            elif isinstance(inner, (list, tuple)):
                stack.extend(v for v in inner if isinstance(v, BaseException))
        for inner in (getattr(e, "cause", None), e.__cause__, e.__context__):
            if isinstance(inner, BaseException):
                stack.append(inner)
    return exc
