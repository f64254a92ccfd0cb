"""Running a function over many items in worker threads, results in input order."""
from __future__ import annotations

import collections
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator, Tuple

__all__ = ["ordered_map"]


def ordered_map(fn: Callable, items: Iterable, workers: int, max_pending: int,
                name: str = "rae-worker") -> Iterator[Tuple[Any, Any]]:
    """``(item, fn(item))`` in input order, computed by ``workers`` threads with at most
    ``max_pending`` results in flight (memory stays flat however many items there are).

    Leaving the loop early (an exception, Ctrl-C, ``break``) cancels the items not started
    and waits for those running.

    >>> [r for _, r in ordered_map(lambda v: v * v, range(5), workers=2, max_pending=4)]
    [0, 1, 4, 9, 16]
    """
    if workers <= 1:
        for item in items:
            yield item, fn(item)
        return
    pending: collections.deque = collections.deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        try:
            for item in items:
                pending.append((item, pool.submit(fn, item)))
                if len(pending) >= max_pending:
                    it, fut = pending.popleft()
                    yield it, fut.result()
            while pending:
                it, fut = pending.popleft()
                yield it, fut.result()
        finally:
            for _, fut in pending:
                fut.cancel()
