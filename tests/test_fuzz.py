"""Fuzz smoke test: random parameters and odd arrays through the public signal API and through
``rae_fast._core`` called directly.

Every call must either return or raise TypeError / ValueError / OverflowError / MemoryError; a
crash (a signal), a hang or any other exception is a failure. Inputs: float16/32/64, integer,
bool, complex and object arrays; 0-D to 3-D shapes including empty ones; NaN / Inf / huge /
denormal values; non-contiguous, Fortran-ordered, negatively strided and read-only arrays;
negative, zero, huge (beyond the 2**27 maximum, beyond 64 bits) and non-integer parameters.
Valid parameters are kept small enough that a case takes milliseconds.

pytest runs a short seeded session (about 20 s) in a subprocess. A longer run:

    python tests/test_fuzz.py --seconds 600 [--seed N]

prints the case it is about to run to ``--log`` (default: fuzz-last-case.txt in the temporary
directory), so that the input of a crash can be read afterwards. ``--asan`` is for an extension
built with AddressSanitizer (see docs/building.md).
"""
import argparse
import collections
import faulthandler
import os
import random
import subprocess
import sys
import tempfile
import time
import traceback
import warnings

ALLOWED = (TypeError, ValueError, OverflowError, MemoryError)

# ----------------------------------------------------------------------------- random inputs

INVALID_INTS = [-(2 ** 63), -(2 ** 31), -1, 0, (1 << 27) + 1, 2 ** 31, 2 ** 62, 2 ** 63,
                2 ** 64, 2 ** 64 + 1, 10 ** 30]
SMALL_INTS = [1, 2, 3, 4, 5, 7, 8, 15, 16, 31, 64, 100, 127, 256, 400, 512, 1000, 1024, 2048,
              3528, 4096]
ODD_VALUES = [None, True, False, 1.5, float("nan"), float("inf"), -float("inf"), "7", "hann",
              b"x", [3], (2,), {}, object(), 1 + 2j]
FLOATS = [0.0, -0.0, 1e-300, 1e-45, 0.5, 1.0, 2.0, 8000.0, 16000.0, 22050.0, 44100.0, -1.0,
          -22050.0, 1e300, float("nan"), float("inf"), -float("inf")]
# Sizes that pass the checks but cannot be allocated (MemoryError). An AddressSanitizer build
# aborts on a failed `new` instead of throwing std::bad_alloc, so --asan leaves them out.
HUGE_ALLOCS = [2 ** 40]
DTYPES = ["float32", "float32", "float64", "float64", "float16", "int16", "int32", "uint8",
          "bool", "complex64", "complex128", "object"]


def rint(rng, valid_max=4096):
    """An integer parameter: usually small and valid, sometimes invalid or of the wrong type."""
    r = rng.random()
    if r < 0.7:
        return rng.choice([s for s in SMALL_INTS if s <= valid_max] or [1])
    if r < 0.9:
        return rng.choice(INVALID_INTS)
    return rng.choice(ODD_VALUES)


def rhop(rng):
    """A hop length: valid ones keep the frame count (and the run time) moderate."""
    r = rng.random()
    if r < 0.7:
        return rng.choice([16, 64, 100, 256, 512, 1000, 4096])
    if r < 0.9:
        return rng.choice(INVALID_INTS)
    return rng.choice(ODD_VALUES)


def rfloat(rng):
    r = rng.random()
    if r < 0.85:
        return rng.choice(FLOATS)
    return rng.choice(ODD_VALUES)


def maybe(rng, value, other, p=0.8):
    return value if rng.random() < p else other


def rarray(rng, np, ndim=None, dtype=None, max_len=20000):
    """An array of random dtype, shape, contents and memory layout."""
    ndim = rng.choice([0, 1, 1, 1, 2, 2, 3]) if ndim is None else ndim
    dtype = rng.choice(DTYPES) if dtype is None else dtype
    lengths = [0, 1, 2, 3, 5, 16, 100, 257, 1000, 4096, rng.randint(1, max_len)]
    shape = []
    for axis in range(ndim):
        n = rng.choice(lengths)
        if axis < ndim - 1:
            n = min(n, 4)  # batch axes stay small
        shape.append(n)
    size = 1
    for s in shape:
        size *= s
    if size > 100000:
        shape[-1] = max(1, 100000 // max(1, size // shape[-1]))
    shape = tuple(shape)
    gen = np.random.default_rng(rng.randrange(2 ** 32))
    if dtype == "object":
        a = np.empty(shape, dtype=object)
        a[...] = 1.0
        return a
    base = np.array(gen.standard_normal(shape) * rng.choice([1.0, 1e-30, 1e30, 32767.0]))
    kind = rng.random()
    if kind < 0.1 and base.size:
        base.flat[gen.integers(0, base.size)] = rng.choice([np.nan, np.inf, -np.inf])
    elif kind < 0.15:
        base[...] = 0.0
    elif kind < 0.2:
        base[...] = 5e-324
    if np.dtype(dtype).kind == "c":
        a = (base + 1j * gen.standard_normal(shape)).astype(dtype)
    else:
        with np.errstate(all="ignore"):
            a = base.astype(dtype)
    layout = rng.random()
    if layout < 0.1 and a.ndim >= 1 and a.shape[-1] > 1:
        a = a[..., ::2]  # strided
    elif layout < 0.15 and a.ndim >= 1:
        a = a[..., ::-1]  # negative stride
    elif layout < 0.2 and a.ndim >= 2:
        a = np.asfortranarray(a)
    elif layout < 0.25 and a.ndim >= 2:
        a = a.T
    if rng.random() < 0.1:
        a = a.copy() if a.flags.writeable is False else a
        a.setflags(write=False)
    if rng.random() < 0.05:
        a = a.tolist()  # plain Python lists
    return a


def signal(rng, np, max_len=20000):
    """Mostly a valid float signal (1-D or a small 2-D batch), sometimes anything."""
    if rng.random() < 0.75:
        return rarray(rng, np, ndim=rng.choice([1, 1, 2]), dtype=rng.choice(["float32", "float64"]),
                      max_len=max_len)
    return rarray(rng, np, max_len=max_len)


# ----------------------------------------------------------------------------- cases

def case_fft(rng, np, rf):
    fn = rng.choice([rf.fft, rf.ifft, rf.rfft, rf.irfft])
    x = rarray(rng, np)
    kw = {}
    if rng.random() < 0.5:  # (long transforms of many rows would take seconds)
        kw["n"] = rint(rng, 8192 if np.size(x) <= 20000 else 256)
    if rng.random() < 0.3:
        kw["axis"] = rng.choice([0, 1, -1, -2, 5, -7, 1.0, None])
    if rng.random() < 0.3:
        kw["norm"] = rng.choice([None, "ortho", "forward", "backward", "bad", 3])
    if rng.random() < 0.2:
        kw["n_threads"] = rng.choice([None, 1, 2, 0, -1, 2 ** 40, 1.5])
    if rng.random() < 0.1:
        kw["out"] = rarray(rng, np)
    return fn, (x,), kw


def stft_kwargs(rng):
    kw = {}
    if rng.random() < 0.8:
        kw["n_fft"] = rint(rng, 4096)
    if rng.random() < 0.5:
        kw["hop_length"] = rhop(rng)
    if rng.random() < 0.3:
        kw["win_length"] = rint(rng, 4096)
    if rng.random() < 0.3:
        kw["window"] = rng.choice(["hann", "hamming", "blackman", "bartlett", "boxcar", "kaiser",
                                   ("hann",), ("kaiser", 4.0), None, 3])
    if rng.random() < 0.3:
        kw["center"] = rng.choice([True, False, 1, None])
    if rng.random() < 0.3:
        kw["pad_mode"] = rng.choice(["constant", "reflect", "symmetric", "edge", "wrap", "bogus"])
    if rng.random() < 0.2:
        kw["dtype"] = rng.choice(["float32", "float64", "int16", None, "complex64"])
    if rng.random() < 0.2:
        kw["n_threads"] = rng.choice([None, 1, 2, 0, -3])
    return kw


def case_stft(rng, np, rf):
    fn = rng.choice([rf.stft, rf.power_spectrogram])
    kw = stft_kwargs(rng)
    if fn is rf.power_spectrogram and rng.random() < 0.3:
        kw["power"] = rfloat(rng)
    if rng.random() < 0.1 and "n_fft" in kw and isinstance(kw["n_fft"], int) and 0 < kw["n_fft"] <= 4096:
        kw["window"] = rarray(rng, np, ndim=1)
    return fn, (signal(rng, np),), kw


def case_mel(rng, np, rf):
    kw = stft_kwargs(rng)
    kw.pop("win_length", None) if rng.random() < 0.5 else None
    kw["sr"] = maybe(rng, rng.choice([8000.0, 16000, 22050.0, 44100]), rfloat(rng))
    for name in ("fmin", "fmax"):
        if rng.random() < 0.3:
            kw[name] = rfloat(rng)
    if rng.random() < 0.5:
        kw["n_mels"] = rng.choice([1, 8, 40, 128, 0, -1, (1 << 16) + 1, 2 ** 64, 2.0, None])
    if rng.random() < 0.3:
        kw["htk"] = rng.choice([True, False, 1, "yes"])
    if rng.random() < 0.3:
        kw["norm"] = rng.choice([None, "slaney", 1, 2.0, np.inf, -1, float("nan"), "l2", True])
    if rng.random() < 0.3:
        kw["power"] = rfloat(rng)
    if rng.random() < 0.2:
        kw.pop("hop_length", None)
        return rf.melspectrogram, (), dict(kw, S=rarray(rng, np))
    return rf.melspectrogram, (), dict(kw, y=signal(rng, np))


def case_filterbank(rng, np, rf):
    if rng.random() < 0.5:
        kw = {"sr": maybe(rng, 22050.0, rfloat(rng)), "n_fft": rint(rng, 4096),
              "n_mels": rng.choice([1, 10, 40, 128, 0, -5, 2 ** 63, 1.5])}
        for name in ("fmin", "fmax"):
            if rng.random() < 0.3:
                kw[name] = rfloat(rng)
        if rng.random() < 0.3:
            kw["htk"] = rng.choice([True, False, None])
        if rng.random() < 0.3:
            kw["norm"] = rng.choice([None, "slaney", 1.0, np.inf, 0, -2, "max"])
        if rng.random() < 0.2:
            kw["dtype"] = rng.choice(["float32", "float64", "int8", None])
        return rf.mel_filterbank, (), kw
    fn = rng.choice([rf.hz_to_mel, rf.mel_to_hz])
    return fn, (rng.choice([rfloat(rng), rarray(rng, np)]),), {"htk": rng.choice([True, False])}


def case_window(rng, np, rf):
    window = rng.choice(["hann", "hanning", "hamming", "blackman", "bartlett", "boxcar",
                         "rectangular", "ones", "gauss", "", ("hann",), ("hann", 1), (),
                         rarray(rng, np, ndim=1), None, 7])
    kw = {}
    if rng.random() < 0.5:
        kw["fftbins"] = rng.choice([True, False, 0, None])
    if rng.random() < 0.3:
        kw["dtype"] = rng.choice(["float32", "float64", "float16", None])
    return rf.get_window, (window, rint(rng, 65536)), kw


def case_db(rng, np, rf):
    if rng.random() < 0.6:
        kw = {}
        if rng.random() < 0.4:
            kw["ref"] = rng.choice([1.0, np.max, np.min, 0.0, -1.0, float("nan"), lambda S: 1e-30, "x"])
        if rng.random() < 0.4:
            kw["amin"] = rfloat(rng)
        if rng.random() < 0.4:
            kw["top_db"] = rng.choice([None, 80.0, 0.0, -1.0, float("inf"), float("nan")])
        if rng.random() < 0.1:
            kw["out"] = rarray(rng, np)
        x = rarray(rng, np)
        if rng.random() < 0.5 and hasattr(x, "dtype") and x.dtype.kind == "f":
            x = np.abs(x)
        return rf.power_to_db, (x,), kw
    if rng.random() < 0.5:
        return rf.audeep_normalize, (rarray(rng, np),), {}
    kw = {"sr": maybe(rng, rng.choice([16000.0, 44100]), rfloat(rng))}
    for name, values in (("window_width", [0.08, 0.02, 0.0, -1.0, 1e9, float("nan")]),
                         ("window_overlap", [0.04, 0.01, 0.0, 0.08, -0.5]),
                         ("n_mels", [None, 16, 128, 0, 2 ** 20]),
                         ("clip_below", [None, -60.0, 0.0, float("nan")]),
                         ("clip_above", [None, -10.0, 100.0]),
                         ("pre_emphasis", [None, 0.0, 0.95, 1.0, 2.0, -3.0]),
                         ("mean_norm", [True, False, "yes"]),
                         ("win_length", [None, 64, 400, 0, 2 ** 30]),
                         ("hop_length", [None, 16, 32, 0, -1])):
        if rng.random() < 0.3:
            kw[name] = rng.choice(values)
    return rf.spectrogram, (signal(rng, np),), kw


def case_autocorr(rng, np, rf):
    kw = {}
    if rng.random() < 0.7:
        kw["frame_length"] = rint(rng, 4096)
    if rng.random() < 0.5:
        kw["hop_length"] = rhop(rng)
    if rng.random() < 0.4:
        kw["max_lag"] = rint(rng, 4096)
    elif rng.random() < 0.3:
        kw["fmin"] = rfloat(rng)
        kw["sr"] = maybe(rng, 22050.0, rfloat(rng))
    for name, values in (("center", [True, False, None]), ("window", [None, "hann", "bogus", 3]),
                         ("normalize", ["lag0", "unbiased", None, "max"]),
                         ("detrend", [True, False, 1]),
                         ("pad_mode", ["constant", "reflect", "wrap", "edge", "x"]),
                         ("method", ["auto", "fft", "direct", "fast"]),
                         ("dtype", [None, "float64", "int32"]),
                         ("n_threads", [None, 1, 2, 0])):
        if rng.random() < 0.25:
            kw[name] = rng.choice(values)
    return rf.autocorrelogram, (signal(rng, np),), kw


def case_f0(rng, np, rf):
    kw = {"sr": maybe(rng, rng.choice([8000.0, 22050.0]), rfloat(rng))}
    for name, values in (("fmin", [60.0, 30.0, 0.0, -1.0, 5000.0, float("nan")]),
                         ("fmax", [1000.0, 400.0, 11025.0, 1e9, 10.0]),
                         ("frame_length", [None, 256, 1024, 4096, 0, 3, 2 ** 40]),
                         ("hop_length", [512, 64, 128, 0, -1]),
                         ("method", ["autocorrelation", "fft", "yin"]),
                         ("threshold", [None, 0.5, 0.0, -1.0, float("inf"), float("nan")]),
                         ("center", [True, False, "no"])):
        if rng.random() < 0.3:
            kw[name] = rng.choice(values)
    return rf.fundamental_frequency, (signal(rng, np, max_len=8000),), kw


# Direct calls of the extension module: wrong dtypes, shapes, layouts and parameter ranges must
# raise, never crash (the memory-safety checks of the bindings and the core's range checks).

def case_inverse(rng, np, rf):
    """istft, griffinlim, nnls, mel_to_stft, autocorr_to_power with odd spectra and parameters."""
    fn = rng.choice([rf.istft, rf.griffinlim, rf.dsp.nnls, rf.dsp.mel_to_stft,
                     rf.dsp.autocorr_to_power])
    kw = {}
    if fn in (rf.istft, rf.griffinlim):
        n_fft = rng.choice([16, 64, 256, 511])
        if rng.random() < 0.6:  # a real (complex) STFT of a signal, or its magnitude
            try:
                X = rf.stft(rarray(rng, np, ndim=rng.choice([1, 2]),
                                   dtype=rng.choice(["float32", "float64"]), max_len=3000),
                            n_fft=n_fft, hop_length=n_fft // 4)
            except ALLOWED:
                X = rarray(rng, np, max_len=300)
            else:
                X = np.abs(X) if fn is rf.griffinlim and rng.random() < 0.8 else X
        else:
            X = rarray(rng, np, ndim=rng.choice([1, 2, 3]), max_len=300)
        for name, choices in (("hop_length", [None, 1, n_fft // 4, 0, -1, 2 ** 63, 1.5]),
                              ("n_fft", [None, n_fft, n_fft + 1, 0, 2 ** 40, -2]),
                              ("win_length", [None, n_fft // 2, n_fft + 1, 0]),
                              ("length", [None, 1, 100, 5000, 0, -1, 2 ** 63]),
                              ("center", [True, False, None, 1]),
                              ("window", ["hann", "boxcar", "nope", None, np.ones(3)]),
                              ("n_threads", [None, 1, 2, 0, -1])):
            if rng.random() < 0.3:
                kw[name] = rng.choice(choices)
        if fn is rf.griffinlim:
            for name, choices in (("n_iter", [0, 1, 3, -1, 2.5, None, 2 ** 40]),
                                  ("momentum", [0.0, 0.99, 1.5, -0.5, float("nan"), None]),
                                  ("init", [None, "random", "zeros", 3]),
                                  ("random_state", [None, 0, "x", -1]),
                                  ("pad_mode", ["constant", "reflect", "bad"])):
                if rng.random() < 0.4:
                    kw[name] = rng.choice(choices)
            kw.setdefault("n_iter", rng.choice([0, 1, 2]))
        return fn, (X,), kw
    if fn is rf.dsp.nnls:
        A = rarray(rng, np, ndim=rng.choice([2, 2, 1]), dtype=rng.choice(["float32", "float64",
                                                                          "int8"]), max_len=60)
        B = rarray(rng, np, ndim=rng.choice([2, 3]), max_len=60)
        if rng.random() < 0.5 and hasattr(A, "shape") and getattr(A, "ndim", 0) == 2:
            B = np.abs(np.random.default_rng(rng.randrange(99)).standard_normal(
                (A.shape[0], rng.choice([0, 1, 5]))))
        for name, choices in (("max_iter", [0, 5, -1, 2.5, 2 ** 40]),
                              ("tol", [0.0, 1e-3, -1.0, float("nan")])):
            if rng.random() < 0.3:
                kw[name] = rng.choice(choices)
        kw.setdefault("max_iter", 20)
        return fn, (A, B), kw
    if fn is rf.dsp.mel_to_stft:
        M = rarray(rng, np, ndim=rng.choice([2, 3]), max_len=40)
        for name, choices in (("sr", [8000, 22050.0, 0, -1.0, float("nan")]),
                              ("n_fft", [64, 256, 2048, 0, 2 ** 40]),
                              ("power", [1.0, 2.0, 0.0, -1.0]),
                              ("fmax", [None, 100.0, 1e9]), ("htk", [True, False, 1]),
                              ("max_iter", [0, 10, -1])):
            if rng.random() < 0.4:
                kw[name] = rng.choice(choices)
        kw.setdefault("max_iter", 20)
        return fn, (M,), kw
    R = rarray(rng, np, ndim=rng.choice([1, 2, 3]), max_len=300)
    for name, choices in (("n_fft", [None, 1, 64, 513, 0, 2 ** 40, -3]),
                          ("normalize", [None, "lag0", "unbiased", "x"]),
                          ("frame_length", [None, 1, 400, 0]),
                          ("lag_window", [None, "bartlett", "nope", np.ones(3)]),
                          ("energy", [None, np.ones(3)]),
                          ("clip_negative", [True, False, 1])):
        if rng.random() < 0.3:
            kw[name] = rng.choice(choices)
    return fn, (R,), kw


def core_inverse(rng, np, core, real, cplx, threads):
    """The inverse transforms of _core with right and wrong arrays and sizes."""
    which = rng.randrange(4)
    n_fft = rng.choice([1, 2, 16, 255, 256, 0, (1 << 27) + 1, 2 ** 63])
    nb = n_fft // 2 + 1 if isinstance(n_fft, int) and 0 < n_fft < 5000 else 3
    clips, frames = rng.choice([0, 1, 3]), rng.choice([0, 1, 4, 30])
    hop = rng.choice([1, 4, 64, 0, 2 ** 63])
    length = rng.choice([0, 1, 10, 500, 2000])
    window = rng.choice([None, np.hanning(n_fft) if isinstance(n_fft, int) and 0 < n_fft < 5000
                         else None, np.ones(3), "hann"])
    out = core_array(rng, np, real, (clips, length))
    if which == 0:
        S = core_array(rng, np, cplx, (clips, nb, frames))
        return core.istft, (S, out, n_fft, hop, window, rng.choice([True, False]), threads), {}
    if which == 1:
        S = core_array(rng, np, real, (clips, nb, frames))
        init = rng.choice([None, core_array(rng, np, cplx, (clips, nb, frames))])
        return core.griffinlim, (S, init, out, n_fft, hop, window, rng.choice([True, False]),
                                 rng.choice(["constant", "reflect", "bad"]),
                                 rng.choice([0, 1, 2]), rfloat(rng), threads), {}
    if which == 2:
        bands, bins = rng.choice([0, 1, 5, 40]), rng.choice([0, 1, 7, 129])
        A = core_array(rng, np, "float64", (bands, bins))
        B = core_array(rng, np, real, (clips, bands, frames))
        X = core_array(rng, np, real, (clips, bins, frames))
        return core.nnls_filterbank, (A, B, X, rng.choice([0, 3, 30]), rfloat(rng), threads), {}
    lags = rng.choice([0, 1, 5, 100])
    R = core_array(rng, np, real, (clips, lags, frames))
    P = core_array(rng, np, real, (clips, nb, frames))
    lw = rng.choice([None, np.ones(lags), np.ones(2)])
    return core.acf_to_power, (R, P, n_fft, lw, rng.choice([True, False]), threads), {}


def core_array(rng, np, good_dtype, shape):
    """Usually the right array for a _core argument, sometimes a wrong one."""
    r = rng.random()
    if r < 0.7:
        a = np.zeros(shape, dtype=good_dtype)
        if a.size and np.dtype(good_dtype).kind in "fc":
            a[...] = np.random.default_rng(rng.randrange(2 ** 32)).standard_normal(shape)
        return a
    if r < 0.8:
        shape = tuple(max(0, s + rng.choice([-1, 1, 2])) for s in shape)
        return np.zeros(shape, dtype=good_dtype)
    if r < 0.85:
        return np.zeros(shape + (2,), dtype=good_dtype)[..., 0]  # not contiguous
    if r < 0.9:
        a = np.zeros(shape, dtype=good_dtype)
        a.setflags(write=False)
        return a
    return rarray(rng, np, max_len=2000)


def case_core(rng, np, rf):
    core = rf._core
    real = rng.choice(["float32", "float64"])
    cplx = {"float32": "complex64", "float64": "complex128"}[real]
    threads = rng.choice([1, 2, 0, -1, 300])
    rows, n = rng.choice([0, 1, 3, 17]), rng.choice([0, 1, 2, 3, 8, 12, 97, 256, 1000])
    which = rng.randrange(10)
    if which == 9:
        return core_inverse(rng, np, core, real, cplx, threads)
    if which == 0:
        x = core_array(rng, np, cplx, (rows, n))
        out = core_array(rng, np, cplx, (rows, n))
        return core.fft_rows, (x, out, rng.choice([True, False]), rfloat(rng), threads), {}
    if which == 1:
        x = core_array(rng, np, real, (rows, n))
        out = core_array(rng, np, cplx, (rows, n // 2 + 1))
        return core.rfft_rows, (x, out, 1.0, threads), {}
    if which == 2:
        x = core_array(rng, np, cplx, (rows, n // 2 + 1))
        out = core_array(rng, np, real, (rows, n))
        return core.irfft_rows, (x, out, 1.0, threads), {}
    if which == 3:
        n_fft = rng.choice([1, 2, 16, 100, 256, 0, (1 << 27) + 1, 2 ** 63])
        frame_len = rng.choice([n_fft, 1, 10, 0, n_fft + 1, 2 ** 64 - 1])
        hop = rng.choice([1, 7, 64, 0, 2 ** 63])
        pad = rng.choice([0, 1, n_fft // 2 if isinstance(n_fft, int) else 0, 2 ** 62, 2 ** 63])
        mode = rng.choice(["complex", "magnitude", "mel", "autocorr", "autocorr_direct", "x"])
        max_lag = rng.choice([0, 1, 5, frame_len - 1 if frame_len else 0, 2 ** 64 - 1])
        length = rng.choice([0, 1, 5, 300, 2000])
        clips = rng.choice([0, 1, 3])
        try:  # the output shape the call expects, as well as we can guess it
            nf = core.frame_count(length, frame_len, hop, pad)
        except ALLOWED:
            nf = 1
        nf = min(nf, 5000)
        rows_out = {"mel": 4, "autocorr": max_lag + 1, "autocorr_direct": max_lag + 1}.get(
            mode, n_fft // 2 + 1)
        rows_out = rows_out if rows_out < 5000 else 3
        y = core_array(rng, np, real, (clips, length))
        out = core_array(rng, np, cplx if mode == "complex" else real, (clips, rows_out, nf))
        window = rng.choice([None, None, np.hanning(frame_len) if 0 < frame_len < 5000 else None,
                             np.ones(3), "hann", np.ones((2, 2))])
        basis = rng.choice([None, np.ones((4, n_fft // 2 + 1)) if 0 < n_fft < 5000 else None,
                            np.ones((4, 3)), [[1.0]]])
        args = (y, out, n_fft, frame_len, hop, pad,
                rng.choice(["constant", "reflect", "symmetric", "edge", "wrap", "bad"]),
                rfloat(rng), rng.choice([True, False]), window, mode, rfloat(rng), rfloat(rng),
                basis, max_lag, rng.choice([None, "lag0", "unbiased", "none", "x", 3]), threads)
        return core.frames, args, {}
    if which == 4:
        fn = rng.choice([core.get_window, core.mel_filterbank, core.audeep_mel_filterbank])
        if fn is core.get_window:
            return fn, (rng.choice(["hann", "hamming", "boxcar", "nope", ""]),
                        rng.choice([0, 1, 5, 4096, -1, (1 << 27) + 1, 2 ** 64]),
                        rng.choice([True, False])), {}
        n_fft = rng.choice([0, 1, 2, 512, 4096, -3, (1 << 27) + 1, 2 ** 63])
        n_mels = rng.choice([0, 1, 40, 128, -1, 2 ** 63] + HUGE_ALLOCS)
        if fn is core.audeep_mel_filterbank:
            return fn, (rfloat(rng), n_fft, n_mels), {}
        return fn, (rfloat(rng), n_fft, n_mels, rfloat(rng), rfloat(rng), rng.choice([True, False]),
                    rng.choice([None, "slaney", "x", 2.0, float("nan"), float("inf"), -1.0])), {}
    if which == 5:
        x = rarray(rng, np)
        return core.all_finite, (x,), {}
    if which == 6:
        S = core_array(rng, np, real, (rows, n))
        out = core_array(rng, np, real, (rows, n))
        return core.power_to_db, (S, out, rfloat(rng), rfloat(rng),
                                  rng.choice([None, 80.0, -1.0, float("nan")]), threads), {}
    if which == 7:
        S = core_array(rng, np, real, rng.choice([(rows, n), (rows, 2, n), (n,)]))
        return core.audeep_post, (S, rng.choice([None, -60.0, float("nan")]),
                                  rng.choice([None, 0.0]), rng.choice([True, False]),
                                  rng.choice([True, False]), threads), {}
    fn = rng.choice([core.frame_count, core.autocorr_fft_size, core.autocorr_prefer_direct,
                     core.pad_index, core.rfft_scratch_bytes, core.simd_lanes])
    big = [0, 1, 2, 100, 2 ** 26, 2 ** 27, 2 ** 62, 2 ** 63 + 1, 2 ** 64 - 1, 2 ** 64, -1]
    if fn is core.frame_count:
        return fn, tuple(rng.choice(big) for _ in range(4)), {}
    if fn is core.pad_index:
        return fn, (rng.choice(big + [-(2 ** 63)]), rng.choice(big + [2 ** 62 + 1]),
                    rng.choice(["constant", "reflect", "symmetric", "edge", "wrap", "bad"])), {}
    if fn is core.rfft_scratch_bytes:
        return fn, (rng.choice(big), rng.choice([0, 1, 5, 2 ** 40]),
                    rng.choice(["float32", "float64", "int8"]), threads), {}
    if fn is core.simd_lanes:
        return fn, (rng.choice(["float32", "float64", "float16", 3]),), {}
    return fn, (rng.choice(big), rng.choice(big)), {}


CASES = [case_fft, case_fft, case_stft, case_stft, case_mel, case_filterbank, case_window,
         case_db, case_autocorr, case_autocorr, case_f0, case_inverse, case_inverse, case_core,
         case_core, case_core]


# ----------------------------------------------------------------------------- driver

def describe(fn, args, kw):
    def short(v):
        if hasattr(v, "shape") and hasattr(v, "dtype"):
            return (f"array(shape={v.shape}, dtype={v.dtype}, strides={v.strides}, "
                    f"writeable={v.flags.writeable})")
        r = repr(v)
        return r if len(r) < 80 else r[:77] + "..."
    parts = [short(a) for a in args] + [f"{k}={short(v)}" for k, v in kw.items()]
    return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__name__', fn)}({', '.join(parts)})"


def fuzz(seconds: float, seed: int, log_path: str, max_cases: int = 0) -> int:
    import numpy as np
    import rae_fast as rf

    warnings.simplefilter("ignore")
    faulthandler.enable()
    rng = random.Random(seed)
    stats = collections.Counter()
    per_fn = collections.Counter()
    rare = collections.Counter()
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    t_end = time.monotonic() + seconds
    n = 0
    slowest = (0.0, "")
    while time.monotonic() < t_end and (not max_cases or n < max_cases):
        n += 1
        make = rng.choice(CASES)
        fn, args, kw = make(rng, np, rf)
        text = f"case {n} (seed {seed}): {describe(fn, args, kw)}\n".encode()
        os.lseek(log, 0, os.SEEK_SET)
        os.ftruncate(log, 0)
        os.write(log, text)
        per_fn[getattr(fn, "__name__", str(fn))] += 1
        t0 = time.monotonic()
        try:
            fn(*args, **kw)
            stats["returned"] += 1
        except ALLOWED as exc:
            stats[type(exc).__name__] += 1
            if not isinstance(exc, (TypeError, ValueError)):
                rare[f"{type(exc).__name__} from {getattr(fn, '__name__', fn)}: {exc}"[:160]] += 1
        except Exception:  # noqa: BLE001 - anything else is a finding
            print(f"UNEXPECTED EXCEPTION in {text.decode().strip()}", flush=True)
            traceback.print_exc()
            return 1
        dt = time.monotonic() - t0
        if dt > slowest[0]:
            slowest = (dt, text.decode().strip())
    os.close(log)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(stats.items()))
    print(f"fuzz: seed {seed}, {n} cases in {seconds:.0f} s: {summary}")
    print("calls: " + ", ".join(f"{k} {v}" for k, v in per_fn.most_common()))
    print(f"slowest case: {slowest[0]:.2f} s: {slowest[1][:300]}")
    for text, count in rare.most_common(8):
        print(f"  {count} x {text}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=20.0, help="how long to fuzz (default 20)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    p.add_argument("--max-cases", type=int, default=0, help="stop after this many cases")
    p.add_argument("--log", default=os.path.join(tempfile.gettempdir(), "fuzz-last-case.txt"),
                   help="file that holds the case being run (read it after a crash)")
    p.add_argument("--asan", action="store_true",
                   help="leave out requests that exhaust memory (for AddressSanitizer builds)")
    a = p.parse_args(argv)
    if a.asan:
        HUGE_ALLOCS.clear()
    seed = a.seed if a.seed is not None else random.randrange(2 ** 31)
    return fuzz(a.seconds, seed, a.log, a.max_cases)


# ----------------------------------------------------------------------------- pytest

def test_fuzz_smoke(tmp_path):
    """~20 s of seeded fuzzing in a subprocess: no crash, no hang, no unexpected exception."""
    log = tmp_path / "last-case.txt"
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    try:
        res = subprocess.run([sys.executable, __file__, "--seconds", "20", "--seed", "20261126",
                              "--log", str(log)], capture_output=True, text=True, timeout=180,
                             env=env)
    except subprocess.TimeoutExpired as exc:
        last = log.read_text() if log.exists() else "?"
        raise AssertionError(f"fuzzing hung; last case: {last}") from exc
    last = log.read_text() if log.exists() else "?"
    assert res.returncode == 0, (
        f"return code {res.returncode} (negative: killed by a signal)\nlast case: {last}\n"
        f"{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    assert "fuzz: seed 20261126" in res.stdout, res.stdout
    n_cases = int(res.stdout.split(" cases in ")[0].rsplit(" ", 1)[-1])
    assert n_cases >= 200, res.stdout


if __name__ == "__main__":
    sys.exit(main())
