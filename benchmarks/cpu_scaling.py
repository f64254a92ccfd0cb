"""Thread scaling from CPU time per thread (Linux): what 2 threads would give with a core each.

On a machine that other work keeps busy, wall-clock scaling says more about the scheduler than
about the code: with ``kernel.sched_autogroup_enabled = 1`` every session gets an equal share of
the CPUs, so once two other sessions are busy a process gets about the same CPU time with one
thread as with two, and bench_pipelines.py measures a scaling near 1.0 whatever the code does.
This script reads each thread's on-CPU time (``/proc/self/task/*/schedstat``, nanoseconds)
around the same calls at 1 and 2 threads and reports:

- ``cpu t1``: CPU time of the 1-thread call (the work; rfft: of a series of calls);
- ``cpu t2``: CPU time of all threads at 2 threads (work + overhead; a caller waiting for the
  last chunk spins and yields, which counts here, so this is an upper bound);
- ``busiest``: the CPU time of the busiest thread at 2 threads;
- ``bound``: cpu t1 / busiest, the wall-clock scaling if each thread had a core to itself for
  the whole call (an estimate that needs a quiet machine to confirm; goal >= 1.7).

Workers spin between jobs (RAE_FAST_SPIN_US, default 1000); that spinning would count as CPU
time, so the script sets RAE_FAST_SPIN_US=0 for itself unless it is set already.

    python benchmarks/cpu_scaling.py [--clips 400] [--rounds 5]
"""
import argparse
import glob
import os

os.environ.setdefault("RAE_FAST_SPIN_US", "0")

import numpy as np  # noqa: E402

import rae_fast  # noqa: E402


def thread_ns():
    out = {}
    for p in glob.glob("/proc/self/task/*/schedstat"):
        try:
            with open(p) as f:
                out[p.split("/")[4]] = int(f.read().split()[0])
        except OSError:
            pass
    return out


def measure(fn, t, rounds):
    """Median over rounds of (total CPU ns, busiest thread's CPU ns)."""
    fn(t)
    tot, busiest = [], []
    for _ in range(rounds):
        a = thread_ns()
        fn(t)
        b = thread_ns()
        d = [b[k] - a.get(k, 0) for k in b]
        tot.append(sum(d))
        busiest.append(max(d))
    return float(np.median(tot)), float(np.median(busiest))


def cases(clips):
    rng = np.random.default_rng(2017)
    y44 = rng.standard_normal((clips, 5 * 44100)).astype(np.float32)
    y16 = rng.standard_normal((clips, 5 * 16000)).astype(np.float32)
    out = {
        "melspectrogram": lambda t: rae_fast.melspectrogram(
            y=y44, sr=44100, n_fft=4096, hop_length=1764, win_length=3528, n_mels=128, n_threads=t),
        "spectrogram": lambda t: rae_fast.spectrogram(y44, 44100, n_threads=t),
        "autocorrelogram": lambda t: rae_fast.autocorrelogram(
            y16, frame_length=1280, hop_length=640, max_lag=128, window="hann", n_threads=t),
    }
    # short calls: repeated so that each measurement spans several scheduler ticks (the
    # counters of a running thread advance at ticks and switches)
    for n, reps in ((256, 400), (2048, 40), (8192, 10)):
        x = rng.standard_normal((2000, n)).astype(np.float32)
        out[f"rfft 2000 x {n}, {reps} calls"] = (
            lambda x, reps: lambda t: [rae_fast.rfft(x, n_threads=t) for _ in range(reps)])(x, reps)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if not glob.glob("/proc/self/task/*/schedstat"):
        raise SystemExit("needs Linux /proc/<pid>/task/<tid>/schedstat")
    print(f"load average {os.getloadavg()}; RAE_FAST_SPIN_US={os.environ['RAE_FAST_SPIN_US']}\n")
    print("| call | cpu t1 | cpu t2 (all threads) | overhead | busiest thread at t2 | bound (goal >= 1.7x) |")
    print("|---|---|---|---|---|---|")
    for name, fn in cases(args.clips).items():
        c1, _ = measure(fn, 1, args.rounds)
        c2, b2 = measure(fn, 2, args.rounds)
        print(f"| {name} | {c1 / 1e6:.2f} ms | {c2 / 1e6:.2f} ms | {c2 / c1 - 1:+.0%} | {b2 / 1e6:.2f} ms "
              f"| {c1 / b2:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
