"""Ablations of the ESC-10 autoencoder: one option toggled at a time, several training seeds.

Every configuration is trained with ``rae-fast train`` on ESC-10 spectrograms (auDeep's recipe:
0.08 s / 0.04 s windows, 128 mel bands, 5 s centred, one clipping), exported with
``rae-fast export-onnx``, turned into representations with ``rae-fast generate`` and scored with
``rae-fast evaluate`` (the paper's MLP, 5-fold cross-validation on the predefined folds,
``--repeat`` repeats); then ``rae-fast diagnose`` reports what the representation carries
(reconstruction RMSE with real / zeroed / shuffled codes against the copy-previous-frame and
neighbour-average baselines, effective dimensionality). Results are reported as the mean and
standard deviation **over training seeds** (each seed's accuracy is itself the mean over the
MLP repeats), so that the noise of training is visible next to each difference.

    python benchmarks/esc10_ablation.py --work /tmp/abl --specs /tmp/esc10/mel-60.nc \\
        --configs baseline tf-gru audeep-projection --seeds 0 1 2 --jobs 2
    python benchmarks/esc10_ablation.py --work /tmp/abl --report     # the Markdown table

Jobs run in parallel (``--jobs``, each with ``--threads`` PyTorch threads); finished stages are
skipped, so an interrupted run resumes. Wall times of every stage go to ``WORK/results.json``
(the machine this was measured on was shared with other work: compare times within one run);
the table's training time is the sum of the run's per-epoch times (``loss.csv``), so that a
resumed run counts every epoch.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional

#: The paper's model (2 x 256 GRU, bidirectional decoder, 64 epochs, batch 64, dropout 0.2);
#: ``--units`` changes the 256.
BASE = ["--num-layers", "2", "--num-units", "256", "--bidirectional-decoder",
        "--batch-size", "64", "--learning-rate", "1e-3", "--dropout", "0.2"]

#: Configuration name -> extra ``rae-fast train`` arguments (each toggles one thing).
CONFIGS: Dict[str, List[str]] = {
    "baseline": [],
    # auDeep's TensorFlow model, one difference at a time
    "tf-gru": ["--gru-variant", "tensorflow"],
    "audeep-projection": ["--decoder-projection", "per-direction"],
    "audeep-input-shift": ["--decoder-input-shift", "2"],
    "mask-silence": ["--mask-silence"],
    "audeep-all": ["--gru-variant", "tensorflow", "--decoder-projection", "per-direction",
                   "--decoder-input-shift", "2"],
    # making the decoder depend on the code
    "per-direction+feed-previous-0.5": ["--decoder-projection", "per-direction",
                                        "--feed-previous-prob", "0.5"],
    "decoder-input-dropout-0.5": ["--decoder-input-dropout", "0.5"],
    "decoder-no-inputs": ["--decoder-input-dropout", "1"],
    # the other members of auDeep's family
    # (f-rae: auDeep's 1 x 16 frequency RNN, one 32-value code per frame with the
    # bidirectional decoder; ft-rae: auDeep's 1 x 64 frequency part, time part as BASE)
    "f-rae": ["--architecture", "f-rae", "--num-layers", "1", "--num-units", "16"],
    "ft-rae": ["--architecture", "ft-rae"],
}


def rae(*args: str) -> List[str]:
    return [sys.executable, "-m", "rae_fast", *args]


class Runner:
    def __init__(self, work: Path, threads: int, epochs: List[int], repeats: int):
        self.work, self.threads, self.epochs, self.repeats = work, threads, epochs, repeats
        self.path = work / "results.json"
        self.lock = threading.Lock()
        self.results = json.loads(self.path.read_text()) if self.path.exists() else {}

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.results, indent=2, sort_keys=True))
        os.replace(tmp, self.path)

    def record(self, key: str, field: str, value) -> None:
        with self.lock:
            self.results.setdefault(key, {})[field] = value
            self.save()

    def stage(self, key: str, name: str, done: Path, cmd: List[str], log) -> None:
        if done.exists():
            return
        log.write(f"[run ] {name}: {' '.join(shlex.quote(c) for c in cmd[2:])}\n")
        log.flush()
        t = time.perf_counter()
        subprocess.run(["nice", "-n", "5", *cmd], check=True, stdout=log, stderr=log)
        dt = round(time.perf_counter() - t, 1)
        self.record(key, f"seconds_{name}", dt)
        log.write(f"[done] {name}: {dt} s\n")
        log.flush()

    def job(self, name: str, specs: Path, seed: int, extra: List[str]) -> None:
        """Train to each milestone of ``--epochs`` in turn (one run, continued), and score the
        representations at every milestone."""
        d = self.work / name / f"seed{seed}"
        d.mkdir(parents=True, exist_ok=True)
        run = d / "run"
        with open(d / "log.txt", "a") as log:
            for epochs in self.epochs:
                key = f"{name}/seed{seed}/e{epochs}"
                m = d / f"e{epochs}"
                m.mkdir(exist_ok=True)
                self.record(key, "specs", str(specs))
                self.record(key, "train_args", BASE + extra)
                self.stage(key, "train", m / "trained",
                           rae("train", "--input", str(specs), "--run-dir", str(run), *BASE,
                               *extra, "--num-epochs", str(epochs), "--seed", str(seed),
                               "--threads", str(self.threads), "--quiet",
                               *(["--continue"] if (run / "config.json").exists() else [])),
                           log)
                (m / "trained").touch()
                self.stage(key, "export", m / "autoencoder.onnx",
                           rae("export-onnx", str(run), "--epoch", str(epochs), "--output",
                               str(m / "encoder.onnx"), "--autoencoder-output",
                               str(m / "autoencoder.onnx")), log)
                reps = m / "reps.nc"
                self.stage(key, "generate", reps,
                           rae("generate", "--model", str(m / "encoder.onnx"), "--input",
                               str(specs), "--output", str(reps), "--threads",
                               str(self.threads), "--quiet"), log)
                ev = m / "eval.json"
                self.stage(key, "evaluate", ev,
                           rae("evaluate", "--input", str(reps), "--cross-validate", "--repeat",
                               str(self.repeats), "--shuffle", "--jobs", str(self.threads),
                               "--json", str(ev)), log)
                res = json.loads(ev.read_text())
                summary = res.get("summary", res)
                self.record(key, "accuracy", summary.get("accuracy"))
                self.record(key, "accuracy_std_repeats", summary.get("accuracy_std"))
                diag = m / "diagnose.json"
                try:
                    self.stage(key, "diagnose", diag,
                               rae("diagnose", "--model", str(run), "--epoch", str(epochs),
                                   "--input", str(specs), "--representations", str(reps),
                                   "--threads", str(self.threads), "--json", str(diag)), log)
                except subprocess.CalledProcessError as exc:
                    log.write(f"[fail] diagnose: {exc}\n")
                if diag.exists():
                    self.record(key, "diagnostics", json.loads(diag.read_text()))


def _train_seconds(r: Dict) -> Optional[float]:
    """Training time up to this milestone: the sum of the run's per-epoch times
    (``loss.csv``), so that a run resumed after an interruption counts all its epochs; the
    recorded wall time of the train stage when there is no ``loss.csv``."""
    run = r.get("diagnostics", {}).get("model", {}).get("run")
    epochs = r.get("epochs")
    csv = Path(run) / "loss.csv" if run else None
    if csv is not None and csv.exists():
        rows = csv.read_text().splitlines()
        head = rows[0].split(",")
        e, sec = head.index("epoch"), head.index("seconds")
        vals = [float(x.split(",")[sec]) for x in rows[1:]
                if x and (epochs is None or int(x.split(",")[e]) <= epochs)]
        return sum(vals) if vals else None
    return r.get("seconds_train")


def report(results: Dict) -> str:
    groups: Dict[str, List] = {}
    for key, r in sorted(results.items()):
        if r.get("accuracy") is None:
            continue
        name, _seed, epochs = key.split("/")
        r = {**r, "epochs": int(epochs[1:])}
        groups.setdefault(f"{name} ({epochs[1:]} epochs)", []).append(r)
    lines = ["| configuration | seeds | accuracy (mean ± std over seeds) | per seed | "
             "RMSE real / zeroed / shuffled / copy-prev | eff. dim | train s |",
             "|---|---|---|---|---|---|---|"]
    for name, rs in groups.items():
        acc = [100 * r["accuracy"] for r in rs]
        sd = statistics.stdev(acc) if len(acc) > 1 else float("nan")
        diag = [r.get("diagnostics") for r in rs if r.get("diagnostics")]

        def mean_of(getter):
            vals = [getter(x) for x in diag]
            vals = [v for v in vals if v is not None]
            return statistics.mean(vals) if vals else float("nan")
        rm = "/".join(f"{mean_of(lambda x, k=k: x['rmse'].get(k)):.3f}"
                      for k in ("real", "zeroed", "shuffled", "copy_previous"))
        ed = mean_of(lambda x: x["representations"][0]["effective_dimensionality"])
        secs = [s for s in (_train_seconds(r) for r in rs) if s is not None]
        lines.append(f"| {name} | {len(acc)} | {statistics.mean(acc):.1f} ± {sd:.1f} % | "
                     f"{', '.join(f'{a:.1f}' for a in acc)} | {rm} | {ed:.1f} | "
                     f"{statistics.mean(secs) if secs else float('nan'):.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--specs", type=Path, help="spectrograms (.nc) to train on")
    ap.add_argument("--configs", nargs="+", default=["baseline"],
                    help=f"configurations ({', '.join(CONFIGS)}) or NAME=ARGS")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, nargs="+", default=[64],
                    help="milestones: train to each in turn (continuing the run) and score")
    ap.add_argument("--repeats", type=int, default=3, help="MLP repeats per seed")
    ap.add_argument("--jobs", type=int, default=2, help="trainings at once")
    ap.add_argument("--threads", type=int, default=1, help="threads per training")
    ap.add_argument("--units", type=int, default=256, help="units per recurrent layer")
    ap.add_argument("--report", action="store_true", help="print the table and exit")
    a = ap.parse_args(argv)
    BASE[BASE.index("--num-units") + 1] = str(a.units)
    a.work.mkdir(parents=True, exist_ok=True)
    r = Runner(a.work, a.threads, a.epochs, a.repeats)
    if a.report:
        print(report(r.results))
        return 0
    if a.specs is None:
        ap.error("--specs is required to run")
    jobs = []
    for c in a.configs:
        name, _, args = c.partition("=")
        extra = shlex.split(args) if args else CONFIGS[name]
        for seed in a.seeds:
            jobs.append((name, a.specs, seed, extra))
    failures = 0
    with ThreadPoolExecutor(max_workers=a.jobs) as pool:
        futs = [pool.submit(r.job, *j) for j in jobs]
        for j, f in zip(jobs, futs):
            try:
                f.result()
                print(f"[ok  ] {j[0]} seed {j[2]}", flush=True)
            except Exception as exc:  # noqa: BLE001 - report and go on with the others
                failures += 1
                print(f"[fail] {j[0]} seed {j[2]}: {exc}", flush=True)
    print(report(r.results))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
