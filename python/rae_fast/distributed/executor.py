""":class:`RayExecutor`: the batch stages' per-item work as Ray tasks, results in input order.

The items are cut into blocks (``block_size`` items each); each block is one Ray task that runs
``fn(item, *shared)`` for its items with the same library function as a single machine would
(the same C++ core), and returns the results. The caller consumes them block after block, in
input order, while at most ``max_pending`` blocks are submitted ahead: the results wait in Ray's
object store, never all in the driver, so the driver's memory does not grow with the number of
items. ``shared`` arguments are put in the object store once and read by every task (zero-copy
for numpy arrays on the same node).

Faults: a task whose worker process dies (killed, out of memory, node lost) is run again by
Ray (``max_retries``, default 3); since a block's results are only used once the whole block
returned, every item is written exactly once. An exception raised by ``fn`` is not retried: it
is raised again here, as itself, with a note naming the worker (host and process). Leaving the
iterator early (an error, Ctrl-C) submits nothing more and drops the references to the blocks
in flight (at most ``max_pending``): they finish and their results are freed, or they end with
the driver. They are not ``ray.cancel``-ed: in Ray 2.x a cancellation that races with the
task's completion aborts the driver ("Check failed: it != submissible_tasks_.end()",
ray-project/ray#54846), which turned Ctrl-C into a crash in our tests once in a few runs.
"""
from __future__ import annotations

import collections
import itertools
import logging
import math
import os
import pickle
import socket
import time
from typing import Any, Callable, Iterable, Iterator, List, Optional

from .._validation import check_int
from .._version import __version__
from .cluster import ClusterError, RayCluster

log = logging.getLogger(__name__)

__all__ = ["RayExecutor"]

#: Items per task when neither the caller nor the stage chooses.
DEFAULT_BLOCK_SIZE = 32


class _Failure:
    """An exception raised by ``fn`` on a worker, after ``n_done`` results of the block."""

    def __init__(self, n_done: int, exc: BaseException, where: str):
        self.n_done = n_done
        self.where = where
        try:
            pickle.dumps(exc)
            self.exc = exc
        except Exception:  # noqa: BLE001 - an exception that cannot travel: keep its text
            self.exc = RuntimeError(f"{type(exc).__name__}: {exc}")


def _run_block(fn: Callable, block: List[Any], expected_version: str, *shared: Any) -> list:
    """One Ray task: ``fn(item, *shared)`` for every item of the block (in this order)."""
    where = f"Ray worker {socket.gethostname()} pid {os.getpid()}"
    if expected_version != __version__:
        return [_Failure(0, ClusterError(
            f"this worker runs rae_fast {__version__}, the driver {expected_version}; install "
            f"the same version on every node"), where)]
    out: list = []
    for item in block:
        try:
            out.append(fn(item, *shared))
        except Exception as exc:  # noqa: BLE001 - raised again on the driver
            out.append(_Failure(len(out), exc, where))
            break
    return out


def _unwrap_ray_error(ray, exc: BaseException, fn: Callable) -> BaseException:
    """A clear exception for a task that failed inside Ray itself (not in ``fn``)."""
    text = str(exc)
    if "No module named 'rae_fast" in text:
        return ClusterError("a Ray worker cannot import rae_fast (No module named 'rae_fast'): "
                            f"install rae_fast {__version__} on every node of the cluster")
    if isinstance(exc, ray.exceptions.WorkerCrashedError) or \
            isinstance(exc, ray.exceptions.NodeDiedError):
        return ClusterError(f"{fn.__name__}: a Ray worker process died more often than the "
                            f"retries allow ({type(exc).__name__}); see the Ray logs")
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return ClusterError(f"{fn.__name__} failed on the Ray cluster: {first}")


class RayExecutor:
    """Run the batch stages' work as Ray tasks (see the module docstring).

    Parameters
    ----------
    cluster : RayCluster
        From :func:`rae_fast.distributed.connect`.
    block_size : int, optional
        Items per task (default: a stage's own choice, else 32 files).
    max_pending : int, optional
        Blocks submitted ahead of the one being consumed (default: 2 per worker, plus 2).
    num_cpus : float
        CPUs each task reserves (1: one file at a time per core).
    num_gpus : float
        GPUs each task reserves (0).
    max_retries : int
        Times Ray runs a task again whose worker process died (3).

    >>> with connect("local") as cluster:                           # doctest: +SKIP
    ...     list(RayExecutor(cluster).imap(pow, [1, 2, 3], 2))
    [1, 4, 9]
    """

    in_process = False

    def __init__(self, cluster: RayCluster, block_size: Optional[int] = None,
                 max_pending: Optional[int] = None, num_cpus: float = 1,
                 num_gpus: float = 0, max_retries: int = 3):
        if not isinstance(cluster, RayCluster):
            raise TypeError(f"cluster must be a RayCluster (rae_fast.distributed.connect), got "
                            f"{type(cluster).__name__}")
        self.cluster = cluster
        self.block_size = check_int(block_size, "block_size", 1, allow_none=True)
        self.max_pending = check_int(max_pending, "max_pending", 1, allow_none=True)
        self.num_cpus = float(num_cpus)
        self.num_gpus = float(num_gpus)
        self.max_retries = check_int(max_retries, "max_retries", 0)
        self._remote = None

    @property
    def workers(self) -> int:
        """Tasks that can run at once (the cluster's CPUs / CPUs per task)."""
        cpus = self.cluster.num_cpus
        return max(1, int(cpus // self.num_cpus) if self.num_cpus > 0 else cpus)

    def __repr__(self) -> str:
        return (f"RayExecutor({self.cluster.address!r}, block_size={self.block_size}, "
                f"workers={self.workers})")

    def with_block_size(self, block_size: Optional[int]) -> "RayExecutor":
        """This executor with another default ``block_size`` (kept when one was given)."""
        if self.block_size is not None or block_size is None:
            return self
        out = RayExecutor(self.cluster, block_size, self.max_pending, self.num_cpus,
                          self.num_gpus, self.max_retries)
        return out

    def _task(self, fn: Callable):
        ray = self.cluster.ray
        if self._remote is None:
            self._remote = ray.remote(_run_block)
        return self._remote.options(num_cpus=self.num_cpus, num_gpus=self.num_gpus,
                                    max_retries=self.max_retries, retry_exceptions=False,
                                    name=f"rae_fast.{fn.__name__}")

    def imap(self, fn: Callable, items: Iterable, *shared: Any,
             chunk: Optional[int] = None) -> Iterator[Any]:
        """``fn(item, *shared)`` for every item, in order (see the module docstring);
        ``chunk``: items per task that the caller suggests (cheap items), else
        ``block_size``."""
        ray = self.cluster.ray
        workers = self.workers
        size = check_int(chunk, "chunk", 1, allow_none=True) or self.block_size
        if size is None:
            n = len(items) if hasattr(items, "__len__") else None
            size = DEFAULT_BLOCK_SIZE if n is None else \
                max(1, min(DEFAULT_BLOCK_SIZE, math.ceil(n / (4 * workers))))
        max_pending = self.max_pending or 2 * workers + 2
        task = self._task(fn)
        shared_refs = [ray.put(s) for s in shared]
        it = iter(items)
        pending: collections.deque = collections.deque()
        t0, n_blocks = time.perf_counter(), 0

        def submit() -> bool:
            block = list(itertools.islice(it, size))
            if not block:
                return False
            pending.append(task.remote(fn, block, __version__, *shared_refs))
            return True

        try:
            while len(pending) < max_pending and submit():
                pass
            self.cluster.check()            # every node can run rae_fast (see connect)
            while pending:
                try:
                    results = ray.get(pending[0])
                except ray.exceptions.RayError as exc:
                    raise _unwrap_ray_error(ray, exc, fn) from None
                pending.popleft()
                n_blocks += 1
                submit()
                for res in results:
                    if isinstance(res, _Failure):
                        if hasattr(res.exc, "add_note"):       # Python >= 3.11
                            res.exc.add_note(f"(on {res.where})")
                        raise res.exc
                    yield res
        finally:
            pending.clear()             # not ray.cancel: see the module docstring
            log.debug("%s: %d blocks of %d in %.2f s", fn.__name__, n_blocks, size,
                      time.perf_counter() - t0)
