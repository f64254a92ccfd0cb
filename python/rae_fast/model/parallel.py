"""Data-parallel training: :func:`train_parallel` runs :func:`rae_fast.model.train` in N
processes with ``torch.nn.parallel.DistributedDataParallel`` (gloo on CPU, NCCL on CUDA).

How a step is shared (``N`` ranks, global batch ``B`` as the user asked):

* every rank draws the same data order (``default_rng([seed, epoch])``) and takes its own
  contiguous part of each global batch (``B / N`` instances, the parts differ by at most one);
* the loss of the global batch is its RMSE, ``sqrt(S / C)`` with ``S`` the summed squared
  error and ``C`` the number of values: each rank all-reduces its ``(S_r, C_r)`` (two numbers)
  and back-propagates ``S_r * N / (2 * rmse * C)``, whose gradients, averaged by DDP's
  all-reduce, are exactly the gradients of the global RMSE. Clipping and Adam then run on the
  same gradients everywhere, so the ranks stay identical and N = 2 follows the N = 1 loss
  curve. What differs: the order of floating-point sums (per-rank partial sums, the gradient
  all-reduce) and the random draws of dropout / encoder noise / feed-previous, which each rank
  makes for its own part of the batch from its own stream (rank 0 continues the stream of a
  single process, rank ``r`` starts from ``SeedSequence([seed, r])``). Without those
  regularisers the curves agree to float rounding; with them, statistically.
* rank 0 alone writes ``config.json``, the checkpoints, ``loss.csv`` and TensorBoard logs;
  the checkpoints hold every rank's random state, so ``resume=True`` with the same N continues
  exactly (another N continues with fresh per-rank streams, and says so).

:func:`train_parallel` starts the N processes on this machine (``torchrun``-style, through
``torch.multiprocessing`` and a file rendezvous); :func:`rae_fast.distributed.train` starts
them on a Ray cluster with Ray Train. Both call :func:`~rae_fast.model.train` with a
:class:`ProcessGroup` describing the rank.

>>> from rae_fast.model.parallel import train_parallel
>>> res = train_parallel(x, "run", cfg, TrainingConfig(batch_size=64),
...                      num_workers=2)                          # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import pickle
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import torch

from .._validation import check_int, default_threads

log = logging.getLogger(__name__)

__all__ = ["ProcessGroup", "train_parallel"]


@dataclasses.dataclass
class ProcessGroup:
    """The rank this process trains as, in an initialised ``torch.distributed`` group.

    ``rank`` / ``world_size`` as in ``torch.distributed``; ``device`` the torch device of this
    rank. Built by :meth:`current` after ``init_process_group``.
    """
    rank: int
    world_size: int
    backend: str
    device: Optional[torch.device] = None

    @classmethod
    def current(cls, device=None) -> "ProcessGroup":
        """The initialised default group of ``torch.distributed``."""
        import torch.distributed as dist

        if not dist.is_available() or not dist.is_initialized():
            raise RuntimeError("torch.distributed is not initialised in this process")
        return cls(dist.get_rank(), dist.get_world_size(), str(dist.get_backend()),
                   None if device is None else torch.device(device))

    @property
    def is_writer(self) -> bool:
        """Rank 0 writes the run directory."""
        return self.rank == 0

    # ---------------------------------------------------------------- set-up
    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` in DistributedDataParallel (its parameters are rank 0's from now on)."""
        from torch.nn.parallel import DistributedDataParallel as DDP

        if self.device is not None and self.device.type == "cuda":
            return DDP(model, device_ids=[self.device])
        return DDP(model)

    def seed_rank(self, seed: int) -> None:
        """Give ranks > 0 their own random stream (rank 0 keeps the single-process one)."""
        if self.rank > 0:
            torch.manual_seed(_rank_seed(seed, self.rank))

    # ---------------------------------------------------------------- random states
    def gather_rng(self, rng_state) -> List[torch.Tensor]:
        """Every rank's torch CPU random state, on every rank (a collective call)."""
        import torch.distributed as dist

        out: List[Any] = [None] * self.world_size
        dist.all_gather_object(out, rng_state.cpu())
        return [torch.as_tensor(s) for s in out]

    def restore_rng(self, saved: Dict[str, Any], seed: int, epoch: int) -> None:
        """After resuming: this rank's saved stream when the checkpoint has one for the same
        number of ranks, else a fresh stream per rank (logged once)."""
        ranks = saved.get("ranks")
        if ranks is not None and len(ranks) == self.world_size:
            torch.set_rng_state(torch.as_tensor(ranks[self.rank]).cpu())
            return
        if self.rank == 0:
            log.warning("the checkpoint was written by %s process(es), this run has %d: the "
                        "random draws (dropout, noise) continue from fresh per-rank streams",
                        len(ranks) if ranks is not None else 1, self.world_size)
        if self.rank > 0:
            torch.manual_seed(_rank_seed(seed, self.rank, epoch))

    # ---------------------------------------------------------------- one step
    def shard(self, idx: np.ndarray) -> Tuple[np.ndarray, bool]:
        """This rank's part of a global batch: ``(indices, real)``; a rank left without
        instances (a last batch smaller than N) computes one instance with weight 0."""
        part = np.array_split(idx, self.world_size)[self.rank]
        if part.size == 0:
            return idx[:1], False
        return part, True

    def rmse_loss(self, recon: torch.Tensor, x: torch.Tensor, lengths, real: bool
                  ) -> Tuple[torch.Tensor, float]:
        """``(loss to back-propagate on this rank, RMSE of the global batch)`` (see the module
        docstring); one all-reduce of two numbers."""
        import torch.distributed as dist

        diff2 = (recon - x) ** 2
        if lengths is not None:
            from .autoencoder import _time_mask

            mask = _time_mask(lengths.to(x.device), x.shape[0], x.shape[1], x.device)
            sse = (diff2 * mask).sum()
            count = mask.sum().to(torch.float64) * x.shape[2]
        else:
            sse = diff2.sum()
            count = torch.tensor(float(diff2.numel()), dtype=torch.float64, device=x.device)
        if not real:
            sse = sse * 0.0
            count = count * 0.0
        stats = torch.stack([sse.detach().to(torch.float64), count.to(torch.float64)])
        dist.all_reduce(stats)
        total, n = float(stats[0]), float(stats[1])
        value = math.sqrt(total / n) if n > 0 else float("nan")
        scale = self.world_size / (2.0 * max(value, 1e-30) * n)
        return sse * scale, value


def _rank_seed(seed: int, rank: int, epoch: int = 0) -> int:
    return int(np.random.SeedSequence([seed, rank, epoch]).generate_state(1)[0] & 0x7FFFFFFF)


# ------------------------------------------------------------------------ local processes

def _share(features):
    """Features in shared memory for the child processes (no copy per process)."""
    if isinstance(features, (list, tuple)):
        return [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).share_memory_()
                for a in features]
    arr = np.asarray(features, dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(arr)).share_memory_()


def _unshare(shared):
    if isinstance(shared, list):
        return [t.numpy() for t in shared]
    return shared.numpy()


def _record_error(errors: str, rank: int, exc: BaseException) -> None:
    """Keep a rank's exception (with the time it happened) for the parent process."""
    path = Path(errors, f"rank{rank}.pickle")
    if path.exists():
        return
    try:
        blob = pickle.dumps((time.time_ns(), exc))
    except Exception:  # noqa: BLE001 - an exception that does not pickle
        blob = pickle.dumps((time.time_ns(), RuntimeError(f"{type(exc).__name__}: {exc}")))
    with contextlib.suppress(OSError):
        path.write_bytes(blob)


def _rank_main(rank: int, world_size: int, rendezvous: str, errors: str, shared,
               kwargs: Dict[str, Any]) -> None:
    """One training process (started by :func:`train_parallel`)."""
    import torch.distributed as dist

    from .devices import resolve_device
    from .training import train

    try:
        dev = resolve_device(kwargs.pop("device"))
        progress = kwargs.pop("progress")
        backend = "nccl" if dev.type == "cuda" else "gloo"
        if dev.type == "cuda":
            dev = torch.device("cuda", rank % max(1, torch.cuda.device_count()))
            torch.cuda.set_device(dev)
        dist.init_process_group(backend, init_method=f"file://{rendezvous}", rank=rank,
                                world_size=world_size)
        try:
            train(_unshare(shared), device=dev, process_group=ProcessGroup(
                rank, world_size, backend, dev), progress=progress if rank == 0 else False,
                **kwargs)
        except BaseException as exc:
            _record_error(errors, rank, exc)     # before leaving the group fails the others
            raise
        finally:
            dist.destroy_process_group()
    except BaseException as exc:
        _record_error(errors, rank, exc)
        raise


def _first_error(errors: str):
    """``(rank, exception)`` of the process that failed first (the others usually fail
    because it left the group), or ``(None, None)``."""
    found = []
    for path in Path(errors).glob("rank*.pickle"):
        with contextlib.suppress(Exception):
            when, exc = pickle.loads(path.read_bytes())
            found.append((when, int(path.stem[4:]), exc))
    if not found:
        return None, None
    _, rank, exc = min(found, key=lambda t: (t[0], t[1]))
    return rank, exc


def train_parallel(features, run_dir, model_config=None, training_config=None, *,
                   num_workers: int = 2, resume: bool = False,
                   device: Union[str, torch.device] = "auto", n_threads: Optional[int] = None,
                   progress: Optional[bool] = None, keep_checkpoints: Optional[int] = 3,
                   tensorboard: bool = True, run_info: Optional[Dict[str, Any]] = None):
    """:func:`rae_fast.model.train` in ``num_workers`` local processes (DDP).

    Parameters
    ----------
    features, run_dir, model_config, training_config, resume, device, progress,
    keep_checkpoints, tensorboard, run_info
        As in :func:`~rae_fast.model.train`; ``training_config.batch_size`` stays the global
        batch (each process computes ``batch_size / num_workers`` instances of it).
    num_workers : int
        Processes (``1`` trains in this process, exactly like :func:`train`).
    n_threads : int, optional
        torch threads per process (default: the cores divided among the processes).

    Returns
    -------
    TrainResult
        As :func:`train` (the model read from the newest checkpoint).

    Raises
    ------
    As :func:`train`; an error in any process is raised here as itself.
    """
    from .checkpoints import latest_checkpoint, load_model
    from .training import TrainResult, _read_loss_log, train

    num_workers = check_int(num_workers, "num_workers", 1, 1024)
    check_int(n_threads, "n_threads", 1, allow_none=True)
    kwargs = dict(run_dir=str(run_dir), model_config=model_config,
                  training_config=training_config, resume=resume, device=device,
                  n_threads=n_threads, progress=progress, keep_checkpoints=keep_checkpoints,
                  tensorboard=tensorboard, run_info=run_info)
    if num_workers == 1:
        return train(features, **kwargs)
    if n_threads is None:
        kwargs["n_threads"] = max(1, default_threads() // num_workers)
    import torch.multiprocessing as mp

    tmp = tempfile.mkdtemp(prefix="rae_fast_ddp_")
    try:
        rendezvous = os.path.join(tmp, "rendezvous")
        errors = os.path.join(tmp, "errors")
        os.mkdir(errors)
        ctx = mp.start_processes(_rank_main, args=(num_workers, rendezvous, errors,
                                                   _share(features), kwargs),
                                 nprocs=num_workers, join=False, start_method="spawn")
        try:
            while not ctx.join():
                pass
        except BaseException as exc:
            for p in ctx.processes:
                if p.is_alive():
                    p.terminate()
            for p in ctx.processes:
                p.join(10)
                if p.is_alive():           # pragma: no cover - a process ignoring SIGTERM
                    p.kill()
                    p.join()
            rank, err = _first_error(errors)
            if err is not None and not isinstance(exc, KeyboardInterrupt):
                if hasattr(err, "add_note"):
                    err.add_note(f"(in training process rank {rank} of {num_workers})")
                raise err from None
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    run_dir = Path(run_dir)
    from .devices import resolve_device

    model = load_model(run_dir, device=resolve_device(device))
    rows = _read_loss_log(run_dir / "loss.csv", 10 ** 9)
    losses = [float(r["loss"]) for r in rows if r.get("loss")]
    epoch = max((int(r["epoch"]) for r in rows), default=0)
    return TrainResult(model=model, run_dir=run_dir, epoch=epoch, losses=losses,
                       checkpoint=latest_checkpoint(run_dir))
