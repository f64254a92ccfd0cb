"""rae_fast._executor (no Ray): the default ThreadExecutor keeps the input order, sends shared
arguments to every call, stops early; what a stage hands another process pickles."""
import pickle
import threading
import time

import pytest

from rae_fast._executor import Executor, ThreadExecutor
from rae_fast.audio import AudioError


def slow_pow(x, e):
    time.sleep(0.002 * ((x * 7) % 5))         # out-of-order completion
    return x ** e


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_results_come_in_input_order(workers):
    ex = ThreadExecutor(workers)
    assert isinstance(ex, Executor)
    assert list(ex.imap(slow_pow, range(30), 2, chunk=8)) == [x * x for x in range(30)]


def test_leaving_early_cancels_what_has_not_started():
    started = []
    lock = threading.Lock()

    def work(x):
        with lock:
            started.append(x)
        time.sleep(0.01)
        return x

    ex = ThreadExecutor(2, max_pending=4)
    gen = ex.imap(work, range(1000))
    assert [next(gen) for _ in range(3)] == [0, 1, 2]
    gen.close()
    assert len(started) < 20


def test_an_error_is_raised_in_order():
    def work(x):
        if x == 5:
            raise ValueError("five")
        return x

    out = []
    with pytest.raises(ValueError, match="five"):
        for r in ThreadExecutor(3).imap(work, range(10)):
            out.append(r)
    assert out == [0, 1, 2, 3, 4]


def test_audio_errors_travel_between_processes(tmp_path):
    err = pickle.loads(pickle.dumps(AudioError(tmp_path / "x.wav", "truncated")))
    assert isinstance(err, AudioError)
    assert err.path == tmp_path / "x.wav" and err.reason == "truncated"
    assert str(err).endswith("x.wav: truncated")


def test_bad_arguments():
    with pytest.raises(ValueError, match="workers"):
        ThreadExecutor(0)
    with pytest.raises(ValueError, match="max_pending"):
        ThreadExecutor(2, max_pending=0)
