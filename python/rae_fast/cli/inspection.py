"""``rae-fast inspect``: describe an audio collection or a stored data set.

``rae-fast inspect DIR``        files, labels, folds, lengths, rates, channels of a collection
``rae-fast inspect FILE.nc``    the same for a stored data set, plus an integrity check
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict

from .._io import printable
from ._format import fmt_range, table
from ._types import parser_option

FILE_HINT = "a data set file (.nc) or a collection folder"


# ------------------------------------------------------------------------------ inspect

def _inspect_collection(args) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from ..audio import AudioError, audio_info
    from ..layouts import parse_dataset
    from ..progress import progress as progress_bar

    parsed = parse_dataset(args.path, args.parser, **dict(args.parser_option or []))
    infos, bad = [], []
    workers = args.workers or 4
    with ThreadPoolExecutor(max_workers=workers) as pool:
        def one(inst):
            try:
                return audio_info(inst.path)
            except AudioError as exc:
                return exc
        results = progress_bar(pool.map(one, parsed.instances), total=len(parsed.instances),
                               desc="inspect", unit="file", disable=True if args.json else None)
        for inst, res in zip(parsed.instances, results):
            (bad.append((inst.filename, res.reason)) if isinstance(res, AudioError)
             else infos.append(res))
    rate_counts: Dict[int, int] = {}
    for i in infos:
        rate_counts[i.sr] = rate_counts.get(i.sr, 0) + 1
    counts = parsed.label_counts()
    folds = []
    for k in range(parsed.n_folds):
        tr = sum(1 for i in parsed.instances if i.cv_folds[k] == 0)
        va = sum(1 for i in parsed.instances if i.cv_folds[k] == 1)
        folds.append((k + 1, tr, va))
    parts: Dict[str, int] = {}
    for inst in parsed.instances:
        if inst.partition >= 0:
            name = ("train", "devel", "test")[inst.partition]
            parts[name] = parts.get(name, 0) + 1
    summary = {
        "path": printable(parsed.basedir), "parser": parsed.parser,
        "audio_files": len(parsed.instances),
        "labels": len(parsed.label_map) if parsed.label_map else 0,
        "folds": parsed.n_folds, "partitions": parts,
        "min_length_s": min((i.duration for i in infos), default=None),
        "max_length_s": max((i.duration for i in infos), default=None),
        "median_length_s": (sorted(i.duration for i in infos)[(len(infos) - 1) // 2]
                            if infos else None),
        "sample_rates": sorted({i.sr for i in infos}),
        "sample_rate_counts": {str(r): n for r, n in sorted(rate_counts.items())},
        "channels": sorted({i.channels for i in infos}),
        "formats": sorted({f"{i.format}/{i.subtype}" for i in infos}),
        "label_counts": {str(k): v for k, v in counts.items()},
        "fold_counts": [{"fold": k, "train": t, "valid": v} for k, t, v in folds],
        "unreadable": [{"file": f, "reason": r} for f, r in bad],
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 1 if bad else 0
    rows = [
        ("parser", parsed.parser),
        ("audio files", len(parsed.instances)),
        ("labels", summary["labels"] or "none (unlabelled)"),
        ("cross-validation folds", parsed.n_folds),
        ("partitions", ", ".join(f"{k} {v}" for k, v in parts.items()) or "none"),
        ("minimum length", fmt_range([summary["min_length_s"]] if infos else [], " s", "{:.2f}")),
        ("maximum length", fmt_range([summary["max_length_s"]] if infos else [], " s", "{:.2f}")),
        ("median length", fmt_range([summary["median_length_s"]] if infos else [], " s",
                                     "{:.2f}")),
        ("sample rates", fmt_range(summary["sample_rates"], " Hz") if len(rate_counts) < 2
         else ", ".join(f"{r} Hz ({n} files)" for r, n in sorted(rate_counts.items()))),
        ("channels", fmt_range(summary["channels"])),
        ("formats", ", ".join(summary["formats"]) or "-"),
        ("unreadable files", len(bad)),
    ]
    print(table(rows, title=f"data set in {printable(parsed.basedir)}"))
    if parsed.label_map:
        print()
        print(table([(k, counts.get(k, 0), v) for k, v in parsed.label_map.items()],
                     header=("label", "files", "id")))
    if folds:
        print()
        print(table(folds, header=("fold", "train", "valid")))
    notes = []
    if len(rate_counts) > 1:
        common = max(rate_counts, key=lambda r: (rate_counts[r], r))
        notes.append(f"the files have {len(rate_counts)} sample rates: preprocess them with "
                     f"--sr {common} (the most common rate) or --sr auto")
    if infos and summary["min_length_s"] != summary["max_length_s"]:
        notes.append("the files differ in length: preprocess them with --fixed-length auto "
                     f"(the median, {summary['median_length_s']:.2f} s) or --fixed-length "
                     "SECONDS, or with --chunk-length / --chunk-count")
    if bad:
        print()
        print(table(bad, header=("unreadable file", "reason")))
    if notes:
        print()
        for note in notes:
            print(f"note: {note}")
    return 1 if bad else 0


def _inspect_file(args) -> int:
    import numpy as np

    from ..dataset import check_integrity, load

    ds = load(args.path, lazy=True)
    try:
        n = len(ds)
        files = {}
        for f in ds.filenames:
            files[f] = files.get(f, 0) + 1
        lo, hi, total, count = np.inf, -np.inf, 0.0, 0
        for _, _, x in ds.iter_batches(256):
            if x.size:
                lo, hi = min(lo, float(x.min())), max(hi, float(x.max()))
                total += float(x.sum(dtype=np.float64))
                count += x.size
        problems = check_integrity(ds)
        counts: Dict[str, int] = {}
        for lab in ds.label_nominal:
            key = "(unlabelled)" if lab is None else lab
            counts[key] = counts.get(key, 0) + 1
        folds = [(k + 1, int((ds.cv_folds[:, k] == 0).sum()), int((ds.cv_folds[:, k] == 1).sum()))
                 for k in range(ds.n_folds)]
        parts = {name: int((ds.partition == v).sum()) for v, name in
                 enumerate(("train", "devel", "test")) if (ds.partition == v).any()}
        summary = {
            "path": printable(args.path), "instances": n, "files": len(files),
            "chunks_per_file": sorted(set(files.values())),
            "feature_dims": list(ds.feature_dims), "feature_shape": list(ds.feature_shape),
            "labels": len(ds.label_map) if ds.label_map else 0,
            "fully_labelled": ds.is_labelled, "folds": ds.n_folds, "partitions": parts,
            "min": lo if count else None, "max": hi if count else None,
            "mean": total / count if count else None,
            "label_counts": counts, "fold_counts": [
                {"fold": k, "train": t, "valid": v} for k, t, v in folds],
            "attrs": ds.attrs, "integrity_problems": problems,
        }
        if args.instance is not None:
            i = args.instance
            if not -n <= i < n:
                raise ValueError(f"--instance {i} is out of range for {n} instances")
            i %= n
            summary["instance"] = {
                "index": i, "filename": ds.filenames[i], "chunk_nr": int(ds.chunk_nr[i]),
                "label_nominal": ds.label_nominal[i], "label_numeric": int(ds.label_numeric[i]),
                "cv_folds": ds.cv_folds[i].tolist(), "partition": int(ds.partition[i]),
                "shape": list(ds.feature_shape)}
    finally:
        ds.close()
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return 1 if problems else 0
    rows = [
        ("instances", n), ("audio files", len(files)),
        ("chunks per file", fmt_range(summary["chunks_per_file"])),
        ("feature dimensions", " x ".join(f"{d} {s}" for d, s in
                                          zip(ds.feature_dims, ds.feature_shape))),
        ("labels", summary["labels"] or "none"),
        ("fully labelled", "yes" if ds.is_labelled else "no"),
        ("cross-validation folds", ds.n_folds),
        ("partitions", ", ".join(f"{k} {v}" for k, v in parts.items()) or "none"),
        ("value range", "-" if not count else f"{lo:.4g} .. {hi:.4g} (mean {total / count:.4g})"),
        ("integrity", "OK" if not problems else f"{len(problems)} problem(s)"),
    ]
    print(table(rows, title=f"data set file {printable(args.path)}"))
    if ds.label_map or counts:
        print()
        ids = ds.label_map or {}
        order = sorted(counts, key=lambda k: (ids.get(k, len(ids)), k))
        print(table([(k, counts[k], ids.get(k, "-")) for k in order],
                     header=("label", "instances", "id")))
    if folds:
        print()
        print(table(folds, header=("fold", "train", "valid")))
    if ds.attrs:
        print()
        print(table([(k, json.dumps(v) if not isinstance(v, str) else v)
                      for k, v in ds.attrs.items()], title="attributes"))
    if "instance" in summary:
        print()
        print(table(list(summary["instance"].items()), title=f"instance {summary['instance']['index']}"))
    if problems:
        print()
        print("integrity problems:")
        for p in problems[:50]:
            print(f"  {p}")
        if len(problems) > 50:
            print(f"  ... and {len(problems) - 50} more")
    return 1 if problems else 0


def cmd_inspect(args) -> int:
    """``rae-fast inspect PATH``: a collection folder or a stored data set."""
    path = Path(args.path)
    if not path.exists():
        raise FileNotFoundError(f"{printable(path)} does not exist ({FILE_HINT})")
    if path.is_dir():
        return _inspect_collection(args)
    if args.parser != "auto" or args.parser_option:
        raise ValueError("--parser / --parser-option apply to collection folders, not to .nc files")
    return _inspect_file(args)


def register(subparsers) -> None:
    """Add ``inspect`` to the ``rae-fast`` command line."""
    p = subparsers.add_parser(
        "inspect", help="describe an audio collection or a stored data set",
        description="Describe an audio collection folder (files, labels, folds, lengths, "
                    "sample rates, channels) or a stored data set file (.nc: the same plus an "
                    "integrity check; exit status 1 when it finds problems or unreadable files).")
    p.add_argument("path", help=FILE_HINT)
    p.add_argument("--parser", default="auto",
                   help="layout of a collection folder (default: detect)")
    p.add_argument("--parser-option", action="append", type=parser_option, metavar="KEY=VALUE",
                   help="parser option, e.g. n_folds=5 for class_folders (repeatable)")
    p.add_argument("--instance", type=int, default=None, metavar="INDEX",
                   help="also show one instance of a data set file")
    p.add_argument("--workers", type=int, default=None, help="threads reading file headers")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=cmd_inspect)
