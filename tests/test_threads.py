"""Threads: identical results for any thread count, the GIL is released around the C++ kernels,
and concurrent calls from several Python threads are safe."""
import sys
import threading

import numpy as np

import rae_fast

RNG = np.random.default_rng(0)
Y = RNG.standard_normal((7, 30000)).astype(np.float32)


def test_results_bit_identical_for_any_thread_count():
    calls = {
        "stft": lambda t: rae_fast.stft(Y, n_fft=1024, hop_length=300, pad_mode="reflect", n_threads=t),
        "mel": lambda t: rae_fast.melspectrogram(y=Y, sr=22050, n_fft=2048, hop_length=512, n_threads=t),
        "audeep": lambda t: rae_fast.spectrogram(Y, 22050, n_threads=t),
        "power_to_db": lambda t: rae_fast.power_to_db(np.abs(Y) ** 2, n_threads=t),
    }
    for name, f in calls.items():
        ref = f(1)
        for t in (2, 3, 4, 8):
            assert np.array_equal(f(t), ref), (name, t)


def test_gil_is_released_during_kernels():
    """While a worker thread runs long C++ calls, the main thread keeps executing Python.

    The switch interval is raised to 0.5 s, longer than the call, so that the interpreter never
    forces the worker to give up the GIL: if the kernel held it, the main thread could only
    resume after the worker finished (count == 0); released, it spins during the whole call.
    """
    big = RNG.standard_normal((4000, 4096)).astype(np.float32)
    out = np.empty((4000, 2049), np.complex64)
    started, done = threading.Event(), threading.Event()

    def work():
        started.set()
        rae_fast.rfft(big, out=out, n_threads=1)
        done.set()

    old = sys.getswitchinterval()
    sys.setswitchinterval(0.5)
    try:
        worker = threading.Thread(target=work)
        worker.start()
        started.wait()
        count = 0
        while not done.is_set():
            count += 1
        worker.join()
    finally:
        sys.setswitchinterval(old)
    assert count > 10000, count


def test_concurrent_calls_from_python_threads_are_correct():
    ref = [rae_fast.melspectrogram(y=Y[i], sr=22050, n_threads=1) for i in range(len(Y))]
    results = [None] * len(Y)

    def work(i):
        results[i] = rae_fast.melspectrogram(y=Y[i], sr=22050, n_threads=2)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(Y))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(len(Y)):
        assert np.array_equal(results[i], ref[i])
