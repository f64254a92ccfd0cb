"""FFTs on the C++ core (numpy.fft's conventions): fft, ifft, rfft, irfft; any size
(radix-2/4, mixed radix, Bluestein), plans cached, rows threaded."""
from __future__ import annotations

from typing import Optional

import numpy as np

from .. import _core
from .._validation import (MAX_FFT_SIZE, check_finite, check_int, check_out, check_output_size,
                           check_real_array, check_threads)
from . import _buffers

_COMPLEX_OF = {np.dtype(np.float32): np.dtype(np.complex64), np.dtype(np.float64): np.dtype(np.complex128)}
_REAL_OF = {np.dtype(np.complex64): np.dtype(np.float32), np.dtype(np.complex128): np.dtype(np.float64)}


# ----------------------------------------------------------------------------------------- FFT

def _norm_scale(norm, n: int, inverse: bool) -> float:
    if norm is None or norm == "backward":
        return 1.0 / n if inverse else 1.0
    if norm == "ortho":
        return 1.0 / np.sqrt(n)
    if norm == "forward":
        return 1.0 if inverse else 1.0 / n
    raise ValueError(f'norm must be None, "backward", "ortho" or "forward", got {norm!r}')


def _fit_length(a: np.ndarray, n: int) -> np.ndarray:
    """Crop or zero-pad the last axis to n (numpy.fft's ``n``)."""
    m = a.shape[-1]
    if m == n:
        return a
    if m > n:
        return np.ascontiguousarray(a[..., :n])
    pad = np.zeros(a.shape[:-1] + (n,), dtype=a.dtype)
    pad[..., :m] = a
    return pad


def _as_complex(x, name: str, finite: bool = True) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        arr = arr.astype(np.complex64 if arr.dtype in (np.float16, np.float32) else np.complex128)
    elif arr.dtype.kind != "c":
        raise TypeError(f"{name} must be a floating-point or complex array, got {arr.dtype}")
    if arr.dtype not in (np.complex64, np.complex128):
        arr = arr.astype(np.complex128)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    arr = np.ascontiguousarray(arr)
    if finite:
        check_finite(arr, name)
    return arr


def _rows_call(x: np.ndarray, axis: int, out_last: int, out_dtype, out, fn, check=None) -> np.ndarray:
    """Move `axis` last, run fn(x2d, out2d) on rows, move it back. A fresh result comes from
    the buffer pool (dsp/_buffers.py). With ``check``, fn returns False when it met a non-finite
    value and check() then validates the input (raising ValueError)."""
    axis = check_int(axis, "axis")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis {axis} is out of bounds for an array of dimension {x.ndim}")
    moved = axis not in (-1, x.ndim - 1)
    xm = np.ascontiguousarray(np.moveaxis(x, axis, -1)) if moved else x
    shape = xm.shape[:-1] + (out_last,)
    check_output_size(shape, np.dtype(out_dtype).itemsize)
    if out is not None:
        if moved:
            raise ValueError("out= is only supported with axis=-1")
        res = check_out(out, shape, out_dtype)
    else:
        res = _buffers.empty(shape, out_dtype)
    ok = fn(xm.reshape(-1, xm.shape[-1]), res.reshape(-1, out_last))
    if check is not None and not ok:
        check()   # a NaN / Inf in the input (or finite values that overflowed: no error)
    return np.moveaxis(res, -1, axis) if moved else res


def fft(x, n: Optional[int] = None, axis: int = -1, norm: Optional[str] = None, *,
        out: Optional[np.ndarray] = None, n_threads: Optional[int] = None) -> np.ndarray:
    """Discrete Fourier transform of complex (or real) input, like ``numpy.fft.fft``.

    Parameters
    ----------
    x : array_like, complex64/complex128 (float32/float64 are promoted), shape ``(..., m)``
    n : int, optional
        Transform length; the input is cropped or zero-padded to it (default ``m``). Any
        size >= 1 works: powers of two use radix-2/4 Cooley-Tukey, others Bluestein.
    axis : int
        Axis to transform.
    norm : {None, "backward", "ortho", "forward"}
        Scaling, as in numpy.
    out : ndarray, optional
        Preallocated C-contiguous result (only with ``axis=-1``).
    n_threads : int, optional
        Threads for batches of rows (default: all cores).

    Returns
    -------
    ndarray, complex64 for complex64/float32 input, else complex128; shape ``(..., n)``.

    Examples
    --------
    >>> X = rae_fast.fft(np.exp(2j * np.pi * 3 * np.arange(16) / 16).astype(np.complex64))
    >>> int(np.argmax(np.abs(X)))
    3
    """
    return _cfft(x, n, axis, norm, out, n_threads, inverse=False)


def ifft(x, n: Optional[int] = None, axis: int = -1, norm: Optional[str] = None, *,
         out: Optional[np.ndarray] = None, n_threads: Optional[int] = None) -> np.ndarray:
    """Inverse discrete Fourier transform, like ``numpy.fft.ifft`` (see :func:`fft`).

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal(12).astype(np.complex64)
    >>> bool(np.allclose(rae_fast.ifft(rae_fast.fft(x)), x, atol=1e-5))
    True
    """
    return _cfft(x, n, axis, norm, out, n_threads, inverse=True)


def _cfft(x, n, axis, norm, out, n_threads, inverse):
    threads = check_threads(n_threads)
    # NaN / Inf: the transform detects them (every input reaches the zero-frequency bin), the
    # input is scanned only when it reports one
    arr = _as_complex(x, "x", finite=False)
    axis = check_int(axis, "axis")
    if not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"axis {axis} is out of bounds for an array of dimension {arr.ndim}")
    n = arr.shape[axis] if n is None else check_int(n, "n", 1, MAX_FFT_SIZE)
    scale = _norm_scale(norm, n, inverse)
    full = arr
    if arr.shape[axis] != n:
        check_finite(full, "x")   # also the part that cropping leaves out
        arr = np.moveaxis(_fit_length(np.moveaxis(arr, axis, -1), n), -1, axis)
    return _rows_call(arr, axis, n, arr.dtype, out,
                      lambda a, o: _core.fft_rows(np.ascontiguousarray(a), o, inverse, scale, threads),
                      check=lambda: check_finite(full, "x"))


def rfft(x, n: Optional[int] = None, axis: int = -1, norm: Optional[str] = None, *,
         out: Optional[np.ndarray] = None, n_threads: Optional[int] = None) -> np.ndarray:
    """Real-input discrete Fourier transform, like ``numpy.fft.rfft``.

    Even sizes are computed through a complex FFT of half the size (radix-2/4 for powers of two,
    Bluestein otherwise); batches of rows are transformed several at a time across SIMD lanes
    and split over threads.

    Parameters
    ----------
    x : array_like, float32 or float64, shape ``(..., m)``
    n : int, optional
        Transform length (input cropped or zero-padded to it; default ``m``).
    axis : int
    norm : {None, "backward", "ortho", "forward"}
    out : ndarray, optional
        Preallocated result, shape ``(..., n // 2 + 1)``, complex64 for float32 input
        (complex128 for float64); only with ``axis=-1``. Without it, large results reuse the
        memory of earlier results that nothing refers to any more (up to ``RAE_FAST_POOL_MB``
        megabytes, default 256), so a loop of transforms does not page-fault fresh memory on
        every call.
    n_threads : int, optional

    Returns
    -------
    ndarray, shape ``(..., n // 2 + 1)``, complex64 or complex128.

    Raises
    ------
    ValueError
        If ``x`` holds a NaN or an infinity. The transform itself detects them (every input
        reaches the zero-frequency bin), so a given ``out`` has been written when this is raised.

    Examples
    --------
    >>> frames = np.random.default_rng(0).standard_normal((2000, 2048)).astype(np.float32)
    >>> X = rae_fast.rfft(frames)
    >>> X.shape, X.dtype
    ((2000, 1025), dtype('complex64'))
    """
    threads = check_threads(n_threads)
    # NaN / Inf: detected by the transform, the input is scanned only then (see _cfft)
    arr = check_real_array(x, "x", ndim=tuple(range(1, 33)), finite=False)
    axis = check_int(axis, "axis")
    if not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"axis {axis} is out of bounds for an array of dimension {arr.ndim}")
    n = arr.shape[axis] if n is None else check_int(n, "n", 1, MAX_FFT_SIZE)
    scale = _norm_scale(norm, n, False)
    full = arr
    if arr.shape[axis] != n:
        check_finite(full, "x")   # also the part that cropping leaves out
        arr = np.moveaxis(_fit_length(np.moveaxis(arr, axis, -1), n), -1, axis)
    return _rows_call(arr, axis, n // 2 + 1, _COMPLEX_OF[arr.dtype], out,
                      lambda a, o: _core.rfft_rows(np.ascontiguousarray(a), o, scale, threads),
                      check=lambda: check_finite(full, "x"))


def irfft(x, n: Optional[int] = None, axis: int = -1, norm: Optional[str] = None, *,
          out: Optional[np.ndarray] = None, n_threads: Optional[int] = None) -> np.ndarray:
    """Inverse of :func:`rfft`, like ``numpy.fft.irfft``.

    Parameters
    ----------
    x : array_like, complex64/complex128, shape ``(..., m)`` (half spectra)
    n : int, optional
        Output length (default ``2 * (m - 1)``); the input is cropped or zero-padded to
        ``n // 2 + 1`` bins. Imaginary parts of the DC and Nyquist bins are ignored.
    axis, norm, out, n_threads : as for :func:`rfft`.

    Returns
    -------
    ndarray, float32 for complex64 input (float64 for complex128), shape ``(..., n)``.

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    >>> bool(np.allclose(rae_fast.irfft(rae_fast.rfft(x), n=1000), x, atol=1e-5))
    True
    """
    threads = check_threads(n_threads)
    arr = _as_complex(x, "x")
    axis = check_int(axis, "axis")
    if not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"axis {axis} is out of bounds for an array of dimension {arr.ndim}")
    m = arr.shape[axis]
    if n is None:
        n = 2 * (m - 1)
        if n < 1:
            raise ValueError(f"x has {m} bin(s) along axis {axis}: pass n to choose the output length")
    n = check_int(n, "n", 1, MAX_FFT_SIZE)
    scale = _norm_scale(norm, n, True)
    nb = n // 2 + 1
    if m != nb:
        arr = np.moveaxis(_fit_length(np.moveaxis(arr, axis, -1), nb), -1, axis)
    return _rows_call(arr, axis, n, _REAL_OF[arr.dtype], out,
                      lambda a, o: _core.irfft_rows(np.ascontiguousarray(a), o, scale, threads))
