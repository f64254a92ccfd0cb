"""``rae-fast demo``: the whole pipeline on data the package makes itself.

Stages (each is the ``rae-fast`` command of the same name, run in-process, so the demo is also
a worked example of the command line):

1. ``synth``            six classes of synthetic sounds (:mod:`rae_fast.synth`), 4 folds
2. ``preprocess``       auDeep log-mel spectrograms (netCDF4)
3. ``autocorrelogram``  one autocorrelogram per class as ``.npy`` and ``.obj`` (3-D mesh)
4. ``train``            a recurrent sequence-to-sequence autoencoder (PyTorch)
5. ``export-onnx``      the encoder as ONNX (carrying its preprocessing)
6. ``generate``         representations with ONNX Runtime
7. ``embed``            the same representations straight from the audio files, by the model file
8. ``evaluate``         the paper's MLP, cross-validated over the folds
9. ``reconstruct``      the autoencoder's reconstructions, also as audio (``--audio``:
                        de-normalisation, mel inversion, Griffin-Lim)
10. ``plot``            a t-SNE map of the representations and original vs reconstructed
                        spectrograms (PNG; needs matplotlib)

Everything goes to one output folder, named at the end. Running the demo again with the same
folder and settings skips the stages that are done (an interrupted run resumes).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from .._io import atomic_write_text
from .._validation import default_threads
from .data import _auto_or

#: Settings of the full demo and of ``--quick`` (used by the tests and CI).
PRESETS = {
    "full": dict(n_per_class=24, seconds=2.0, n_mels=64, num_layers=2, num_units=64,
                 epochs=40, mlp_epochs=400, repeats=1),
    "quick": dict(n_per_class=8, seconds=1.0, n_mels=32, num_layers=1, num_units=32,
                  epochs=4, mlp_epochs=100, repeats=1),
}


def register(sub) -> None:
    p = sub.add_parser(
        "demo", help="run the whole pipeline on synthetic sounds (or --data DIR)",
        description="Generate a small labelled data set of synthetic sounds (or use --data DIR), "
                    "then run preprocess -> train -> export-onnx -> generate -> evaluate, "
                    "printing each stage with its time, the accuracy and the confusion matrix.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("rae-fast-demo"),
                   help="output folder (created; a rerun with the same settings resumes)")
    p.add_argument("--quick", action="store_true",
                   help="a much smaller run (a few seconds; for tests and CI)")
    p.add_argument("--data", type=Path, default=None,
                   help="run on this audio collection instead of synthetic sounds (any layout "
                        "`rae-fast inspect` recognises; folds are added when it has none; "
                        "unusable files are left out and listed)")
    p.add_argument("--fixed-length", type=_auto_or(float, "a length in seconds"), default="auto",
                   metavar="SECONDS",
                   help="with --data: cut or pad every recording to this length, centred; "
                        "auto: the median length of the recordings (printed)")
    p.add_argument("--sr", type=_auto_or(int, "a rate in Hz"), default="auto", metavar="HZ",
                   help="with --data: resample every recording to this rate; auto: the most "
                        "common rate of the recordings (nothing is resampled when they share "
                        "one)")
    p.add_argument("--epochs", type=int, default=None,
                   help="autoencoder epochs (default: 40, or 4 with --quick)")
    p.add_argument("--seed", type=int, default=0, help="random seed of every stage")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="training and inference device")
    p.set_defaults(func=run_demo)


class _Stages:
    """Runs ``rae-fast`` commands in-process, timing and printing each stage."""

    def __init__(self, verbose_bars: bool):
        self.times = {}
        self.bars = verbose_bars

    def run(self, name: str, argv, skip_if: Path = None, ok=(0,)) -> None:
        from . import main

        print(f"\n== {name} " + "=" * max(0, 66 - len(name)), flush=True)
        if skip_if is not None and skip_if.exists():
            print(f"   done before: {skip_if}")
            self.times[name] = 0.0
            return
        print("   $ rae-fast " + " ".join(str(a) for a in argv), flush=True)
        t = time.perf_counter()
        status = main([str(a) for a in argv])
        if status not in ok:
            raise SystemExit(status)
        self.times[name] = time.perf_counter() - t
        print(f"   [{name}: {self.times[name]:.1f} s]", flush=True)

    def timed(self, name: str):
        stages = self

        class _T:
            def __enter__(self):
                print(f"\n== {name} " + "=" * max(0, 66 - len(name)), flush=True)
                self.t = time.perf_counter()

            def __exit__(self, *exc):
                if exc[0] is None:
                    stages.times[name] = time.perf_counter() - self.t
                    print(f"   [{name}: {stages.times[name]:.1f} s]", flush=True)

        return _T()


def _check_settings(out: Path, settings: dict) -> None:
    """A rerun may resume only a run with the same settings."""
    path = out / "demo-settings.json"
    if path.exists():
        old = json.loads(path.read_text())
        if old != settings:
            diff = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
            raise ValueError(f"{out} holds a demo run with other settings ({', '.join(diff)}); "
                             f"choose another --out or delete that folder")
    else:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(settings, indent=2, sort_keys=True))


def run_demo(args) -> int:
    from ..dataset import load

    preset = dict(PRESETS["quick" if args.quick else "full"])
    if args.epochs is not None:
        if args.epochs < 1:
            raise ValueError(f"--epochs must be >= 1, got {args.epochs}")
        preset["epochs"] = args.epochs
    if args.data is not None and not args.data.is_dir():
        raise ValueError(f"--data {args.data} is not a folder")
    threads = args.threads or default_threads()
    if threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    out: Path = args.out
    settings = dict(preset, seed=args.seed, data=str(args.data.resolve()) if args.data else None)
    if args.data is not None:
        settings.update(fixed_length=args.fixed_length, sr=args.sr)
    _check_settings(out, settings)
    quiet = ["--quiet"]
    st = _Stages(verbose_bars=False)
    t_all = time.perf_counter()

    # 1. data
    if args.data is None:
        from ..synth import DEMO_CLASSES, make_demo_dataset

        audio = out / "audio"
        with st.timed("synth"):
            make_demo_dataset(audio, n_per_class=preset["n_per_class"], n_folds=4, sr=16000,
                              seconds=preset["seconds"], seed=args.seed)
            print(f"   {len(DEMO_CLASSES)} classes x {preset['n_per_class']} clips of "
                  f"{preset['seconds']} s at 16 kHz in 4 folds -> {audio}")
            for name, what in DEMO_CLASSES.items():
                print(f"   {name:13s} {what}")
        pre = ["--window-width", "0.064", "--window-overlap", "0.032",
               "--mel-spectrum", preset["n_mels"], "--clip-below", "-60"]
    else:
        # the user's recordings: one length (the median unless given: a long outlier does not
        # blow every instance up; the clips that are longer lose their ends, centred) and one
        # rate (the most common unless given); unusable files are left out and listed
        audio = args.data
        pre = ["--fixed-length", args.fixed_length, "--center-fixed", "--sr", args.sr,
               "--skip-bad"]
    specs = out / "spectrograms.nc"
    st.run("preprocess", ["preprocess", "--basedir", audio, "--output", specs, *pre,
                          "--workers", threads, *quiet], skip_if=specs)
    ds = load(specs)
    try:
        n_folds = ds.n_folds
        labelled = ds.is_labelled
        print(f"   {len(ds)} instances, features {' x '.join(map(str, ds.feature_shape))} "
              f"({', '.join(ds.feature_dims)}), {len(ds.label_map or {})} labels, "
              f"{n_folds} folds")
        if args.data is not None:
            length, rate = ds.attrs.get("preprocess.fixed_length"), ds.attrs.get("preprocess.sr")
            chosen = [f"--{k.replace('_', '-')} auto" for k in ds.attrs.get("source.auto") or {}]
            print(f"   every recording cut or padded to {length:.4g} s (centred) at {rate} Hz"
                  + (f" (chosen by {' and '.join(chosen)})" if chosen else ""))
    finally:
        ds.close()
    if not labelled:
        raise ValueError(f"{audio} has no labels: the demo's evaluation needs labelled "
                         f"recordings (class folders or a known layout)")
    if n_folds == 0:
        st.run("modify", ["modify", specs, "--add-cv-setup", 4,
                          "--seed", args.seed])

    # 2. autocorrelograms of a few clips (the 3-D view)
    if args.data is None:
        acf_dir = out / "autocorrelograms"
        examples = [sorted((audio / "fold_1" / c).glob("*.wav"))[0] for c in DEMO_CLASSES]
        st.run("autocorrelogram", ["autocorrelogram", *examples, "--out", acf_dir,
                                   "--format", "npy", "obj", "--frame-length", 1024,
                                   "--hop-length", 256, "--max-lag", 400, *quiet])

    # 3. the autoencoder
    run_dir = out / "run"
    train = ["train", "--input", specs, "--run-dir", run_dir,
             "--num-layers", preset["num_layers"], "--num-units", preset["num_units"],
             "--bidirectional-decoder", "--num-epochs", preset["epochs"],
             "--seed", args.seed, "--device", args.device, "--threads", threads, *quiet]
    done_marker = run_dir / "demo-trained"
    if (run_dir / "checkpoints").exists() and not done_marker.exists():
        train.append("--continue")
    st.run("train", train, skip_if=done_marker)
    done_marker.touch()
    loss = _loss_summary(run_dir / "loss.csv")
    if loss:
        print(f"   reconstruction RMSE {loss[0]:.4f} (epoch 1) -> {loss[1]:.4f} "
              f"(epoch {loss[2]})")
    onnx = out / "encoder.onnx"
    autoencoder = out / "autoencoder.onnx"
    st.run("export-onnx", ["export-onnx", run_dir, "--output", onnx, "--autoencoder-output",
                           autoencoder], skip_if=autoencoder)
    reps = out / "representations.nc"
    st.run("generate", ["generate", "--model", onnx, "--input", specs, "--output", reps,
                        "--device", args.device, "--threads", threads, *quiet], skip_if=reps)

    # the exported model carries its preprocessing: it embeds audio by itself, and gives the
    # representations generate computed from the preprocessed set
    embedded = out / "embeddings.csv"
    st.run("embed", ["embed", "--model", onnx, audio, "--output", embedded,
                     "--segmentation", "preprocess", "--workers", threads, "--threads", threads,
                     *(["--skip-bad"] if args.data is not None else []), *quiet],
           skip_if=embedded, ok=(0, 1))          # 1: files left out, as preprocess did
    _compare_embeddings(embedded, reps)

    # 4. evaluation
    ev = ["evaluate", "--input", reps, "--cross-validate", "--classifier", "mlp",
          "--num-epochs", preset["mlp_epochs"], "--repeat", preset["repeats"],
          "--seed", args.seed, "--json", out / "evaluation.json",
          "--csv", out / "confusion.csv"]
    try:
        import matplotlib  # noqa: F401
        ev += ["--plot", out / "confusion.png"]
    except ImportError:
        pass
    st.run("evaluate", ev)

    # 5. back to sound and pictures
    pictures = _back_to_sound(st, out, specs, reps, autoencoder, threads, quiet)

    res = json.loads((out / "evaluation.json").read_text())
    total = time.perf_counter() - t_all
    n_classes = len(res.get("class_names", [])) or 1
    print("\n== summary " + "=" * 58)
    for name, t in st.times.items():
        print(f"   {name:20s} {t:7.1f} s")
    print(f"   {'total':20s} {total:7.1f} s")
    print(f"   accuracy {100 * res['accuracy']:.1f} %, UAR {100 * res['uar']:.1f} % "
          f"(chance {100 / n_classes:.1f} %)")
    for line in pictures:
        print(f"   {line}")
    print(f"   everything is in {out.resolve()}")
    return 0


def _back_to_sound(st: "_Stages", out: Path, specs: Path, reps: Path, autoencoder: Path,
                   threads: int, quiet) -> list:
    """reconstruct --audio, plot tsne, plot reconstruction; the summary's lines about them."""
    recon, decoded = out / "reconstructions.nc", out / "decoded"
    st.run("reconstruct", ["reconstruct", "--model", autoencoder, "--input", specs, "--output",
                           recon, "--audio", decoded, "--threads", threads, *quiet],
           skip_if=recon)
    wavs = sorted(decoded.rglob("*.wav"))
    by_class: dict = {}
    for w in wavs:
        by_class.setdefault(w.parent, w)
    lines = [f"{len(wavs)} reconstructions as audio in {decoded}, e.g. "
             + ", ".join(str(w.relative_to(out)) for w in list(by_class.values())[:3])
             + " (teacher-forced: the demo's decoder is bidirectional; rae-fast encode / "
               "decode need a unidirectional one)"]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return lines + ["no pictures: matplotlib is not installed (pip install "
                        "'rae_fast[plot]')"]
    tsne, rec_png = out / "tsne.png", out / "reconstruction.png"
    from ..dataset import load

    with load(reps, lazy=True) as ds:
        n = len(ds)
    # auDeep's perplexity (30) unless the data set is small: it must stay below the instances
    perplexity = min(30.0, max(1.0, (n - 1) / 3))
    st.run("plot tsne", ["plot", "tsne", "--input", reps, "--output", tsne, "--perplexity",
                         f"{perplexity:g}"], skip_if=tsne)
    st.run("plot reconstruction", ["plot", "reconstruction", "--input", specs,
                                   "--reconstruction", recon, "--output", rec_png],
           skip_if=rec_png)
    return lines + [f"pictures: {tsne} (t-SNE of the representations), {rec_png} (original "
                    "vs reconstructed spectrograms)"]


def _compare_embeddings(csv_path: Path, reps_path: Path) -> None:
    """Print how far ``rae-fast embed`` (audio -> model file) is from preprocess + generate."""
    import csv

    import numpy as np

    from ..dataset import load

    reps = load(reps_path)
    index = {(f, int(c) if c >= 0 else 0): i
             for i, (f, c) in enumerate(zip(reps.filenames, reps.chunk_nr))}
    seen: dict = {}
    worst, n = 0.0, 0
    with open(csv_path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            f = row["file"]
            k = seen[f] = seen.get(f, -1) + 1
            i = index.get((f, k))
            if i is None:
                continue
            vals = np.array([float(row[c]) for c in row if c.startswith("rae_")], np.float32)
            worst = max(worst, float(np.abs(vals - reps.features[i]).max()))
            n += 1
    print(f"   {n} clips embedded straight from the audio by the exported model file; max "
          f"|difference| from preprocess + generate: {worst:.1e}")


def _loss_summary(path: Path):
    """(first epoch loss, last epoch loss, last epoch) from a run's loss.csv, or None."""
    import csv

    if not path.exists():
        return None
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    key = next((k for k in rows[0] if "loss" in k.lower()), None)
    if key is None:
        return None
    return float(rows[0][key]), float(rows[-1][key]), int(rows[-1].get("epoch", len(rows)))
