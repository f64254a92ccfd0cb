"""Input validation shared by the public signal functions.

Every check raises ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind, impossible
value) with a message that names the parameter, before any work is done.
"""
from __future__ import annotations

import numbers
import os
from typing import Optional

import numpy as np

from . import _core

#: Largest FFT / frame size accepted (2**27 points), as in the C++ core.
MAX_FFT_SIZE = 1 << 27


def is_integer(value) -> bool:
    """True for Python / numpy integers (``bool`` excluded: ``True`` is not a count)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_int(value, name: str, minimum: Optional[int] = None, maximum: Optional[int] = None,
              *, allow_none: bool = False) -> Optional[int]:
    """Return ``value`` as an ``int`` after checking its type and range (``None`` passes
    through with ``allow_none``).

    >>> check_int(3, "n_mels", 1)
    3
    """
    if value is None and allow_none:
        return None
    if not is_integer(value):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} ({value!r})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_float(value, name: str, minimum: Optional[float] = None, maximum: Optional[float] = None,
                strict_min: bool = False, *, strict_max: bool = False,
                allow_none: bool = False) -> Optional[float]:
    """Return ``value`` as a finite ``float`` after checking its type and range (``None`` passes
    through with ``allow_none``; ``strict_min`` / ``strict_max`` exclude the bounds).

    >>> check_float(0.5, "window_width", 0.0, strict_min=True)
    0.5
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} ({value!r})")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None:
        if strict_min and not value > minimum:
            raise ValueError(f"{name} must be > {minimum}, got {value}")
        if not strict_min and value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None:
        if strict_max and not value < maximum:
            raise ValueError(f"{name} must be < {maximum}, got {value}")
        if not strict_max and value > maximum:
            raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_bool(value, name: str) -> bool:
    """``value`` as a ``bool``; anything but ``True`` / ``False`` (numpy's too) is a TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_threads(n_threads) -> int:
    """``None`` -> 0 (all cores); otherwise a positive integer."""
    if n_threads is None:
        return 0
    return check_int(n_threads, "n_threads", minimum=1, maximum=1024)


def default_threads() -> int:
    """Number of threads used when ``n_threads=None``: all cores (or ``RAE_FAST_NUM_THREADS``)."""
    env = os.environ.get("RAE_FAST_NUM_THREADS")
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"RAE_FAST_NUM_THREADS must be an integer, got {env!r}") from None
        if n >= 1:
            return n
    try:  # the cores this process may run on (containers, taskset)
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return _core.hardware_threads()


def check_dtype_arg(dtype, name: str = "dtype"):
    """``None``, float32 or float64 -> numpy dtype (or None)."""
    if dtype is None:
        return None
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{name} must be float32 or float64, got {dt}")
    return dt


def check_real_array(x, name: str = "y", ndim=(1, 2), dtype=None, min_length: int = 1, *,
                     finite: bool = True) -> np.ndarray:
    """Validate a real signal array and return it C-contiguous as float32 or float64.

    - floating dtypes are kept (float16 is widened to float32); integer, boolean, complex and
      object arrays raise ``TypeError`` (convert explicitly, e.g. ``y.astype(np.float32) / 32768``);
    - ``ndim`` not allowed, empty or shorter than ``min_length`` along the last axis, or any NaN /
      Inf raise ``ValueError``.
    ``dtype`` (float32/float64) forces the working precision. ``finite=False`` leaves the NaN /
    Inf check to the caller (:func:`check_finite`), e.g. a transform that detects them itself.
    """
    if isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except Exception as exc:  # pragma: no cover - exotic objects
            raise TypeError(f"{name} must be an array of floating-point samples") from exc
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real (float32 or float64), got complex dtype {arr.dtype}")
    if arr.dtype.kind != "f":
        if arr.dtype.kind in "iub":
            raise TypeError(
                f"{name} must be a floating-point array (float32 or float64), got {arr.dtype}; "
                f"convert integer PCM explicitly, e.g. {name}.astype(np.float32) / 32768")
        raise TypeError(f"{name} must be a floating-point array (float32 or float64), got {arr.dtype}")
    if isinstance(ndim, int):
        ndim = (ndim,)
    if arr.ndim not in ndim:
        allowed = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be {allowed}, got a {arr.ndim}-D array of shape {arr.shape}")
    if arr.size == 0 or (arr.ndim >= 1 and arr.shape[-1] < min_length):
        if arr.size == 0:
            raise ValueError(f"{name} is empty (shape {arr.shape})")
        raise ValueError(f"{name} must have at least {min_length} samples along its last axis, "
                         f"got {arr.shape[-1]}")
    want = dtype if dtype is not None else (np.float32 if arr.dtype == np.float16 else arr.dtype)
    arr = np.ascontiguousarray(arr, dtype=want)
    if finite:
        check_finite(arr, name)
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """``ValueError`` naming ``name`` and the first bad index if the C-contiguous float or
    complex array ``arr`` holds a NaN or an infinity."""
    if not _core.all_finite(arr):
        bad = np.flatnonzero(~np.isfinite(arr))
        where = np.unravel_index(bad[0], arr.shape)
        raise ValueError(f"{name} contains non-finite values (NaN or Inf), e.g. at index "
                         f"{tuple(int(i) for i in where)} ({bad.size} in total)")


def check_out(out, shape, dtype, name: str = "out") -> np.ndarray:
    """Validate a caller-provided output array (exact shape and dtype, C-contiguous, writeable)."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(out).__name__}")
    if out.dtype != np.dtype(dtype):
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {out.dtype}")
    if tuple(out.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(out.shape)}")
    if not out.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    if not out.flags.writeable:
        raise ValueError(f"{name} must be writeable")
    return out


def check_output_size(shape, itemsize: int, what: str = "output") -> None:
    """Refuse outputs that could never be allocated (more than 2**40 bytes)."""
    total = int(itemsize)
    for s in shape:
        total *= int(s)
    if total > (1 << 40):
        raise ValueError(f"the {what} would need {total / 2**30:.0f} GiB "
                         f"(shape {tuple(int(s) for s in shape)}); reduce the sizes")
