"""Reusable output memory for large transforms.

A fresh ``numpy.empty`` of tens of megabytes is new memory from the operating system: every page
is faulted in and zeroed when the transform first writes it, which costs as much as a batched
FFT of 8192-point rows itself. :func:`empty` hands out arrays over buffers that earlier results
no longer use instead, so a loop of transforms (or a benchmark) reuses memory that is already
mapped. A buffer is free again when no array refers to it: the results are ordinary numpy views
of the buffer, which keep it alive (and in use) for as long as they, or views of them, exist.

At most ``RAE_FAST_POOL_MB`` megabytes (default 256; 0 turns the pool off) are kept, least
recently used buffers are released first, and requests under 1 MiB are plain ``numpy.empty``.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import List

import numpy as np

_MIN_BYTES = 1 << 20
_lock = threading.Lock()
_pool: List[np.ndarray] = []   # 1-D uint8 buffers, least recently used first


def _free_refcount() -> int:
    """sys.getrefcount of a buffer that only the pool list refers to (interpreter-specific)."""
    probe = [np.empty(1, np.uint8)]
    return sys.getrefcount(probe[0])


_FREE_REFS = _free_refcount()


def _cap_bytes() -> int:
    env = os.environ.get("RAE_FAST_POOL_MB")
    if env:
        try:
            return max(0, int(env)) << 20
        except ValueError:
            raise ValueError(f"RAE_FAST_POOL_MB must be an integer, got {env!r}") from None
    return 256 << 20


def empty(shape, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array, like ``numpy.empty(shape, dtype)``, over reused
    memory when it is large (see the module docstring)."""
    dtype = np.dtype(dtype)
    nbytes = dtype.itemsize
    for d in shape:
        nbytes *= int(d)
    cap = _cap_bytes()
    if nbytes < _MIN_BYTES or nbytes > cap:
        return np.empty(shape, dtype)
    with _lock:
        # (no local name may refer to a pooled buffer while the reference counts are read)
        best, best_size = -1, 0
        for i in range(len(_pool)):
            size = _pool[i].nbytes
            if (nbytes <= size <= nbytes + nbytes // 4 and (best < 0 or size < best_size)
                    and sys.getrefcount(_pool[i]) == _FREE_REFS):
                best, best_size = i, size
        if best >= 0:
            _pool.append(_pool.pop(best))   # most recently used last
        else:
            # make room: drop free buffers, least recently used first
            total = sum(_pool[i].nbytes for i in range(len(_pool))) + nbytes
            i = 0
            while total > cap and i < len(_pool):
                if sys.getrefcount(_pool[i]) == _FREE_REFS:
                    total -= _pool.pop(i).nbytes
                else:
                    i += 1
            if total > cap:   # the pool is full of results still in use
                return np.empty(shape, dtype)
            _pool.append(np.empty(nbytes, np.uint8))
        return _pool[-1][:nbytes].view(dtype).reshape(shape)


def release() -> int:
    """Drop every buffer that no array uses; returns the number of bytes released."""
    with _lock:
        freed = 0
        i = 0
        while i < len(_pool):
            if sys.getrefcount(_pool[i]) == _FREE_REFS:
                freed += _pool.pop(i).nbytes
            else:
                i += 1
        return freed
