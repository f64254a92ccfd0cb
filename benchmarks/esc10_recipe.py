"""auDeep's ESC-10 recipe, end to end, with wall time per stage.

Runs the published auDeep settings on the real ESC-10 recordings (``../shared/data/esc10``):

* auDeep spectrograms: 0.08 s / 0.04 s windows, 128 mel bands, 5 s centred, clipped at
  -30, -45, -60 and -75 dB (one data set per clipping, all from one decode of the audio:
  ``preprocess --clip-below -30 -45 -60 -75 --output 'mel{clip}.nc'``);
* one autoencoder per clipping: 2 x 256 GRU, unidirectional encoder, bidirectional decoder,
  64 epochs, batch 64, Adam lr 1e-3, 20 % dropout;
* representations from the exported ONNX encoders (ONNX Runtime), each evaluated alone and
  fused: MLP (2 x 150 ReLU, 40 % dropout, 400 full-batch epochs, shuffled) with 5-fold cross-validation
  on the predefined folds, 5 repeats;
* the same with framewise autocorrelograms (resampled to 16 kHz, 80 ms frames, 40 ms hop,
  lags up to 8 ms) and with mel + autocorrelogram representations fused;
* options beyond the recipe: ``--train-args`` (extra ``train`` options for every autoencoder,
  e.g. ``--decoder-input-dropout 0.5``), ``--units``, ``--pool-states`` (``export-onnx
  --pool-states``) and ``--band-stats`` (``rae-fast band-stats`` of the -60 dB spectrograms,
  evaluated alone and fused with the mel representations).

Every stage is a ``rae-fast`` command (printed before it runs), so the recipe doubles as a
worked example of the command line. Stages whose output exists are skipped, so an interrupted
run resumes where it stopped (the commands themselves write atomically).

    python benchmarks/esc10_recipe.py --work /tmp/esc10-recipe            # the full recipe
    python benchmarks/esc10_recipe.py --work /tmp/esc10-quick --epochs 2 --repeats 1 \
        --clippings -60                                                   # a smoke run

Results (accuracy, UAR, seconds per stage) go to ``WORK/results.json`` and are printed as a
Markdown table for ``docs/benchmarks.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from rae_fast._validation import default_threads

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "esc10"


def rae(*args: str) -> list:
    return [sys.executable, "-m", "rae_fast", *args]


class Recipe:
    def __init__(self, work: Path, data: Path, epochs: int, repeats: int, threads: int,
                 quiet: bool):
        self.work, self.data, self.epochs, self.repeats = work, data, epochs, repeats
        self.threads, self.quiet = threads, quiet
        self.results_path = work / "results.json"
        self.results = (json.loads(self.results_path.read_text())
                        if self.results_path.exists() else {"stages": {}, "scores": {}})

    def save(self) -> None:
        tmp = self.results_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.results, indent=2))
        os.replace(tmp, self.results_path)

    def stage(self, name: str, output: Path, cmd: list) -> None:
        if output.exists():
            print(f"[skip] {name}: {output} exists")
            return
        print(f"[run ] {name}: {' '.join(shlex.quote(c) for c in cmd[2:])}", flush=True)
        t = time.perf_counter()
        subprocess.run(cmd, check=True)
        dt = time.perf_counter() - t
        self.results["stages"][name] = round(dt, 2)
        self.save()
        print(f"[done] {name}: {dt:.1f} s", flush=True)

    def evaluate(self, name: str, reps: Path) -> None:
        if name in self.results["scores"]:
            print(f"[skip] evaluate {name}: {self.results['scores'][name]}")
            return
        out = self.work / f"eval-{name}.json"
        cmd = rae("evaluate", "--input", str(reps), "--cross-validate", "--repeat",
                  str(self.repeats), "--classifier", "mlp", "--shuffle", "--json", str(out))
        print(f"[run ] evaluate {name}", flush=True)
        t = time.perf_counter()
        subprocess.run(cmd, check=True)
        dt = time.perf_counter() - t
        res = json.loads(out.read_text())
        summary = res.get("summary", res)
        self.results["scores"][name] = {
            "accuracy": summary.get("accuracy"), "accuracy_std": summary.get("accuracy_std"),
            "uar": summary.get("uar"), "uar_std": summary.get("uar_std"), "seconds": round(dt, 2)}
        self.save()
        print(f"[done] evaluate {name}: {self.results['scores'][name]}", flush=True)

    def autoencoder(self, tag: str, specs: Path, extra_train=(), units: int = 256,
                    pool_states: bool = False) -> Path:
        run = self.work / f"run{tag}"
        self.stage(f"train {tag}", run / "encoder.onnx.trained",
                   rae("train", "--input", str(specs), "--run-dir", str(run), "--num-layers", "2",
                       "--num-units", str(units), "--bidirectional-decoder", "--num-epochs",
                       str(self.epochs), "--batch-size", "64", "--learning-rate", "1e-3",
                       "--dropout", "0.2", "--threads", str(self.threads),
                       *(["--continue"] if (run / "checkpoints").exists() else []),
                       *(["--quiet"] if self.quiet else []), *extra_train))
        (run / "encoder.onnx.trained").touch()
        onnx = run / "encoder.onnx"
        self.stage(f"export-onnx {tag}", onnx,
                   rae("export-onnx", str(run), "--output", str(onnx), "--no-autoencoder",
                       *(["--pool-states"] if pool_states else [])))
        reps = self.work / f"reps{tag}.nc"
        self.stage(f"generate {tag}", reps,
                   rae("generate", "--model", str(onnx), "--input", str(specs), "--output",
                       str(reps), "--threads", str(self.threads),
                       *(["--quiet"] if self.quiet else [])))
        return reps


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, required=True, help="folder for all outputs")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="ESC-10 folder")
    ap.add_argument("--clippings", type=float, nargs="+", default=[-30, -45, -60, -75])
    ap.add_argument("--epochs", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=default_threads())
    ap.add_argument("--no-autocorrelogram", action="store_true")
    ap.add_argument("--units", type=int, default=256, help="units per recurrent layer")
    ap.add_argument("--train-args", default="",
                    help="extra rae-fast train options for every autoencoder (one string)")
    ap.add_argument("--pool-states", action="store_true",
                    help="export-onnx --pool-states (code + time-averaged encoder outputs)")
    ap.add_argument("--band-stats", action="store_true",
                    help="also per-band statistics (mean, std, delta) of the -60 dB "
                         "spectrograms, alone and fused with the mel representations")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    a = ap.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    r = Recipe(a.work, a.data, a.epochs, a.repeats, a.threads, a.quiet)
    r.results["settings"] = {"epochs": a.epochs, "repeats": a.repeats, "threads": a.threads,
                             "clippings": a.clippings, "data": str(a.data), "units": a.units,
                             "train_args": a.train_args, "pool_states": a.pool_states}
    q = ["--quiet"] if a.quiet else []
    extra = shlex.split(a.train_args)

    # one decode of the audio, one file per clipping
    names = {clip: f"{clip:g}" for clip in a.clippings}
    r.stage("preprocess mel (all clippings)", a.work / f"mel{names[a.clippings[-1]]}.nc",
            rae("preprocess", "--basedir", str(a.data), "--output", str(a.work / "mel{clip}.nc"),
                "--window-width", "0.08", "--window-overlap", "0.04", "--mel-spectrum",
                "128", "--fixed-length", "5", "--center-fixed", "--clip-below",
                *map(str, a.clippings), "--workers", str(a.threads), *q))
    mel_reps = []
    for clip in a.clippings:
        tag = names[clip]
        specs = a.work / f"mel{tag}.nc"
        reps = r.autoencoder(f"mel{tag}", specs, extra, a.units, a.pool_states)
        r.evaluate(f"mel {tag} dB", reps)
        mel_reps.append(reps)

    if len(mel_reps) > 1:
        fused = a.work / "fused-mel.nc"
        r.stage("fuse mel", fused, rae("fuse", *map(str, mel_reps), "--output", str(fused)))
        r.evaluate("mel fused", fused)

    if a.band_stats:
        source = a.work / f"mel{names[-60.0]}.nc" if -60.0 in names else \
            a.work / f"mel{names[a.clippings[0]]}.nc"
        stats = a.work / "band-stats.nc"
        r.stage("band-stats", stats, rae("band-stats", "--input", str(source), "--output",
                                         str(stats), "--statistics", "mean", "std", "delta"))
        r.evaluate("band statistics", stats)
        fused = a.work / "fused-mel-stats.nc"
        r.stage("fuse mel+stats", fused, rae("fuse", *map(str, mel_reps), str(stats),
                                             "--output", str(fused)))
        r.evaluate("mel fused + band statistics", fused)

    if not a.no_autocorrelogram:
        specs = a.work / "acf.nc"
        r.stage("preprocess acf", specs,
                rae("preprocess", "--basedir", str(a.data), "--output", str(specs),
                    "--features", "autocorrelogram", "--sr", "16000", "--window-width", "0.08",
                    "--window-overlap", "0.04", "--max-lag", "0.008", "--fixed-length", "5",
                    "--center-fixed", "--workers", str(a.threads), *q))
        reps = r.autoencoder("acf", specs, extra, a.units)
        r.evaluate("autocorrelogram", reps)
        fused = a.work / "fused-mel-acf.nc"
        r.stage("fuse mel+acf", fused,
                rae("fuse", *map(str, mel_reps), str(reps), "--output", str(fused)))
        r.evaluate("mel + autocorrelogram fused", fused)

    print("\n| representation | accuracy | UAR | evaluate (s) |\n|---|---|---|---|")
    for name, s in r.results["scores"].items():
        def pct(v, sd):
            return "-" if v is None else (f"{100 * v:.1f} %" if sd is None
                                          else f"{100 * v:.1f} ± {100 * sd:.1f} %")
        print(f"| {name} | {pct(s['accuracy'], s.get('accuracy_std'))} | "
              f"{pct(s['uar'], s.get('uar_std'))} | {s['seconds']} |")
    print("\n| stage | seconds |\n|---|---|")
    for name, s in r.results["stages"].items():
        print(f"| {name} | {s} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
