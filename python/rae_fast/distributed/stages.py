"""The batch stages on a Ray cluster: the library functions of a single machine, with their
per-file (per-batch, per-split) work run as Ray tasks and their output written by this process.

Each function takes the arguments of its single-machine twin plus:

``address``
    ``"auto"``, ``"local"``, ``"HOST:PORT"`` or ``"ray://HOST:PORT"`` (see
    :func:`rae_fast.distributed.connect`);
``cluster``
    an open :class:`~rae_fast.distributed.RayCluster` to use instead (left open);
``block_size``
    items per Ray task (files, batches, splits).

The outputs are those of the single-machine functions, byte for byte: the same functions
compute every item, and this process writes the results in the input's order.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional, Sequence

from ..autocorr_files import AutocorrelogramResult, AutocorrelogramSettings
from ..preprocessing import FeatureSettings, PreprocessResult
from .cluster import RayCluster, connect
from .executor import RayExecutor

__all__ = ["preprocess", "write_autocorrelograms", "generate", "embed", "cross_validate",
           "evaluate_partitions"]


@contextlib.contextmanager
def _cluster(address: str, cluster: Optional[RayCluster],
             runtime_env: Optional[Dict[str, Any]], wait: bool = True
             ) -> Iterator[RayCluster]:
    """The given cluster, or a connection opened (and closed) here. ``wait=False``: the
    worker check runs while the stage prepares its work; the executor waits for it before
    using any result (only for stages that write nothing before their first results)."""
    if cluster is not None:
        if not isinstance(cluster, RayCluster):
            raise TypeError(f"cluster must be a RayCluster (rae_fast.distributed.connect), got "
                            f"{type(cluster).__name__}")
        yield cluster
        return
    with connect(address, runtime_env=runtime_env, wait=wait) as opened:
        yield opened


def preprocess(basedir, output, settings: FeatureSettings = FeatureSettings(),
               parser: str = "auto", parser_options: Optional[Dict[str, Any]] = None, *,
               address: str = "auto", cluster: Optional[RayCluster] = None,
               block_size: Optional[int] = None, skip_bad: bool = False, resume: bool = True,
               progress: Optional[bool] = None,
               on_resolved: Optional[Callable[[str, str], None]] = None,
               runtime_env: Optional[Dict[str, Any]] = None) -> PreprocessResult:
    """:func:`rae_fast.preprocessing.preprocess` on a Ray cluster.

    The headers are read and the features computed by Ray tasks of ``block_size`` files
    (default: up to 32, at least 4 blocks per worker); this process writes
    ``<output>.partial`` in the collection's order and renames it at the end. The file is
    identical to the single-machine one (features, metadata, attributes, instance order);
    an interrupted run resumes in either mode. The audio files must be readable at the same
    paths on every node (a shared file system).

    >>> preprocess("esc10", "esc10.nc", FeatureSettings(fixed_length=5.0),
    ...            address="auto")                                    # doctest: +SKIP
    """
    from ..preprocessing import preprocess as _preprocess

    # the nodes are checked while the collection is parsed; the header pass (before anything
    # is written) waits for the check
    with _cluster(address, cluster, runtime_env, wait=False) as c:
        executor = RayExecutor(c, block_size=block_size)
        return _preprocess(basedir, output, settings, parser=parser,
                           parser_options=parser_options, workers=executor.workers,
                           skip_bad=skip_bad, resume=resume, progress=progress,
                           on_resolved=on_resolved, executor=executor)


def write_autocorrelograms(inputs: Sequence, out,
                           settings: AutocorrelogramSettings = AutocorrelogramSettings(), *,
                           formats: Sequence[str] = ("npy",), address: str = "auto",
                           cluster: Optional[RayCluster] = None,
                           block_size: Optional[int] = None, skip_bad: bool = False,
                           overwrite: bool = False, progress: Optional[bool] = None,
                           runtime_env: Optional[Dict[str, Any]] = None
                           ) -> AutocorrelogramResult:
    """:func:`rae_fast.autocorr_files.write_autocorrelograms` on a Ray cluster.

    Every file's outputs are computed and written (atomically) by a Ray task, so ``out`` must
    be a folder that every node writes at the same path, as the inputs must be readable there.
    The files are those of a single-machine run; a rerun skips what exists.
    """
    from ..autocorr_files import write_autocorrelograms as _write

    with _cluster(address, cluster, runtime_env) as c:
        return _write(inputs, out, settings, formats=formats, skip_bad=skip_bad,
                      overwrite=overwrite, progress=progress,
                      executor=RayExecutor(c, block_size=block_size))


def generate(model, input_path, output_path, batch_size: int = 500, device: str = "auto",
             resume: bool = True, progress: Optional[bool] = None, *,
             chunk_size: Optional[int] = None, address: str = "auto",
             cluster: Optional[RayCluster] = None, block_size: int = 1,
             runtime_env: Optional[Dict[str, Any]] = None) -> Path:
    """:func:`rae_fast.inference.generate` on a Ray cluster.

    ``model`` is an exported encoder (``.onnx`` path or :class:`~rae_fast.inference.OnnxModel`);
    its bytes are sent to the workers. Each task reads ``block_size`` batches of
    ``batch_size`` instances from ``input_path`` (which every node must read at the same path)
    and encodes them with one ONNX Runtime thread; this process writes the representations with
    the input's metadata, in order, into the same file a single machine writes.
    """
    from ..inference import OnnxModel
    from ..inference import generate as _generate

    owned = not isinstance(model, OnnxModel)
    runner = OnnxModel(model, device=device, n_threads=1, chunk_size=chunk_size) if owned \
        else model
    try:
        with _cluster(address, cluster, runtime_env) as c:
            return _generate(runner, input_path, output_path, batch_size=batch_size,
                             resume=resume, progress=progress,
                             executor=RayExecutor(c, block_size=block_size))
    finally:
        if owned:
            runner.close()


def embed(model, inputs: Sequence, output, *, hop: Optional[float] = None,
          aggregate: Optional[str] = None, segmentation: str = "windows", batch_size: int = 64,
          device: str = "auto", progress: Optional[bool] = None, skip_bad: bool = False,
          resume: bool = True, parser: str = "auto", address: str = "auto",
          cluster: Optional[RayCluster] = None, block_size: Optional[int] = None,
          runtime_env: Optional[Dict[str, Any]] = None):
    """:func:`rae_fast.embedding.embed_to_file` on a Ray cluster.

    ``model``: an exported encoder that carries its front end (path or
    :class:`~rae_fast.embedding.Embedder`); its bytes go to the workers. Each task decodes,
    cuts and encodes ``block_size`` files (one ONNX Runtime thread); this process streams the
    rows, in the inputs' order, into the same resumable file a single machine writes. The
    inputs must be readable at the same paths on every node.
    """
    from ..embedding import Embedder, embed_to_file

    owned = not isinstance(model, Embedder)
    emb = Embedder(model, device=device, n_threads=1, batch_size=batch_size) if owned \
        else model
    try:
        with _cluster(address, cluster, runtime_env) as c:
            return embed_to_file(emb, inputs, output, hop=hop, aggregate=aggregate,
                                 segmentation=segmentation, progress=progress,
                                 skip_bad=skip_bad, resume=resume, parser=parser,
                                 executor=RayExecutor(c, block_size=block_size))
    finally:
        if owned:
            emb.close()


def _split_executor(c: RayCluster, kwargs: Dict[str, Any]) -> RayExecutor:
    """One split per task; one GPU per task for an MLP on CUDA."""
    on_gpu = str(kwargs.get("device", "cpu")).startswith("cuda")
    return RayExecutor(c, block_size=1, num_gpus=1 if on_gpu else 0)


def cross_validate(dataset, classifier="mlp", *, address: str = "auto",
                   cluster: Optional[RayCluster] = None,
                   runtime_env: Optional[Dict[str, Any]] = None, **kwargs):
    """:func:`rae_fast.evaluation.cross_validate` with every fold x repeat a Ray task (the
    features are sent once). The result equals the local one with the same seed (on workers
    with the same kind of CPU: float results may differ between instruction sets)."""
    from ..evaluation import cross_validate as _cv

    with _cluster(address, cluster, runtime_env) as c:
        return _cv(dataset, classifier, executor=_split_executor(c, kwargs), **kwargs)


def evaluate_partitions(dataset, train_partitions, eval_partitions, classifier="mlp", *,
                        address: str = "auto", cluster: Optional[RayCluster] = None,
                        runtime_env: Optional[Dict[str, Any]] = None, **kwargs):
    """:func:`rae_fast.evaluation.evaluate_partitions` with every repeat a Ray task."""
    from ..evaluation import evaluate_partitions as _ep

    with _cluster(address, cluster, runtime_env) as c:
        return _ep(dataset, train_partitions, eval_partitions, classifier,
                   executor=_split_executor(c, kwargs), **kwargs)
