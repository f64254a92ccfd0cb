"""Batched real FFTs with the peers interleaved round by round (a companion to bench_fft.py for
busy machines).

pytest-benchmark times all rounds of one implementation, then all rounds of the next; when
other processes come and go on a 2-core machine, one peer can get a quiet minute and the next a
busy one. Here every round times each implementation once, in a fresh random order, so that
all of them see the same load; the minimum and the median over the rounds are recorded.

Same cases as bench_fft.py: 2000 frames x N (N = 256 ... 8192), float32, 1 and 2 threads;
``rae_fast`` is the default allocating call, ``rae_fast-out`` reuses an ``out=`` array; peers
scipy.fft.rfft(workers=t), numpy.fft.rfft (1 thread) and torch.fft.rfft (MKL,
torch.set_num_threads(t)). The JSON has pytest-benchmark's layout, so

    python benchmarks/fft_interleaved.py --json fft_il.json [--rounds 40]
    python benchmarks/tables.py fft_il.json [--stat median]

prints the same table as for bench_fft.py.
"""
import argparse
import datetime
import json
import os
import platform
import random
import time

import numpy as np
import scipy.fft

import rae_fast

SIZES = [256, 512, 1024, 2048, 4096, 8192]
ROWS = 2000


def peers(frames, threads):
    n = frames.shape[1]
    out = np.empty((ROWS, n // 2 + 1), np.complex64)
    fns = {
        "rae_fast": lambda: rae_fast.rfft(frames, n_threads=threads),
        "rae_fast-out": lambda: rae_fast.rfft(frames, out=out, n_threads=threads),
        "scipy": lambda: scipy.fft.rfft(frames, axis=1, workers=threads),
    }
    if threads == 1:
        fns["numpy"] = lambda: np.fft.rfft(frames, axis=1)
    try:
        import torch
        xt = torch.from_numpy(frames)

        def torch_rfft():
            torch.set_num_threads(threads)
            return torch.fft.rfft(xt, dim=1)
        fns["torch"] = torch_rfft
    except ImportError:
        pass
    return fns


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", required=True)
    ap.add_argument("--rounds", type=int, default=None, help="rounds per case (default by size)")
    ap.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    rnd = random.Random(0)
    records = []
    for n in args.sizes:
        frames = np.random.default_rng(n).standard_normal((ROWS, n)).astype(np.float32)
        ref = np.fft.rfft(frames[:3].astype(np.float64), axis=1)
        for threads in args.threads:
            fns = peers(frames, threads)
            for name, fn in fns.items():  # correctness of what is timed, and a warm-up
                for _ in range(3):
                    got = np.asarray(fn()[:3])
                assert np.linalg.norm(got - ref) <= 1e-5 * np.linalg.norm(ref), name
            rounds = args.rounds or (200 if n <= 1024 else 60 if n <= 4096 else 30)
            times = {name: [] for name in fns}
            order = list(fns)
            for _ in range(rounds):
                rnd.shuffle(order)
                for name in order:
                    t = time.perf_counter()
                    fns[name]()
                    times[name].append(time.perf_counter() - t)
            for name, ts in times.items():
                records.append(dict(
                    name=f"fft_interleaved[{name}-N{n}-t{threads}]",
                    group=f"rfft {ROWS}xN={n} float32, {threads} thread(s), interleaved",
                    extra_info=dict(suite="fft", peer=name, threads=threads, n=n, rows=ROWS),
                    stats=dict(min=min(ts), median=float(np.median(ts)), mean=float(np.mean(ts)),
                               rounds=len(ts))))
            line = ", ".join(f"{k} {min(v) * 1e3:.3f}" for k, v in times.items())
            print(f"N={n} threads={threads} (min ms): {line}", flush=True)
    doc = dict(machine_info=dict(cpu=dict(brand_raw=cpu_name()),
                                 loadavg=os.getloadavg()),
               datetime=datetime.datetime.now(datetime.timezone.utc).isoformat(),
               benchmarks=records)
    tmp = args.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, args.json)


if __name__ == "__main__":
    main()
