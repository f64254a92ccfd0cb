"""Where the batch stages run their per-item work: threads of this process, or elsewhere.

The batch stages (:func:`rae_fast.preprocessing.preprocess`,
:func:`rae_fast.autocorr_files.write_autocorrelograms`, :func:`rae_fast.inference.generate`,
:func:`rae_fast.evaluation.evaluate_splits`) hand their per-file (per-batch, per-split) work to
an *executor* and consume the results **in input order**, so that what they write does not
depend on where the work ran. An executor has one method::

    imap(fn, items, *shared, chunk=None) -> iterator of fn(item, *shared), in input order

``fn`` is a module-level function (so that it can be sent to other processes by reference),
``items`` are small picklable values (file records, index ranges), and ``shared`` are
arguments common to every call (settings, a feature matrix): an executor sends them once.
``chunk`` is a hint for executors that send work elsewhere: items per task (many for cheap
items such as file headers); threads ignore it. Only a bounded number of results is ever
waiting, so memory stays flat however many items there are. Leaving the iterator early (an error, Ctrl-C) cancels the work not yet started.

:class:`ThreadExecutor` is the default (threads of this process);
:class:`rae_fast.distributed.RayExecutor` runs the same functions as Ray tasks.

>>> ex = ThreadExecutor(workers=2)
>>> list(ex.imap(pow, [1, 2, 3], 2))
[1, 4, 9]
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Optional, Protocol, runtime_checkable

from ._parallel import ordered_map
from ._validation import check_int, default_threads

__all__ = ["Executor", "ThreadExecutor"]


@runtime_checkable
class Executor(Protocol):
    """What the batch stages need from an executor (see the module docstring).

    ``in_process`` is true when ``fn`` runs in this process (it then shares process-wide
    settings such as torch's thread count with the caller); ``workers`` is the number of
    calls that run at once (for messages and for the caller's own bounds).
    """

    in_process: bool
    workers: int

    def imap(self, fn: Callable, items: Iterable, *shared: Any,
             chunk: Optional[int] = None) -> Iterator[Any]:
        ...


class ThreadExecutor:
    """Run ``fn(item, *shared)`` in ``workers`` threads of this process, results in order
    (:func:`rae_fast._parallel.ordered_map`).

    ``max_pending`` results at most are computed ahead of the consumer (default
    ``4 * workers``). With ``workers=1`` everything runs in the calling thread.
    """

    in_process = True

    def __init__(self, workers: Optional[int] = None, max_pending: Optional[int] = None,
                 name: str = "rae-worker"):
        self.workers = default_threads() if workers is None else \
            check_int(workers, "workers", 1, 1024)
        self.max_pending = 4 * self.workers if max_pending is None else \
            check_int(max_pending, "max_pending", 1)
        self.name = name

    def __repr__(self) -> str:
        return f"ThreadExecutor(workers={self.workers})"

    def imap(self, fn: Callable, items: Iterable, *shared: Any,
             chunk: Optional[int] = None) -> Iterator[Any]:
        def call(item):
            return fn(item, *shared)

        for _, result in ordered_map(call, items, self.workers, self.max_pending, self.name):
            yield result
