"""Windows against scipy.signal.get_window."""
import numpy as np
import pytest
import scipy.signal

import rae_fast


@pytest.mark.parametrize("name", ["hann", "hamming", "blackman", "bartlett", "boxcar"])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 64, 1000, 3528, 4096])
@pytest.mark.parametrize("fftbins", [True, False])
def test_matches_scipy(name, n, fftbins):
    ref = scipy.signal.get_window(name, n, fftbins=fftbins)
    w = rae_fast.get_window(name, n, fftbins=fftbins)
    assert w.dtype == np.float32 and w.shape == (n,)
    assert np.allclose(w, ref.astype(np.float32), rtol=0, atol=2e-7)
    w64 = rae_fast.get_window(name, n, fftbins=fftbins, dtype=np.float64)
    assert np.allclose(w64, ref, rtol=0, atol=1e-14)


def test_aliases_tuple_and_array():
    assert np.array_equal(rae_fast.get_window("rectangular", 5), np.ones(5, np.float32))
    assert np.array_equal(rae_fast.get_window(("hann",), 8), rae_fast.get_window("hann", 8))
    vals = np.linspace(0, 1, 6)
    assert np.allclose(rae_fast.get_window(vals, 6), vals)


def test_bad_windows():
    with pytest.raises(ValueError, match="window"):
        rae_fast.get_window("kaiser-ish", 16)
    with pytest.raises(ValueError, match="Nx"):
        rae_fast.get_window(np.ones(5), 6)
    with pytest.raises(ValueError, match="Nx"):
        rae_fast.get_window("hann", 0)
    with pytest.raises(ValueError, match="parametrised"):
        rae_fast.get_window(("kaiser", 8.0), 16)
