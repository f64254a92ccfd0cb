"""Folders of OBJ autocorrelograms -> a :class:`rae_fast.dataset.DataSet` (the layouts of the
audio parsers)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from .._validation import check_int, default_threads
from .mesh import PathLike
from .reader import read_autocorrelogram


# ------------------------------------------------------------------------------ data sets

def load_dataset(folder: PathLike, workers: Optional[int] = None,
                 progress: Optional[bool] = False, parser: str = "esc",
                 parser_options: Optional[dict] = None):
    """Load a folder of autocorrelogram OBJ files as a (labelled) DataSet.

    The folder is read by the data set parsers of :mod:`rae_fast.layouts` with ``.obj``
    files as instances, so labels, folds and partitions follow exactly the rules of those
    layouts. The default, ``parser="esc"``, reads ``folder/NNN - Class/F-ID-T.obj`` (e.g.
    written by ``rae-fast autocorrelogram ESC-10 --out DIR --format obj``): the fold (1-5) is
    the first character of the file name (file of fold F: validation in fold F, training in
    the others); labels are numbered in the order of the class folders (``001 - Dog bark`` ->
    0, ...), as :class:`rae_fast.layouts.esc.ESCParser` and auDeep's ESC parser do.
    ``parser="auto"`` detects the layout; ``"cross_validated"`` (``fold_K/<label>/*.obj``),
    ``"partitioned"`` (``train|devel|test/<label>/*.obj``), ``"class_folders"``
    (``<label>/*.obj``, option ``n_folds``) and ``"no_metadata"`` (unlabelled) work too.
    Other files in the folders are ignored.

    Parameters
    ----------
    folder : str or Path
    workers : int, optional
        Threads reading files (default: all cores).
    progress : bool or None
        Progress bar (None: only on a terminal).
    parser : str
        Layout (a name of :data:`rae_fast.layouts.PARSERS` or ``"auto"``; default ``"esc"``).
    parser_options : dict, optional
        Options of the parser, e.g. ``{"n_folds": 5}`` for ``class_folders``.

    Returns
    -------
    rae_fast.dataset.DataSet
        Features float32 ``(n_files, n_frames, n_lags)``, time-major, ``feature_dims``
        ``("time", "lag")``; ``attrs`` hold ``times_s`` and ``lags_ms``; filenames relative
        to ``folder``; the layout's folds (5 for ESC) and partitions.

    Raises
    ------
    ValueError
        The folder does not match the layout (the parser's reason: e.g. a class folder that is
        not ``NNN - Name``, a file name without a fold number, a class folder without
        ``.obj`` files), a file that is not an autocorrelogram mesh, or files with a
        different shape or axes than the first one (naming both files).

    Example
    -------
    >>> ds = load_dataset("esc10_obj")              # doctest: +SKIP
    >>> ds.feature_dims, ds.n_folds, ds.label_map["Dog bark"]   # doctest: +SKIP
    (('time', 'lag'), 5, 0)
    >>> load_dataset("my_objs", parser="class_folders",
    ...              parser_options={"n_folds": 4}).n_folds      # doctest: +SKIP
    4
    """
    from concurrent.futures import ThreadPoolExecutor

    from ..dataset import DataSet
    from ..layouts import parse_dataset
    from ..progress import progress as progress_bar

    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder of .obj files (e.g. "
                                 f"'NNN - Class/F-ID-T.obj')")
    parsed = parse_dataset(folder, parser, extensions={".obj"}, **(parser_options or {}))
    files = [inst.path for inst in parsed.instances]
    if not files:
        raise ValueError(f"{folder} holds no .obj files (parser {parsed.parser})")
    workers = default_threads() if workers is None else check_int(workers, "workers", 1)
    feats = None
    first_axes = None
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(read_autocorrelogram, path) for path in files]
        bar = progress_bar(total=len(files), desc="load obj", unit="file",
                       disable=None if progress is None else not progress)
        with bar:
            for k, (path, fut) in enumerate(zip(files, futures)):
                A, times, lags = fut.result()
                if feats is None:
                    feats = np.empty((len(files), A.shape[1], A.shape[0]), np.float32)
                    first_axes = (path, times, lags)
                elif A.T.shape != feats.shape[1:]:
                    raise ValueError(f"{path} has {A.shape[1]} frames x {A.shape[0]} lags, but "
                                     f"{first_axes[0]} has {feats.shape[1]} x {feats.shape[2]}; "
                                     f"all instances of a data set need the same shape")
                elif not (np.allclose(times, first_axes[1], rtol=1e-6, atol=1e-12)
                          and np.allclose(lags, first_axes[2], rtol=1e-6, atol=1e-12)):
                    raise ValueError(f"{path} has other time or delay axes than {first_axes[0]} "
                                     f"(a different sampling rate or hop length?)")
                feats[k] = A.T
                bar.update(1)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    insts = parsed.instances
    cv = np.array([inst.cv_folds for inst in insts], np.int8).reshape(len(insts), parsed.n_folds)
    return DataSet(feats, ("time", "lag"), [inst.filename for inst in insts],
                   chunk_nr=np.zeros(len(insts), np.int64),
                   label_nominal=[inst.label_nominal for inst in insts], cv_folds=cv,
                   partition=np.array([inst.partition for inst in insts], np.int8),
                   label_map=parsed.label_map,
                   attrs={"source": "rae_fast.obj.load_dataset", "source.basedir": str(folder),
                          "source.parser": parsed.parser,
                          "times_s": first_axes[1].tolist(), "lags_ms": first_axes[2].tolist()})
