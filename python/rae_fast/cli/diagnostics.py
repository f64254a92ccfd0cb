"""``rae-fast diagnose``: what a representation carries.

::

    rae-fast diagnose --model RUN --input specs.nc --representations reps-45.nc reps-75.nc \\
        --json report.json

With ``--model``: teacher-forced reconstruction RMSE with the real codes, the codes zeroed and
codes shuffled between instances, next to model-free baselines
(:func:`rae_fast.model.diagnostics.reconstruction_diagnostics`, needs PyTorch). With
``--representations``: effective dimensionality of each set and ridge predictability between
sets (:mod:`rae_fast.evaluation.diagnostics`, numpy only).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import numpy as np

from ._types import positive_int
from .model import _add_runtime_options


# ---------------------------------------------------------------------------- diagnose

def _cmd_diagnose(args) -> int:
    import json

    from ..dataset import load
    from ..evaluation.diagnostics import pairwise_predictability, representation_statistics

    if args.model is None and not args.representations:
        raise ValueError("give --model RUN (with --input) and/or --representations FILE...")
    report: Dict[str, Any] = {}
    sets, names = [], []
    if args.model is not None:
        if args.input is None:
            raise ValueError("--model needs --input (the spectrograms to reconstruct)")
        import torch

        from ..model.checkpoints import load_model
        from ..model.diagnostics import reconstruction_diagnostics

        if args.threads:
            torch.set_num_threads(args.threads)
        model = load_model(Path(args.model), epoch=args.epoch, device=args.device)
        x = load(args.input).features
        report["model"] = {"run": str(args.model), "architecture": model.config.architecture}
        mask = args.mask_silence
        if mask is None:       # measure as the model was trained
            from ..model.checkpoints import read_run_config
            try:
                mask = bool(read_run_config(args.model)["training"].get("mask_silence", False))
            except (FileNotFoundError, ValueError):
                mask = False
        report["rmse"] = reconstruction_diagnostics(model, x, seed=args.seed,
                                                    max_instances=args.max_instances,
                                                    mask_silence=mask)
        report["rmse"]["mask_silence"] = mask
        if not args.representations:
            with torch.no_grad():
                reps = np.concatenate([model.encode(x[a:a + 64]).cpu().numpy()
                                       for a in range(0, len(x), 64)])
            sets.append(reps)
            names.append(f"{args.model} (PyTorch)")
    for path in args.representations or []:
        sets.append(load(path).features)
        names.append(str(path))
    report["representations"] = [{"file": n, **representation_statistics(s)}
                                 for n, s in zip(names, sets)]
    if len(sets) > 1:
        if len({len(s) for s in sets}) != 1:
            raise ValueError("--representations must hold the same instances to be compared")
        report["predictability"] = pairwise_predictability(sets, names)
    _print_diagnosis(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _print_diagnosis(report: Dict[str, Any]) -> None:
    r = report.get("rmse")
    if r:
        masked = " (floor values masked, as trained)" if r.get("mask_silence") else ""
        print(f"teacher-forced reconstruction RMSE over {r['n_instances']} instances{masked}: "
              f"real code {r['real']:.4f} | code zeroed {r['zeroed']:.4f} | codes shuffled "
              f"between instances {r['shuffled']:.4f}")
        print(f"  baselines without a model: copy previous frame {r['copy_previous']:.4f} | "
              f"neighbour average {r['neighbour_average']:.4f} | zeros {r['zeros']:.4f}")
    for s in report["representations"]:
        print(f"{s['file']}: {s['dimensions']} dims, effective dimensionality "
              f"{s['effective_dimensionality']:.1f}, top 10 components "
              f"{100 * s['variance_top']:.0f} % of the variance, {s['components_80']} for 80 %, "
              f"{100 * s['saturated_fraction']:.1f} % of values saturated (|v| > 0.99)")
    for p in report.get("predictability", []):
        print(f"R^2 predicting {p['to']} from {p['from']} (ridge, 5-fold): {p['r2']:.3f}")


# ----------------------------------------------------------------------------- register

def register(subparsers) -> None:
    p = subparsers.add_parser(
        "diagnose", help="what a representation carries: codes zeroed / shuffled, effective "
                         "dimensionality, predictability between representation sets",
        description="With --model RUN --input SPECS.nc: teacher-forced reconstruction RMSE "
                    "with the real codes, with the codes zeroed and with codes shuffled between "
                    "instances, next to the copy-previous-frame and neighbour-average "
                    "baselines. With --representations: effective dimensionality of each set "
                    "and, for several sets of the same instances, how well a ridge regression "
                    "predicts one from another (R^2; close to 1: fusing them adds little).")
    p.add_argument("--model", default=None, metavar="RUN", help="run directory (PyTorch)")
    p.add_argument("--epoch", type=positive_int, default=None,
                   help="with --model: checkpoint to use (default the newest)")
    p.add_argument("--input", default=None, metavar="SPECS.nc",
                   help="spectrograms the model was trained on")
    p.add_argument("--representations", nargs="+", default=None, metavar="REPS.nc",
                   help="representation data sets (same instances) to describe and compare")
    p.add_argument("--max-instances", type=positive_int, default=None,
                   help="reconstruct a random subset of this many instances (default all)")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the shuffling of codes and the subset (default 0)")
    mask = p.add_mutually_exclusive_group()
    mask.add_argument("--mask-silence", dest="mask_silence", action="store_true", default=None,
                      help="values at the -1 floor count as exact (default: as the run was "
                           "trained)")
    mask.add_argument("--no-mask-silence", dest="mask_silence", action="store_false",
                      help="count every value")
    p.add_argument("--json", default=None, metavar="FILE", help="write the report as JSON")
    _add_runtime_options(p)
    p.set_defaults(func=_cmd_diagnose)
