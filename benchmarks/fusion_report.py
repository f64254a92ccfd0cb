"""Do several representation sets of the same clips add up? Fusion accuracy and how much of one
set a linear model can predict from another.

    python benchmarks/fusion_report.py --work /tmp/fusion \\
        --set -30=reps-30.nc --set -45=reps-45.nc --set -60=reps-60.nc --set -75=reps-75.nc \\
        --extra stats=band-stats.nc

Every set and the fusion of all ``--set`` files (and, with ``--extra``, that fusion plus each
extra set) are scored with ``rae-fast evaluate`` (the paper's MLP, 5-fold cross-validation on
the stored folds, ``--repeat`` repeats), and ``rae-fast diagnose --representations`` reports
each set's effective dimensionality and the cross-validated ridge R^2 of every set from every
other. Results go to ``WORK/fusion.json`` and are printed as Markdown; finished evaluations are
reused.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def rae(*args: str):
    return [sys.executable, "-m", "rae_fast", *args]


def evaluate(path: Path, out: Path, repeats: int, threads: int) -> float:
    if not out.exists():
        subprocess.run(["nice", "-n", "5", *rae("evaluate", "--input", str(path),
                                               "--cross-validate", "--repeat", str(repeats),
                                               "--shuffle", "--jobs", str(threads),
                                               "--json", str(out))],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    res = json.loads(out.read_text())
    return res.get("summary", res)["accuracy"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--set", action="append", required=True, metavar="NAME=FILE")
    ap.add_argument("--extra", action="append", default=[], metavar="NAME=FILE")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    sets = [s.split("=", 1) for s in a.set]
    extras = [s.split("=", 1) for s in a.extra]
    rows = []
    for name, path in sets + extras:
        rows.append((name, evaluate(Path(path), a.work / f"eval-{name}.json", a.repeats,
                                    a.threads)))
    fused = a.work / "fused.nc"
    if not fused.exists():
        subprocess.run(rae("fuse", *[p for _, p in sets], "--output", str(fused)), check=True,
                       stderr=subprocess.DEVNULL)
    all_name = " + ".join(n for n, _ in sets)
    rows.append((all_name, evaluate(fused, a.work / "eval-fused.json", a.repeats, a.threads)))
    for name, path in extras:
        out = a.work / f"fused+{name}.nc"
        if not out.exists():
            subprocess.run(rae("fuse", *[p for _, p in sets], path, "--output", str(out)),
                           check=True, stderr=subprocess.DEVNULL)
        rows.append((f"{all_name} + {name}",
                     evaluate(out, a.work / f"eval-fused+{name}.json", a.repeats, a.threads)))
    diag = a.work / "diagnose.json"
    if not diag.exists():
        subprocess.run(["nice", "-n", "5", *rae("diagnose", "--representations",
                                               *[p for _, p in sets], "--json", str(diag))],
                       check=True, stdout=subprocess.DEVNULL)
    d = json.loads(diag.read_text())
    names = {p: n for n, p in sets}
    report = {"accuracy": dict(rows),
              "effective_dimensionality": {names[r["file"]]: r["effective_dimensionality"]
                                           for r in d["representations"]},
              "r2": [{"from": names[p["from"]], "to": names[p["to"]], "r2": p["r2"]}
                     for p in d.get("predictability", [])]}
    (a.work / "fusion.json").write_text(json.dumps(report, indent=2))
    print("| representation | accuracy |\n|---|---|")
    for name, acc in rows:
        print(f"| {name} | {100 * acc:.1f} % |")
    print("\neffective dimensionality: " + ", ".join(
        f"{k} {v:.1f}" for k, v in report["effective_dimensionality"].items()))
    if report["r2"]:
        mean_r2 = sum(p["r2"] for p in report["r2"]) / len(report["r2"])
        print(f"ridge R^2 of one set from another: mean {mean_r2:.2f}, range "
              f"{min(p['r2'] for p in report['r2']):.2f}-{max(p['r2'] for p in report['r2']):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
