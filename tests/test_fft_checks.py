"""The FFT's own NaN / Inf detection and the reused output memory (issue 16).

rfft / fft no longer scan their input before transforming it: the transform reports a
non-finite zero-frequency bin, which every NaN or infinite input produces, and only then is the
input scanned (so finite inputs that overflow still give numpy's infinities, not an error).
Large results come from a pool of buffers that earlier results no longer use.
"""
import gc

import numpy as np
import pytest

import rae_fast
from rae_fast.dsp import _buffers

SIZES = [1, 2, 3, 8, 16, 17, 64, 97, 256, 3528, 4096]   # scalar, radix-2, mixed radix, Bluestein


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("rows", [1, 3, 40])            # single row, few rows, SIMD lane groups
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rfft_rejects_non_finite_anywhere(n, rows, bad, dtype):
    rng = np.random.default_rng(n * 100 + rows)
    for _ in range(3):
        x = rng.standard_normal((rows, n)).astype(dtype)
        r, t = rng.integers(rows), rng.integers(n)
        x[r, t] = bad
        with pytest.raises(ValueError, match=rf"non-finite.*index \({r}, {t}\)"):
            rae_fast.rfft(x, n_threads=2)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("rows", [1, 40])
@pytest.mark.parametrize("inverse", [False, True])
def test_fft_rejects_non_finite_real_or_imaginary(n, rows, inverse):
    rng = np.random.default_rng(n + rows)
    fn = rae_fast.ifft if inverse else rae_fast.fft
    for part in (1, 1j):
        z = (rng.standard_normal((rows, n)) + 1j * rng.standard_normal((rows, n))).astype(np.complex64)
        z[rng.integers(rows), rng.integers(n)] = part * np.inf
        with pytest.raises(ValueError, match="non-finite"):
            fn(z)
        z[...] = 0
        z[rng.integers(rows), rng.integers(n)] = part * np.nan
        with pytest.raises(ValueError, match="non-finite"):
            fn(z)


def test_non_finite_in_the_cropped_part_is_still_rejected():
    x = np.ones((4, 100), np.float32)
    x[2, 90] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        rae_fast.rfft(x, n=64)
    with pytest.raises(ValueError, match="non-finite"):
        rae_fast.fft(x.astype(np.complex64), n=64)


def test_finite_input_that_overflows_is_not_an_error():
    x = np.full((20, 64), 3e38, np.float32)   # the sums overflow float32
    X = rae_fast.rfft(x)                      # no ValueError: the input is finite
    assert not np.isfinite(X[:, 0]).any()     # (numpy's float32 FFT overflows as well)


def test_results_from_the_pool_are_independent_arrays():
    x = np.random.default_rng(1).standard_normal((600, 1024)).astype(np.float32)
    ref = np.fft.rfft(x.astype(np.float64), axis=1)
    keep = []
    for i in range(4):
        X = rae_fast.rfft(x * (i + 1))
        assert X.nbytes >= 1 << 20 and X.flags.c_contiguous and X.flags.writeable
        keep.append(X[::7])                  # a view keeps its buffer in use
        del X
        gc.collect()
    for i, v in enumerate(keep):             # no later result overwrote an earlier one
        assert np.allclose(v, (i + 1) * ref[::7], rtol=1e-4, atol=1e-3 * (i + 1))
    # memory is reused once nothing refers to a result
    X = rae_fast.rfft(x)
    addr = X.__array_interface__["data"][0]
    del X
    gc.collect()
    Y = rae_fast.rfft(x)
    assert Y.__array_interface__["data"][0] == addr
    assert np.allclose(Y, ref, rtol=1e-4, atol=1e-3)


def test_pool_size_is_bounded(monkeypatch):
    monkeypatch.setenv("RAE_FAST_POOL_MB", "3")
    _buffers.release()
    a = _buffers.empty((1 << 20,), np.uint8)
    b = _buffers.empty((1 << 20,), np.uint8)
    c = _buffers.empty((1 << 20,), np.uint8)
    d = _buffers.empty((1 << 20,), np.uint8)     # over the limit: plain memory
    assert sum(buf.nbytes for buf in _buffers._pool) <= 3 << 20
    assert d.base is None or d.base.nbytes == d.nbytes
    del a, b, c, d
    assert _buffers.release() == 3 << 20
    monkeypatch.setenv("RAE_FAST_POOL_MB", "0")
    e = _buffers.empty((4 << 20,), np.uint8)
    assert e.flags.owndata and not _buffers._pool
