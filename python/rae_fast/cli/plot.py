"""``rae-fast plot tsne | reconstruction``: pictures of what a model learnt.

::

    rae-fast plot tsne --input REPS.nc --output tsne.png [--perplexity 30] [--learning-rate auto]
    rae-fast plot reconstruction --input SPECS.nc --reconstruction RECON.nc --output recon.png

``tsne`` is auDeep's ``visualize tsne``: a t-SNE map (scikit-learn) of the instances of a data
set (representations from ``generate``, or any features), coloured by label.
``reconstruction`` shows original and reconstructed spectrograms (or autocorrelograms) of a few
instances side by side with their RMSE (``RECON.nc`` from ``rae-fast reconstruct``).
"""
from __future__ import annotations

import argparse

from ._types import finite_float, nonneg_int, positive_int

__all__ = ["register"]


def _learning_rate(text: str):
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def _cmd_tsne(args) -> int:
    from ..dataset import load
    from ..plotting import plot_tsne

    ds = load(args.input)
    labels = None if not ds.is_labelled else list(ds.label_nominal)
    plot_tsne(ds.features, labels, args.output, perplexity=args.perplexity,
              learning_rate=args.learning_rate, random_state=args.seed,
              title=args.title or f"t-SNE of {args.input} ({len(ds)} instances)")
    print(f"wrote {args.output}: t-SNE of {len(ds)} instances"
          + (f" in {len(set(labels))} classes" if labels else " (unlabelled)"))
    return 0


def _cmd_reconstruction(args) -> int:
    import numpy as np

    from ..dataset import load
    from ..plotting import plot_reconstruction

    orig = load(args.input)
    recon = load(args.reconstruction)
    if list(orig.filenames) != list(recon.filenames) or orig.feature_shape != recon.feature_shape:
        raise ValueError(f"{args.reconstruction} does not hold the reconstructions of "
                         f"{args.input} (file names, order or feature shape differ)")
    if args.index:
        idx = list(args.index)
        bad = [i for i in idx if i >= len(orig)]
        if bad:
            raise ValueError(f"index {bad[0]} is out of range: {args.input} has {len(orig)} "
                             "instances")
    else:
        # the first instance of each label (or the first ones), at most `count`
        idx, seen = [], set()
        labels = list(orig.label_nominal) if orig.is_labelled else [None] * len(orig)
        for i, lab in enumerate(labels):
            if lab not in seen or lab is None:
                seen.add(lab)
                idx.append(i)
            if len(idx) >= args.count:
                break
    A, B = np.asarray(orig.features)[idx], np.asarray(recon.features)[idx]
    names = [f"{orig.filenames[i]}" + (f" [{orig.chunk_nr[i]}]" if orig.chunk_nr[i] else "")
             for i in idx]
    mode = recon.attrs.get("reconstruction_mode")
    plot_reconstruction(A, B, args.output, names=names, feature_dims=orig.feature_dims,
                        title=args.title or (f"{args.reconstruction}" +
                                             (f" ({mode.replace('_', ' ')})" if mode else "")))
    print(f"wrote {args.output}: {len(idx)} instance(s), original and reconstruction")
    return 0


def register(sub) -> None:
    """Add ``plot tsne`` and ``plot reconstruction`` to the CLI."""
    p = sub.add_parser("plot", help="pictures: t-SNE of representations, reconstructions",
                       description="Draw pictures of what a model learnt (PNG, or the format "
                                   "of the output's suffix).")
    kinds = p.add_subparsers(dest="plot_kind", metavar="KIND")
    kinds.required = True

    t = kinds.add_parser("tsne", help="t-SNE map of a data set's instances coloured by label",
                         description="auDeep's visualize tsne: a 2-D t-SNE map (scikit-learn, "
                                     "PCA initialisation) of the instances of a data set, "
                                     "coloured by label.")
    t.add_argument("--input", required=True, metavar="REPS.nc",
                   help="data set (representations from generate, or any features)")
    t.add_argument("--output", "-o", required=True, metavar="PNG", help="picture file")
    t.add_argument("--perplexity", type=finite_float, default=30.0,
                   help="t-SNE perplexity, below the number of instances (default 30)")
    t.add_argument("--learning-rate", type=_learning_rate, default="auto",
                   help="t-SNE learning rate, a number or 'auto' (default: auto, scikit-learn's; "
                        "auDeep used 1000)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--title", default=None, help="title of the picture")
    t.set_defaults(func=_cmd_tsne, flag_aliases={"random_state": "--seed"})

    r = kinds.add_parser("reconstruction",
                         help="original and reconstructed spectrograms side by side",
                         description="Original and reconstructed features (spectrograms or "
                                     "autocorrelograms) of a few instances side by side, with "
                                     "their RMSE. RECON.nc comes from rae-fast reconstruct.")
    r.add_argument("--input", required=True, metavar="SPECS.nc", help="original data set")
    r.add_argument("--reconstruction", required=True, metavar="RECON.nc",
                   help="its reconstructions (rae-fast reconstruct)")
    r.add_argument("--output", "-o", required=True, metavar="PNG", help="picture file")
    r.add_argument("--index", type=nonneg_int, nargs="+", default=None, metavar="I",
                   help="instances to show (default: the first of each label)")
    r.add_argument("--count", type=positive_int, default=4,
                   help="instances to show without --index (default 4, at most 16)")
    r.add_argument("--title", default=None, help="title of the picture")
    r.set_defaults(func=_cmd_reconstruction)
