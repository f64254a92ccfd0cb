"""Training the recurrent autoencoder: a run directory with checkpoints, exact resume, a loss log.

A *run directory* holds everything about one training run::

    RUN/config.json                 model + training settings, feature shape, data fingerprint
    RUN/checkpoints/epoch_0001.pt   after every epoch (atomic): weights, Adam state, torch RNG state
    RUN/loss.csv                    one row per epoch (epoch, loss, steps, instances, seconds, lr)
    RUN/tensorboard/                per-step loss, when the ``tensorboard`` package is installed

Training follows auDeep and the paper: Adam (learning rate 1e-3), every gradient entry clipped
to [-2, 2], batches of 64, loss = RMSE of the reconstruction. The data order of epoch ``e`` is a
permutation drawn from ``numpy.random.default_rng([seed, e])`` and torch's random state (and
CUDA's on a GPU) is saved with every checkpoint, so ``resume=True`` (``rae-fast train
--continue``) continues an interrupted run to bit-identical weights (same machine, same thread
count). Training runs inside ``torch.random.fork_rng`` and never uses numpy's or Python's global
generators, so the caller's torch, numpy and ``random`` states are the same after
:func:`train` (resumed or not) as before. Checkpoints hold only tensors and plain containers
and load with ``torch.load(path, weights_only=True)``.

>>> import numpy as np
>>> from rae_fast.model import AutoencoderConfig, TrainingConfig, train
>>> x = np.random.default_rng(0).uniform(-1, 1, (32, 20, 16)).astype(np.float32)
>>> result = train(x, "run", AutoencoderConfig(num_features=16),
...                TrainingConfig(num_epochs=2, batch_size=8), progress=False)  # doctest: +SKIP
>>> result.losses                                                          # doctest: +SKIP
[0.58..., 0.57...]
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import logging
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import torch

from .._validation import check_int
from .._version import __version__
from .._io import atomic_write_text
from ..progress import progress as progress_bar
from .autoencoder import RecurrentAutoencoder, rmse
from .checkpoints import (_save_checkpoint, _set_rng_state, latest_checkpoint,
                          list_checkpoints, load_checkpoint, read_run_config)
from .config import AutoencoderConfig, TrainingConfig
from .devices import resolve_device

__all__ = ["train", "TrainResult"]

log = logging.getLogger(__name__)

PathLike = Union[str, Path]
_LOSS_FIELDS = ("epoch", "loss", "steps", "instances", "seconds", "learning_rate")


# --------------------------------------------------------------------------------- data

class _Data:
    """Training instances: a float array ``(n, T, F)`` (or array-like) or a list of ``(T_i, F)``."""

    def __init__(self, features, name: str = "features"):
        self.lengths: Optional[np.ndarray] = None
        if isinstance(features, (list, tuple)):
            if len(features) == 0:
                raise ValueError(f"{name} is empty (no instances)")
            seqs = []
            for i, s in enumerate(features):
                a = np.asarray(s)
                if a.dtype.kind != "f":
                    raise TypeError(f"{name}[{i}] must be a floating-point array, got {a.dtype}")
                if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
                    raise ValueError(f"{name}[{i}] must be a non-empty 2-D array (time, features), "
                                     f"got shape {a.shape}")
                a = np.ascontiguousarray(a, dtype=np.float32)
                if not np.isfinite(a).all():
                    raise ValueError(f"{name}[{i}] contains NaN or Inf")
                seqs.append(a)
            dims = {a.shape[1] for a in seqs}
            if len(dims) != 1:
                raise ValueError(f"{name}: all instances must have the same number of features, "
                                 f"got {sorted(dims)}")
            self.seqs = seqs
            self.lengths = np.array([a.shape[0] for a in seqs], dtype=np.int64)
            self.n, self.num_features = len(seqs), dims.pop()
            self.time = int(self.lengths.max())
            self.array = None
        else:
            shape = getattr(features, "shape", None)
            dtype = getattr(features, "dtype", None)
            if shape is None or dtype is None:
                raise TypeError(f"{name} must be an array (n, time, features) or a list of "
                                f"(time, features) arrays, got {type(features).__name__}")
            if np.dtype(dtype).kind != "f":
                raise TypeError(f"{name} must be floating point (float32), got dtype {dtype}")
            if len(shape) != 3:
                raise ValueError(f"{name} must be 3-D (instances, time, features), got shape "
                                 f"{tuple(shape)}")
            if 0 in tuple(shape):
                raise ValueError(f"{name} is empty (shape {tuple(shape)})")
            if isinstance(features, np.ndarray):
                features = np.ascontiguousarray(features, dtype=np.float32)
                if not np.isfinite(features).all():
                    bad = int(np.argwhere(~np.isfinite(features))[0][0])
                    raise ValueError(f"{name} contains NaN or Inf (instance {bad})")
            self.array = features
            self.n, self.time, self.num_features = (int(s) for s in shape)
        lo, hi = self._range()
        if lo < -1.0 - 1e-6 or hi > 1.0 + 1e-6:
            warnings.warn(f"{name} has values in [{lo:.3g}, {hi:.3g}] but the decoder's tanh "
                          "output lies in [-1, 1]; normalise the spectrograms (rae-fast preprocess "
                          "does) or the loss cannot reach 0", RuntimeWarning, stacklevel=3)

    def _range(self) -> Tuple[float, float]:
        if self.array is None:
            return (min(float(a.min()) for a in self.seqs), max(float(a.max()) for a in self.seqs))
        if isinstance(self.array, np.ndarray):
            return float(self.array.min()), float(self.array.max())
        first = np.asarray(self.array[0:1])  # lazy: look at one instance only
        return float(first.min()), float(first.max())

    def batch(self, idx: np.ndarray) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        if self.array is not None:
            x = np.asarray(self.array[idx], dtype=np.float32)  # lazy arrays read just these
            return torch.from_numpy(np.ascontiguousarray(x)), None
        lens = self.lengths[idx]
        out = np.zeros((len(idx), int(lens.max()), self.num_features), dtype=np.float32)
        for k, i in enumerate(idx):
            out[k, :lens[k]] = self.seqs[i]
        return torch.from_numpy(out), torch.from_numpy(lens.copy())

    def fingerprint(self) -> str:
        """A cheap digest of the data (count, shapes, first and last instances)."""
        h = hashlib.sha256()
        h.update(f"{self.n}:{self.time}:{self.num_features}".encode())
        picks = sorted({0, 1, self.n - 2, self.n - 1} & set(range(self.n)))
        if self.lengths is not None:
            h.update(self.lengths.tobytes())
        for i in picks:
            x, _ = self.batch(np.array([i]))
            h.update(x.numpy().tobytes())
        return h.hexdigest()[:16]


# ------------------------------------------------------------------------------- result

@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    model : RecurrentAutoencoder
        The trained model, in eval mode, on the training device.
    run_dir : Path
    epoch : int
        Epochs completed (including those of earlier, resumed calls).
    losses : list of float
        Mean training RMSE of every completed epoch (from ``loss.csv``), index 0 = epoch 1.
    checkpoint : Path or None
        The newest checkpoint.
    """

    model: RecurrentAutoencoder
    run_dir: Path
    epoch: int
    losses: List[float] = field(default_factory=list)
    checkpoint: Optional[Path] = None


# -------------------------------------------------------------------------------- train

def _read_loss_log(path: Path, upto_epoch: int) -> List[Dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh)]
    out = []
    for r in rows:
        try:
            if int(r["epoch"]) <= upto_epoch:
                out.append({k: r.get(k, "") for k in _LOSS_FIELDS})
        except (KeyError, TypeError, ValueError):
            continue
    return out


def _write_loss_log(path: Path, rows: List[Dict[str, Any]]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(_LOSS_FIELDS), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    atomic_write_text(path, buf.getvalue())


def _tensorboard_writer(run_dir: Path, enabled: bool):
    if not enabled:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.debug("tensorboard is not installed; loss only in loss.csv")
        return None
    return SummaryWriter(log_dir=str(run_dir / "tensorboard"))


def _config_diff(a: Dict[str, Any], b: Dict[str, Any]) -> List[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def train(features, run_dir: PathLike, model_config: Optional[AutoencoderConfig] = None,
          training_config: Optional[TrainingConfig] = None, *, resume: bool = False,
          device: Union[str, torch.device] = "auto", n_threads: Optional[int] = None,
          progress: Optional[bool] = None, keep_checkpoints: Optional[int] = 3,
          tensorboard: bool = True, run_info: Optional[Dict[str, Any]] = None,
          on_epoch_end: Optional[Callable[[int, float], None]] = None,
          process_group=None) -> TrainResult:
    """Train (or continue training) a recurrent autoencoder; write checkpoints to ``run_dir``.

    Parameters
    ----------
    features : float array ``(n, time, F)`` or list of ``(time_i, F)`` arrays
        Training instances (spectrograms time-major, values in [-1, 1]). An array-like with
        ``shape``, ``dtype`` and fancy indexing (e.g. lazily loaded netCDF features) also works.
        A list of different lengths is padded per batch and packed (lengths are honoured).
    run_dir : str or Path
        Run directory (created). Must not hold a run unless ``resume=True``.
    model_config : AutoencoderConfig, optional
        Default: auDeep's defaults for ``F`` features. With ``resume=True`` the saved one is
        used; passing a different one raises ``ValueError``.
    training_config : TrainingConfig, optional
        Default: :class:`TrainingConfig()` (saved one when resuming). When resuming, a larger
        ``num_epochs`` trains further; changing other fields is allowed but logged, because the
        result then differs from an uninterrupted run.
    resume : bool
        Continue from the newest checkpoint of ``run_dir``. A checkpoint that cannot be used
        (truncated by a crash or a full disk) is skipped with a warning naming it, and the
        newest usable one is taken. ``config.json`` is rewritten (new settings, ``run_info``)
        only once the first new checkpoint is written, so a resume that fails leaves it as it
        was. Without ``resume``, a run directory that holds checkpoints is refused; one that
        holds only ``config.json`` (stopped during its first epoch) is started again.
    device : "auto", "cpu", "cuda" or "cuda:N"
    n_threads : int, optional
        PyTorch CPU threads during training (restored afterwards).
    progress : bool or None
        Progress bar with the running loss (``None``: only on a terminal).
    keep_checkpoints : int or None
        Keep only the newest ``k`` checkpoints (``None``: keep all).
    tensorboard : bool
        Also log to ``run_dir/tensorboard`` when the ``tensorboard`` package is installed.
    run_info : dict, optional
        Extra JSON-serialisable facts stored in ``config.json`` (e.g. the input file names).
    on_epoch_end : callable(epoch, loss), optional
        Called after each epoch's checkpoint is written.
    process_group : rae_fast.model.parallel.ProcessGroup, optional
        Train as one rank of a data-parallel group (set by
        :func:`rae_fast.model.parallel.train_parallel` and :func:`rae_fast.distributed.train`,
        which explain the scheme): the global ``batch_size`` is shared among the ranks, and
        rank 0 alone writes ``run_dir``. ``None``: this process trains alone.

    Returns
    -------
    TrainResult

    Raises
    ------
    FileExistsError
        ``run_dir`` already holds a run and ``resume`` is false.
    FileNotFoundError
        ``resume=True`` but ``run_dir`` holds no run.
    ValueError, TypeError
        Bad features (dtype, shape, NaN/Inf), mismatching configuration, a diverging loss.

    Example
    -------
    >>> x = np.random.default_rng(0).uniform(-1, 1, (16, 10, 8)).astype(np.float32)
    >>> r = train(x, "run", AutoencoderConfig(num_features=8),
    ...           TrainingConfig(num_epochs=1, batch_size=8), progress=False)   # doctest: +SKIP
    >>> r.epoch, len(r.losses)                                                 # doctest: +SKIP
    (1, 1)
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise NotADirectoryError(f"run_dir {run_dir} exists and is not a directory")
    if model_config is not None and not isinstance(model_config, AutoencoderConfig):
        raise TypeError(f"model_config must be an AutoencoderConfig, got "
                        f"{type(model_config).__name__}")
    if training_config is not None and not isinstance(training_config, TrainingConfig):
        raise TypeError(f"training_config must be a TrainingConfig, got "
                        f"{type(training_config).__name__}")
    check_int(keep_checkpoints, "keep_checkpoints", 1, allow_none=True)
    check_int(n_threads, "n_threads", 1, allow_none=True)
    dev = resolve_device(device)
    pg = process_group
    writes = pg is None or pg.is_writer
    data = _Data(features)
    config_path = run_dir / "config.json"

    if resume:
        saved = read_run_config(run_dir)
        saved_model = AutoencoderConfig.from_dict(saved["model"])
        if model_config is not None and model_config != saved_model:
            diff = _config_diff(model_config.to_dict(), saved_model.to_dict())
            raise ValueError(f"model_config differs from the run's saved configuration in {diff}; "
                             "the architecture of a run cannot change when continuing")
        model_config = saved_model
        saved_training = TrainingConfig.from_dict(saved["training"])
        if training_config is None:
            training_config = saved_training
        else:
            diff = [k for k in _config_diff(training_config.to_dict(), saved_training.to_dict())
                    if k != "num_epochs"]
            if diff:
                log.warning("continuing with changed training settings %s: the weights will "
                            "differ from those of an uninterrupted run", diff)
        if saved.get("data_fingerprint") not in (None, data.fingerprint()):
            warnings.warn("the training data differ from those the run started with; the result "
                          "will not equal an uninterrupted run", RuntimeWarning, stacklevel=2)
    else:
        if list_checkpoints(run_dir):
            raise FileExistsError(f"{run_dir} already holds a training run; continue it with "
                                  "resume=True or choose another run directory")
        if config_path.exists():
            log.info("%s holds a configuration but no checkpoint (a run stopped during its first "
                     "epoch): starting it again", run_dir)
        if model_config is None:
            model_config = AutoencoderConfig(num_features=data.num_features)
        training_config = training_config or TrainingConfig()
    if model_config.num_features != data.num_features:
        raise ValueError(f"the features have {data.num_features} values per time step but the "
                         f"model expects num_features={model_config.num_features}")
    tc = training_config

    run_config = {
        "format": "rae_fast.run", "format_version": 1, "rae_fast_version": __version__,
        "model": model_config.to_dict(), "training": tc.to_dict(),
        "feature_shape": None if data.lengths is not None else [data.time, data.num_features],
        "num_features": data.num_features, "n_instances": data.n,
        "data_fingerprint": data.fingerprint(),
    }
    if run_info:
        try:
            run_config["info"] = json.loads(json.dumps(run_info))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"run_info must be JSON-serialisable: {exc}") from None
    if pg is not None:
        run_config["data_parallel"] = {"world_size": pg.world_size, "backend": pg.backend}
        pg.barrier()            # every rank has checked run_dir before rank 0 writes it
    config_text = json.dumps(run_config, indent=2, sort_keys=True) + "\n"
    prev_threads = torch.get_num_threads()
    fork_devices = [dev.index if dev.index is not None else torch.cuda.current_device()] \
        if dev.type == "cuda" else []
    writer = None
    created = [d for d in (*[run_dir, *run_dir.parents][::-1], run_dir / "checkpoints")
               if not d.exists()]                           # folders this call makes, in order
    try:
        # A new run records its configuration first. A continued run rewrites it only once
        # its first new checkpoint is written: a resume that fails (no usable checkpoint, a
        # full disk...) leaves config.json as it was. Data-parallel: rank 0 alone writes.
        config_written = not writes
        if writes:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "checkpoints").mkdir(exist_ok=True)
            if not resume:
                atomic_write_text(config_path, config_text)
                config_written = True
        if n_threads is not None:
            torch.set_num_threads(int(n_threads))
        with torch.random.fork_rng(devices=fork_devices):
            torch.manual_seed(tc.seed)
            model = RecurrentAutoencoder(model_config).to(dev)
            optimizer = torch.optim.Adam(model.parameters(), lr=tc.learning_rate)
            if pg is not None:
                pg.seed_rank(tc.seed)
            epoch = 0
            ckpt = _restore(run_dir, model, optimizer, dev) if resume else None
            if ckpt is not None:
                for group in optimizer.param_groups:
                    group["lr"] = tc.learning_rate
                _set_rng_state(ckpt["rng"], dev)
                epoch = int(ckpt["epoch"])
                if pg is not None:
                    pg.restore_rng(ckpt["rng"], tc.seed, epoch)
                log.info("continuing %s after epoch %d", run_dir, epoch)
            loss_path = run_dir / "loss.csv"
            rows = _read_loss_log(loss_path, epoch)
            if ckpt is not None and not any(r["epoch"] == str(epoch) for r in rows):
                # loss.csv could not be written after this checkpoint (a full disk): its loss
                # is in the checkpoint
                rows.append({"epoch": epoch, "loss": f"{float(ckpt['loss']):.8g}", "steps": "",
                             "instances": "", "seconds": "",
                             "learning_rate": f"{ckpt['training_config']['learning_rate']:g}"})
            if epoch >= tc.num_epochs:
                log.info("%s already completed %d of %d epochs; nothing to do", run_dir, epoch,
                         tc.num_epochs)
            elif writes:
                writer = _tensorboard_writer(run_dir, tensorboard)
            net = model if pg is None else pg.wrap(model)
            n_batches = math.ceil(data.n / tc.batch_size)
            while epoch < tc.num_epochs:
                epoch += 1
                t0 = time.perf_counter()
                epoch_loss = _train_epoch(net, optimizer, data, tc, epoch, dev, n_batches,
                                          progress if writes else False, writer, pg)
                seconds = time.perf_counter() - t0
                ranks_rng = None if pg is None else pg.gather_rng(torch.get_rng_state())
                if not writes:
                    continue
                _save_checkpoint(run_dir, epoch, model, optimizer, dev, model_config, tc,
                                 epoch_loss, keep_checkpoints, ranks_rng=ranks_rng)
                if not config_written:
                    atomic_write_text(config_path, config_text)
                    config_written = True
                rows.append({"epoch": epoch, "loss": f"{epoch_loss:.8g}", "steps": n_batches,
                             "instances": data.n, "seconds": f"{seconds:.3f}",
                             "learning_rate": f"{tc.learning_rate:g}"})
                _write_loss_log(loss_path, rows)
                if writer is not None:
                    writer.add_scalar("loss/epoch", epoch_loss, epoch)
                    writer.flush()
                log.info("epoch %d/%d: loss %.5f (%.1f s)", epoch, tc.num_epochs, epoch_loss,
                         seconds)
                if on_epoch_end is not None:
                    on_epoch_end(epoch, epoch_loss)
        if pg is not None:
            pg.barrier()        # the other ranks return once rank 0 has written everything
    except BaseException:
        if writes and not resume and not list_checkpoints(run_dir):
            # a new run that stopped before its first checkpoint (Ctrl-C, a full disk): leave
            # nothing behind, so that the same command simply starts again
            with contextlib.suppress(OSError):
                config_path.unlink()
            for folder in created[::-1]:
                with contextlib.suppress(OSError):
                    folder.rmdir()           # only if empty
        raise
    finally:
        torch.set_num_threads(prev_threads)
        if writer is not None:
            writer.close()
    model.eval()
    losses = []
    for r in rows:
        with contextlib.suppress(KeyError, ValueError):
            losses.append(float(r["loss"]))
    return TrainResult(model=model, run_dir=run_dir, epoch=epoch, losses=losses,
                       checkpoint=latest_checkpoint(run_dir))


def _restore(run_dir: Path, model, optimizer, dev: torch.device) -> Optional[Dict[str, Any]]:
    """Load the newest usable checkpoint of ``run_dir`` into ``model`` and ``optimizer``.

    A checkpoint that cannot be read or applied (truncated by a full disk or a crash, not a
    rae_fast checkpoint, weights of another shape) is skipped with a warning naming it, and
    the next older one is tried. Returns the checkpoint loaded, ``None`` when the run has no
    checkpoint (it starts from the beginning); raises ``ValueError`` when none is usable.
    """
    skipped = []
    for _, path in reversed(list_checkpoints(run_dir)):
        try:
            ckpt = load_checkpoint(path, map_location=dev)
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            _ = (int(ckpt["epoch"]), float(ckpt["loss"]), ckpt["rng"]["torch"],
                 float(ckpt["training_config"]["learning_rate"]))
        except (ValueError, RuntimeError, KeyError, TypeError, IndexError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("skipping checkpoint %s, which cannot be used (%s); trying the one "
                        "before", path, reason)
            skipped.append(path)
            continue
        if skipped:
            log.warning("continuing from %s instead of the unusable %s", path,
                        ", ".join(str(p) for p in skipped))
        return ckpt
    if skipped:
        raise ValueError(f"{run_dir} holds no usable checkpoint (unreadable: "
                         f"{', '.join(p.name for p in skipped)}); start a new run")
    return None


def _train_epoch(model, optimizer, data: _Data, tc: TrainingConfig, epoch: int,
                 dev: torch.device, n_batches: int, progress, writer, pg=None) -> float:
    model.train()
    order = (np.random.default_rng([tc.seed, epoch]).permutation(data.n) if tc.shuffle
             else np.arange(data.n))
    total, seen = 0.0, 0
    params = [p for p in model.parameters() if p.requires_grad]
    with progress_bar(total=n_batches, desc=f"epoch {epoch}/{tc.num_epochs}", unit="batch",
                      disable=None if progress is None else not progress) as bar:
        for step in range(n_batches):
            idx = order[step * tc.batch_size:(step + 1) * tc.batch_size]
            part, real = (idx, True) if pg is None else pg.shard(idx)
            x, lengths = data.batch(part)
            x = x.to(dev, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            recon, _ = model(x, lengths)
            if pg is None:
                loss = rmse(recon, x, lengths)
                value = float(loss.detach())
            else:               # this rank's share of the global batch's RMSE
                loss, value = pg.rmse_loss(recon, x, lengths, real)
            if not math.isfinite(value):
                raise ValueError(f"the loss became {value} at epoch {epoch}, step {step + 1}; "
                                 "lower the learning rate (checkpoints of earlier epochs are "
                                 "intact)")
            loss.backward()
            torch.nn.utils.clip_grad_value_(params, tc.clip_value)
            optimizer.step()
            total += value * len(idx)
            seen += len(idx)
            bar.set_postfix(loss=f"{total / seen:.4f}", refresh=False)
            bar.update(1)
            if writer is not None:
                writer.add_scalar("loss/step", value, (epoch - 1) * n_batches + step + 1)
    return total / seen
