"""Scratch memory of the FFTs is sized for the work actually done.

A single long row runs on the scalar path (one row at a time), so its scratch must not be sized
for a full group of SIMD lanes (16 float rows with AVX-512): at the documented maximum size,
2**27 points, that used to be ~26 GB for one row.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import rae_fast
from rae_fast import _core
from rae_fast._validation import MAX_FFT_SIZE

MiB = 1 << 20


@pytest.mark.parametrize("dtype, itemsize", [("float32", 4), ("float64", 8)])
def test_single_row_scratch_at_the_maximum_size_is_about_one_input(dtype, itemsize):
    n = MAX_FFT_SIZE
    input_bytes = n * itemsize
    for n_threads in (0, 1, 4):
        # two split-complex buffers of n/2 points: the size of the input, plus a few vectors
        fwd = _core.rfft_scratch_bytes(n, 1, dtype, n_threads)
        assert input_bytes <= fwd <= input_bytes + MiB
        inv = _core.rfft_scratch_bytes(n, 1, dtype, n_threads, inverse=True)
        assert inv <= 2 * input_bytes + MiB


def test_scratch_grows_with_the_rows_processed_not_with_the_lanes():
    n = 1 << 20
    one = _core.rfft_scratch_bytes(n, 1, "float32", 1)
    lanes = _core.simd_lanes("float32")
    assert _core.rfft_scratch_bytes(n, 0, "float32", 1) == 0
    # a batch that fills the SIMD lanes works on `lanes` rows at a time on each thread
    full = _core.rfft_scratch_bytes(n, 4 * lanes, "float32", 1)
    assert full <= lanes * one + MiB
    assert _core.rfft_scratch_bytes(n, 4 * lanes, "float32", 2) == 2 * full


def test_scratch_sizes_for_other_algorithms():
    # mixed radix (work buffers) and Bluestein (padded to a power of two >= 2n - 1)
    mixed = _core.rfft_scratch_bytes(2 * 3528, 1, "float32", 1)
    assert 2 * 3528 * 4 <= mixed <= 4 * 3528 * 4 + 4096
    blue = _core.rfft_scratch_bytes(2 * 4099, 1, "float32", 1)
    assert blue <= 2 * 16384 * 4 + 4096
    with pytest.raises(ValueError):
        _core.rfft_scratch_bytes(MAX_FFT_SIZE + 1, 1, "float32", 1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is enforced on Linux only")
def test_large_single_row_rfft_runs_in_bounded_address_space():
    """rfft of 2**23 float32 samples in a subprocess whose address space may grow by 350 MiB:
    input, output and plan take ~150 MiB, the scratch 32 MiB (it used to be 400 MiB to 1.6 GiB,
    depending on the SIMD level)."""
    code = textwrap.dedent("""
        import resource, sys
        import numpy as np
        import rae_fast

        def vm_size():
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmSize:"):
                        return int(line.split()[1]) * 1024

        n = 1 << 23
        x = np.random.default_rng(0).standard_normal(n, dtype=np.float32)
        rae_fast.rfft(x[:1024], n_threads=1)  # warm up: lazy initialisations
        limit = vm_size() + 350 * (1 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        X = rae_fast.rfft(x, n_threads=1)
        print("ok", X.shape)
    """)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env=env)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert res.stdout.startswith("ok (4194305,)")


def test_large_rfft_matches_numpy():
    x = np.random.default_rng(1).standard_normal(1 << 21).astype(np.float32)
    X = rae_fast.rfft(x, n_threads=1)
    ref = np.fft.rfft(x.astype(np.float64))
    assert np.max(np.abs(X - ref)) / np.max(np.abs(ref)) < 1e-5
