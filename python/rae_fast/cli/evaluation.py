"""Commands ``evaluate``, ``predict``, ``fuse``, ``fuse-chunks``, ``export`` and ``import``.

Option names follow auDeep's (``--cross-validate``, ``--train-partitions``,
``--eval-partitions``, ``--upsample``, ``--majority-vote``, ``--repeat``, ``--num-epochs``,
``--num-layers``, ``--num-units``, ``--learning-rate``, ``--shuffle``, ``--complexity``,
``--labels-last``, ``--format``, ``--name``); the classifier is chosen with ``--classifier``.

Example::

    rae-fast evaluate --input reps.nc --cross-validate --classifier mlp --repeat 3 \\
        --json results.json --scores-csv scores.csv --plot confusion.png
    rae-fast predict --train-input train.nc --eval-input test.nc --output predictions.csv
    rae-fast fuse a.nc b.nc --weights 1 0.5 --output fused.nc
    rae-fast export --input reps.nc --format arff --output exported/
    rae-fast import --input exported/ --name reps --output reps.nc
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ._ray import RAY_FLAGS, add_ray_option
from ._types import nonneg_int, positive_int

log = logging.getLogger(__name__)

_PARTITIONS = ("train", "devel", "test")


def _partition(text: str) -> str:
    low = text.strip().lower()
    if low not in _PARTITIONS:
        raise argparse.ArgumentTypeError(f"unknown partition {text!r} (train, devel or test)")
    return low


def _add_classifier_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--classifier", choices=("mlp", "svm"), default="mlp",
                   help="classifier: the paper's MLP or a linear SVM (default mlp)")
    p.add_argument("--upsample", action="store_true",
                   help="balance the classes of the training data by repeating instances")
    p.add_argument("--majority-vote", action="store_true",
                   help="one decision per file: majority vote over its chunks")
    p.add_argument("--seed", type=nonneg_int, default=0,
                   help="random seed (weights, dropout, shuffling; default 0)")
    g = p.add_argument_group("MLP options")
    g.add_argument("--num-layers", type=nonneg_int, default=2,
                   help="hidden layers (default 2)")
    g.add_argument("--num-units", type=positive_int, default=150,
                   help="units per hidden layer (default 150)")
    drop = g.add_mutually_exclusive_group()
    drop.add_argument("--dropout", type=float, default=None,
                      help="dropout probability of hidden units (default 0.4)")
    drop.add_argument("--keep-prob", type=float, default=None,
                      help="auDeep's name: probability to keep hidden units, = 1 - dropout "
                           "(default 0.6)")
    g.add_argument("--learning-rate", type=float, default=1e-3,
                   help="Adam learning rate (default 0.001)")
    g.add_argument("--num-epochs", type=positive_int, default=400,
                   help="training epochs (default 400)")
    g.add_argument("--batch-size", type=positive_int, default=None,
                   help="mini-batch size (default: full batch, as in the paper)")
    g.add_argument("--shuffle", action="store_true",
                   help="reshuffle the training data every epoch")
    g.add_argument("--device", default="cpu",
                   help="cpu, cuda, cuda:N or auto (default cpu)")
    g = p.add_argument_group("SVM options")
    g.add_argument("--complexity", type=float, default=1.0,
                   help="SVM complexity C (default 1.0)")


_DEFAULT_DROPOUT = 0.4


def _dropout(args) -> float:
    """--dropout, or 1 - --keep-prob (auDeep's option), or the default 0.4."""
    keep = getattr(args, "keep_prob", None)
    if keep is not None:
        if not 0.0 < keep <= 1.0:
            raise ValueError(f"--keep-prob must be in (0, 1], got {keep}")
        return 1.0 - keep
    return _DEFAULT_DROPOUT if args.dropout is None else args.dropout


def _classifier_params(args, probability: bool = False) -> dict:
    if args.classifier == "mlp":
        return dict(hidden_layers=args.num_layers, hidden_units=args.num_units,
                    dropout=_dropout(args), learning_rate=args.learning_rate,
                    epochs=args.num_epochs, batch_size=args.batch_size, shuffle=args.shuffle,
                    device=args.device)
    params = dict(C=args.complexity)
    if probability:
        params["probability"] = True
    return params


def _existing(path: Path, what: str) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"{what} {path} does not exist")
    return path


# ------------------------------------------------------------------------------- evaluate

def _cmd_evaluate(args) -> int:
    from ..dataset import load

    if args.ray is not None:                   # the folds x repeats as Ray tasks
        from ..distributed import cross_validate, evaluate_partitions
    else:
        from ..evaluation.protocols import cross_validate, evaluate_partitions

    if args.cross_validate and (args.train_partitions or args.eval_partitions):
        raise ValueError("--cross-validate and --train-partitions/--eval-partitions are "
                         "mutually exclusive")
    if not args.cross_validate and not (args.train_partitions and args.eval_partitions):
        raise ValueError("choose --cross-validate, or both --train-partitions and "
                         "--eval-partitions")
    dataset = load(_existing(args.input, "input file"))
    common = dict(repeat=args.repeat, seed=args.seed, upsample=args.upsample,
                  majority_vote=args.majority_vote, n_jobs=args.jobs, progress=None)
    params = _classifier_params(args)
    if args.ray is not None:
        common["address"] = args.ray
    try:
        if args.cross_validate:
            result = cross_validate(dataset, args.classifier, **common, **params)
        else:
            result = evaluate_partitions(dataset, args.train_partitions, args.eval_partitions,
                                         args.classifier, **common, **params)
    except ValueError as exc:
        raise ValueError(f"{args.input}: {exc}") from None
    result.settings["input"] = str(args.input)
    if args.json:
        result.save_json(args.json)
        log.info("wrote %s", args.json)
    if args.csv:
        result.save_confusion_csv(args.csv)
        log.info("wrote %s", args.csv)
    if args.scores_csv:
        result.save_scores_csv(args.scores_csv)
        log.info("wrote %s", args.scores_csv)
    if args.plot:
        result.plot(args.plot)
        log.info("wrote %s", args.plot)
    if args.brief:
        print(f"{result.accuracy:.4f},{result.uar:.4f}")
    else:
        print(result.table(normalize=args.normalize))
    return 0


# -------------------------------------------------------------------------------- predict

def _cmd_predict(args) -> int:
    from ..dataset import load
    from ..evaluation.protocols import predict

    train = load(_existing(args.train_input, "training data"))
    evaluate = load(_existing(args.eval_input, "evaluation data"))
    preds = predict(train, evaluate, args.classifier, train_partitions=args.train_partitions,
                    eval_partitions=args.eval_partitions, upsample=args.upsample,
                    majority_vote=args.majority_vote, seed=args.seed,
                    **_classifier_params(args, probability=args.probability))
    preds.to_csv(args.output)
    log.info("wrote %d predictions to %s", len(preds), args.output)
    return 0


# ----------------------------------------------------------------------------------- fuse

def _cmd_fuse(args) -> int:
    from ..fusion import fuse_files

    for p in args.inputs:
        _existing(p, "input file")
    if args.weights is not None and len(args.weights) != len(args.inputs):
        raise ValueError(f"--weights needs one weight per input ({len(args.inputs)}), got "
                         f"{len(args.weights)}")
    fuse_files(args.inputs, args.output, weights=args.weights, dimension=args.dimension,
               align=args.align)
    log.info("fused %d data sets into %s", len(args.inputs), args.output)
    return 0


def _cmd_fuse_chunks(args) -> int:
    from ..dataset import load, save
    from ..fusion import fuse_chunks

    dataset = load(_existing(args.input, "input file"))
    try:
        fused = fuse_chunks(dataset, dimension=args.dimension)
    except ValueError as exc:
        raise ValueError(f"{args.input}: {exc}") from None
    save(fused, args.output)
    log.info("fused the chunks of %d files into %s", len(fused), args.output)
    return 0


# --------------------------------------------------------------------------- export/import

def _cmd_export(args) -> int:
    from ..dataset import load
    from ..export import export

    dataset = load(_existing(args.input, "input file"))
    name = args.name or args.input.with_suffix("").name
    files = export(dataset, args.output, name, fmt=args.format, labels_last=args.labels_last,
                   arff_filenames=args.arff_filenames)
    log.info("wrote %d file(s) under %s", len(files), args.output)
    return 0


def _cmd_import(args) -> int:
    from ..dataset import save
    from ..export import import_features

    dataset = import_features(_existing(args.input, "input"), args.name,
                              filename_column=args.filename_column,
                              chunk_nr_column=args.chunk_nr_column,
                              label_nominal_column=args.label_nominal_column,
                              label_numeric_column=args.label_numeric_column)
    save(dataset, args.output)
    log.info("imported %d instances (%d features) into %s", len(dataset),
             dataset.feature_shape[0], args.output)
    return 0


# ------------------------------------------------------------------------------ registry

def register(subparsers) -> None:
    """Add ``evaluate``, ``predict``, ``fuse``, ``fuse-chunks``, ``export``, ``import``."""
    p = subparsers.add_parser(
        "evaluate", help="cross-validated or partitioned evaluation of representations",
        description="Train and evaluate the MLP or linear SVM on labelled representations: "
                    "cross-validation over the stored folds, or train/eval partitions. Prints "
                    "accuracy, UAR, per-split scores and the confusion matrix.")
    p.add_argument("--input", type=Path, required=True, help="representations (.nc)")
    p.add_argument("--cross-validate", action="store_true",
                   help="use the cross-validation folds stored in the input")
    p.add_argument("--train-partitions", nargs="+", type=_partition, metavar="PART",
                   help="train on these partitions (train, devel, test)")
    p.add_argument("--eval-partitions", nargs="+", type=_partition, metavar="PART",
                   help="evaluate on these partitions")
    p.add_argument("--repeat", type=positive_int, default=1, metavar="N",
                   help="repeat N times with different seeds; report mean and std (default 1)")
    p.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                   help="folds evaluated in parallel (default: number of cores)")
    _add_classifier_options(p)
    g = p.add_argument_group("output")
    g.add_argument("--json", type=Path, help="save all scores and the confusion matrix as JSON")
    g.add_argument("--csv", type=Path,
                   help="save the confusion matrix (summed over splits and repeats) as CSV")
    g.add_argument("--scores-csv", type=Path, metavar="CSV",
                   help="save accuracy, UAR (mean, std over repeats, std over splits) and the "
                        "recall of every class as CSV: columns metric,class,value,"
                        "std_over_repeats,std_over_splits")
    g.add_argument("--plot", type=Path, help="save the confusion matrix as a PNG heatmap "
                                             "(needs matplotlib)")
    g.add_argument("--normalize", action="store_true",
                   help="print the confusion matrix in percent of each true class")
    g.add_argument("--brief", action="store_true",
                   help="print only 'accuracy,uar' (for scripts)")
    add_ray_option(p)
    p.set_defaults(func=_cmd_evaluate, flag_aliases=dict(RAY_FLAGS))

    p = subparsers.add_parser(
        "predict", help="train on one data set, predict the labels of another",
        description="Fit the classifier on --train-input and write the predicted label (and "
                    "class probabilities) of every instance or file of --eval-input as CSV.")
    p.add_argument("--train-input", type=Path, required=True, help="labelled training data (.nc)")
    p.add_argument("--train-partitions", nargs="+", type=_partition, metavar="PART",
                   help="use only these partitions of the training data")
    p.add_argument("--eval-input", type=Path, required=True, help="data to label (.nc)")
    p.add_argument("--eval-partitions", nargs="+", type=_partition, metavar="PART",
                   help="use only these partitions of the evaluation data")
    p.add_argument("--output", type=Path, required=True, help="predictions (.csv)")
    p.add_argument("--probability", action="store_true",
                   help="SVM: calibrate and write class probabilities (the MLP always does)")
    _add_classifier_options(p)
    p.set_defaults(func=_cmd_predict)

    p = subparsers.add_parser(
        "fuse", help="concatenate the features of data sets with the same instances",
        description="Fuse feature sets of the same instances (same files, chunks, labels, "
                    "folds and partitions) by concatenating their features, optionally "
                    "weighted.")
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                   help="two or more data sets (.nc)")
    p.add_argument("--output", type=Path, required=True, help="fused data set (.nc)")
    p.add_argument("--weights", nargs="+", type=float, metavar="W",
                   help="one weight > 0 per input (kept through standardisation by evaluate)")
    p.add_argument("--dimension", default="generated",
                   help="feature dimension to concatenate along (default generated)")
    p.add_argument("--align", action="store_true",
                   help="match instances by file name and chunk instead of by position")
    p.set_defaults(func=_cmd_fuse)

    p = subparsers.add_parser(
        "fuse-chunks", help="one instance per file: concatenate the features of its chunks",
        description="Concatenate the features of the chunks of every file (in chunk order) "
                    "into one instance.")
    p.add_argument("--input", type=Path, required=True, help="chunked data set (.nc)")
    p.add_argument("--output", type=Path, required=True, help="output data set (.nc)")
    p.add_argument("--dimension", default="generated",
                   help="feature dimension to concatenate along (default generated)")
    p.set_defaults(func=_cmd_fuse_chunks)

    p = subparsers.add_parser(
        "export", help="export a data set as CSV, ARFF or Parquet (auDeep's folder layout)",
        description="Write a data set as CSV / ARFF / Parquet files: one per partition "
                    "(train/, devel/, test/) and cross-validation fold (fold_K/, its "
                    "validation split), as auDeep does.")
    p.add_argument("--input", type=Path, required=True, help="data set (.nc)")
    p.add_argument("--format", choices=("csv", "arff", "parquet"), required=True,
                   type=str.lower, help="output format")
    p.add_argument("--output", type=Path, required=True, help="output folder")
    p.add_argument("--name", help="file name without extension (default: the input's name)")
    p.add_argument("--labels-last", action="store_true",
                   help="put the label columns after the features instead of before")
    p.add_argument("--arff-filenames", choices=("nominal", "string"), default="nominal",
                   help="ARFF type of the filename attribute: nominal (readable by "
                        "scipy.io.arff; default) or string (as auDeep)")
    p.set_defaults(func=_cmd_export)

    p = subparsers.add_parser(
        "import", help="import CSV / ARFF / Parquet feature files into a data set",
        description="Read a feature file, or a folder in auDeep's export layout, into a "
                    "netCDF data set. Columns other than the metadata columns are features.")
    p.add_argument("--input", "--basedir", dest="input", type=Path, required=True,
                   help="a .csv/.arff/.parquet file or a folder in auDeep's layout")
    p.add_argument("--name", help="file name without extension (default: the only one)")
    p.add_argument("--filename-column", help="file name column (default filename)")
    p.add_argument("--chunk-nr-column", help="chunk number column (default chunk_nr)")
    p.add_argument("--label-nominal-column",
                   help="nominal label column (default label_nominal)")
    p.add_argument("--label-numeric-column",
                   help="numeric label column (default label_numeric)")
    p.add_argument("--output", type=Path, required=True, help="output data set (.nc)")
    p.set_defaults(func=_cmd_import)
