"""Window functions (scipy.signal.get_window's names and results)."""
from __future__ import annotations

from typing import Union

import numpy as np

from .. import _core
from .._validation import MAX_FFT_SIZE, check_dtype_arg, check_int, check_real_array

# ------------------------------------------------------------------------------------- windows

def get_window(window: Union[str, tuple, np.ndarray] = "hann", Nx: int = 2048, fftbins: bool = True,
               dtype=np.float32) -> np.ndarray:
    """A window function, identical to ``scipy.signal.get_window`` (to float32 precision).

    Parameters
    ----------
    window : str, tuple or array_like
        ``"hann"`` (alias ``"hanning"``), ``"hamming"``, ``"blackman"``, ``"bartlett"``,
        ``"boxcar"`` (aliases ``"rectangular"``, ``"rect"``, ``"ones"``), a 1-tuple such as
        ``("hann",)``, or an array of ``Nx`` values (returned as given).
    Nx : int
        Number of points (>= 1, as in scipy).
    fftbins : bool
        True (default): periodic ("DFT-even") window for spectral analysis; False: symmetric.
    dtype : float32 (default) or float64

    Returns
    -------
    ndarray of shape ``(Nx,)``.

    Examples
    --------
    >>> rae_fast.get_window("hann", 4)
    array([0. , 0.5, 1. , 0.5], dtype=float32)
    """
    Nx = check_int(Nx, "Nx", 1, MAX_FFT_SIZE)
    dt = check_dtype_arg(dtype) or np.dtype(np.float32)
    if isinstance(window, tuple):
        if len(window) != 1:
            raise ValueError(f"window: parametrised windows are not supported, got {window!r}")
        window = window[0]
    if isinstance(window, str):
        return _core.get_window(window.lower(), Nx, bool(fftbins)).astype(dt)
    arr = check_real_array(window, "window", ndim=1)
    if arr.shape[0] != Nx:
        raise ValueError(f"window array has {arr.shape[0]} values, expected Nx = {Nx}")
    return arr.astype(dt)


def _frame_window(window, win_length: int, n_fft: int, dtype) -> np.ndarray:
    """librosa's window handling: win_length values, zero-padded to n_fft (centred)."""
    if isinstance(window, (str, tuple)):
        w = get_window(window, win_length, fftbins=True, dtype=np.float64)
    else:
        w = check_real_array(window, "window", ndim=1).astype(np.float64)
        if w.shape[0] == n_fft:
            return w.astype(dtype)
        if w.shape[0] != win_length:
            raise ValueError(f"window array must have win_length ({win_length}) or n_fft ({n_fft}) "
                             f"values, got {w.shape[0]}")
    full = np.zeros(n_fft, dtype=np.float64)
    lpad = (n_fft - win_length) // 2
    full[lpad:lpad + win_length] = w
    return full.astype(dtype)
