"""FFTs against numpy.fft: every power of two 2..2^16, mixed-radix and Bluestein sizes, both
precisions, batches, options, thread-count invariance and the baseline SIMD path."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import rae_fast
from rae_fast import _core

# Relative error bounds (L2 norm of the error / L2 norm of the reference spectrum).
TOL = {np.float32: 1e-5, np.float64: 1e-12}
NON_POW2 = [3, 5, 6, 7, 9, 12, 30, 37, 49, 97, 100, 210, 1000, 1009, 1764, 3528, 4098, 8820]


def rel_err(a, b):
    return np.linalg.norm((a - b).ravel()) / max(np.linalg.norm(b.ravel()), 1e-300)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("log2n", range(1, 17))
def test_rfft_every_power_of_two(log2n, dtype):
    n = 1 << log2n
    rng = np.random.default_rng(log2n)
    rows = max(1, min(37, (1 << 18) // n))
    x = rng.standard_normal((rows, n)).astype(dtype)
    X = rae_fast.rfft(x)
    assert X.dtype == (np.complex64 if dtype == np.float32 else np.complex128)
    ref = np.fft.rfft(x.astype(np.float64))
    for r in range(rows):
        assert rel_err(X[r], ref[r]) <= TOL[dtype], (n, r)
    back = rae_fast.irfft(X, n=n)
    assert back.dtype == dtype
    assert rel_err(back, x) <= 2 * TOL[dtype]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", NON_POW2)
def test_rfft_non_power_of_two(n, dtype):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((5, n)).astype(dtype)
    X = rae_fast.rfft(x)
    ref = np.fft.rfft(x.astype(np.float64))
    assert rel_err(X, ref) <= 3 * TOL[dtype]
    assert rel_err(rae_fast.irfft(X, n=n), x) <= 3 * TOL[dtype]


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("n", [1, 2, 4, 8, 64, 1024, 1 << 14] + NON_POW2)
def test_fft_ifft_against_numpy(n, dtype):
    rng = np.random.default_rng(n + 1)
    rows = 3 if n > 4096 else 19
    x = (rng.standard_normal((rows, n)) + 1j * rng.standard_normal((rows, n))).astype(dtype)
    tol = TOL[np.float32 if dtype == np.complex64 else np.float64] * 3
    X = rae_fast.fft(x)
    assert X.dtype == dtype
    assert rel_err(X, np.fft.fft(x.astype(np.complex128))) <= tol
    assert rel_err(rae_fast.ifft(X), x) <= tol


def test_single_row_matches_batch_rows():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 2048)).astype(np.float32)
    batch = rae_fast.rfft(x)
    for r in (0, 17, 39):
        single = rae_fast.rfft(x[r])
        assert rel_err(single, batch[r]) <= 1e-6


@pytest.mark.parametrize("norm", [None, "backward", "ortho", "forward"])
def test_norm_modes(norm):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 300))
    assert np.allclose(rae_fast.rfft(x, norm=norm), np.fft.rfft(x, norm=norm), atol=1e-10)
    X = np.fft.rfft(x, norm=norm)
    assert np.allclose(rae_fast.irfft(X, n=300, norm=norm), np.fft.irfft(X, n=300, norm=norm), atol=1e-10)
    z = x + 1j * x[::-1]
    assert np.allclose(rae_fast.ifft(z, norm=norm), np.fft.ifft(z, norm=norm), atol=1e-10)


def test_n_and_axis_like_numpy():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 50, 4))
    for n in (20, 50, 64, 77):
        assert np.allclose(rae_fast.rfft(x, n=n, axis=1), np.fft.rfft(x, n=n, axis=1), atol=1e-10)
        assert np.allclose(rae_fast.fft(x, n=n, axis=0), np.fft.fft(x, n=n, axis=0), atol=1e-10)
    X = np.fft.rfft(x, axis=1)
    for n in (49, 50, 60):
        assert np.allclose(rae_fast.irfft(X, n=n, axis=1), np.fft.irfft(X, n=n, axis=1), atol=1e-10)


def test_irfft_ignores_imaginary_dc_and_nyquist_like_numpy():
    X = np.array([1 + 5j, 2 - 1j, 3 + 0.5j, -1 + 7j])
    assert np.allclose(rae_fast.irfft(X), np.fft.irfft(X), atol=1e-12)
    assert np.allclose(rae_fast.irfft(X, n=7), np.fft.irfft(X, n=7), atol=1e-12)


def test_out_parameter_is_filled_and_returned():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((10, 512)).astype(np.float32)
    out = np.empty((10, 257), np.complex64)
    res = rae_fast.rfft(x, out=out)
    assert res is out
    assert rel_err(out, np.fft.rfft(x)) <= 1e-5
    with pytest.raises(ValueError, match="out"):
        rae_fast.rfft(x, out=np.empty((10, 256), np.complex64))
    with pytest.raises(TypeError, match="out"):
        rae_fast.rfft(x, out=np.empty((10, 257), np.complex128))
    with pytest.raises(ValueError, match="C-contiguous"):
        rae_fast.rfft(x, out=np.empty((257, 10), np.complex64).T)


@pytest.mark.parametrize("n", [256, 512, 1024, 2048, 3528, 4096, 4098, 8192])
@pytest.mark.parametrize("rows", [1, 53, 601])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_identical_for_any_thread_count(n, rows, dtype):
    """Bit-identical output whatever the thread count and however the rows are split (dynamic
    chunks, pooled or fresh output), forward and inverse."""
    rng = np.random.default_rng(n + rows)
    x = rng.standard_normal((rows, n)).astype(dtype)
    ref = rae_fast.rfft(x, n_threads=1)
    for t in (2, 3, 5):
        assert np.array_equal(rae_fast.rfft(x, n_threads=t), ref), t
    back = rae_fast.irfft(ref, n=n, n_threads=1)
    for t in (2, 4):
        assert np.array_equal(rae_fast.irfft(ref, n=n, n_threads=t), back), t
    z = (x + 1j * x[::-1]).astype(np.complex64 if dtype == np.float32 else np.complex128)
    refc = rae_fast.fft(z, n_threads=1)
    for t in (2, 4):
        assert np.array_equal(rae_fast.fft(z, n_threads=t), refc), t


def test_simd_level_reported_and_env_forces_baseline():
    assert rae_fast.simd_level() in _core.simd_levels()
    code = textwrap.dedent("""
        import numpy as np, rae_fast
        assert rae_fast.simd_level() == "baseline", rae_fast.simd_level()
        rng = np.random.default_rng(0)
        for n in (2, 64, 1024, 3528, 97):
            x = rng.standard_normal((21, n)).astype(np.float32)
            ref = np.fft.rfft(x.astype(np.float64))
            err = np.linalg.norm(rae_fast.rfft(x) - ref) / np.linalg.norm(ref)
            assert err < 1e-5, (n, err)
            y = rng.standard_normal(30000).astype(np.float32)
            import librosa
            S = rae_fast.melspectrogram(y=y, sr=22050, n_fft=1024, hop_length=256)
            R = librosa.feature.melspectrogram(y=y, sr=22050, n_fft=1024, hop_length=256)
            assert np.max(np.abs(S - R)) <= 1e-5 * R.max()
        print("baseline ok")
    """)
    env = dict(os.environ, RAE_FAST_SIMD="baseline")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    assert "baseline ok" in res.stdout
