"""Checkpoints of a run directory: listing, loading (``weights_only``), writing atomically, and
the model of a run."""
from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import torch

from .._io import atomic_path, write_error
from .._validation import check_int
from .._version import __version__
from .autoencoder import RecurrentAutoencoder
from .config import AutoencoderConfig, TrainingConfig
from .devices import resolve_device

__all__ = ["CHECKPOINT_FORMAT", "list_checkpoints", "latest_checkpoint", "load_checkpoint",
           "read_run_config", "read_run_frontend", "load_model"]

PathLike = Union[str, Path]
#: Version of the checkpoint layout (bumped on incompatible changes).
CHECKPOINT_FORMAT = 1
_CKPT_RE = re.compile(r"^epoch_(\d{4,})\.pt$")


def list_checkpoints(run_dir: PathLike) -> List[Tuple[int, Path]]:
    """``[(epoch, path), ...]`` of the checkpoints in ``run_dir``, ascending.

    >>> list_checkpoints("run")       # doctest: +SKIP
    [(1, PosixPath('run/checkpoints/epoch_0001.pt')), (2, ...)]
    """
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = []
    for p in folder.iterdir():
        m = _CKPT_RE.match(p.name)
        if m and p.is_file():
            found.append((int(m.group(1)), p))
    return sorted(found)


def latest_checkpoint(run_dir: PathLike) -> Optional[Path]:
    """Path of the newest checkpoint in ``run_dir`` (``None`` when there is none).

    >>> latest_checkpoint("run")      # doctest: +SKIP
    PosixPath('run/checkpoints/epoch_0010.pt')
    """
    ckpts = list_checkpoints(run_dir)
    return ckpts[-1][1] if ckpts else None


def load_checkpoint(path: PathLike, map_location: Union[str, torch.device] = "cpu"
                    ) -> Dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)`` (no arbitrary pickles).

    Returns a dict with ``epoch``, ``model`` (state dict), ``optimizer``, ``rng``,
    ``model_config``, ``training_config``, ``loss``. Raises ``ValueError`` for files that are
    not rae_fast checkpoints.

    >>> ckpt = load_checkpoint("run/checkpoints/epoch_0002.pt")   # doctest: +SKIP
    >>> ckpt["epoch"]                                             # doctest: +SKIP
    2
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a bad file
        raise ValueError(f"{path} is not a readable rae_fast checkpoint ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != "rae_fast.checkpoint":
        raise ValueError(f"{path} is not a rae_fast checkpoint")
    if ckpt.get("format_version") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: checkpoint format {ckpt.get('format_version')} is not supported "
                         f"(this version reads {CHECKPOINT_FORMAT})")
    return ckpt


def read_run_config(run_dir: PathLike) -> Dict[str, Any]:
    """The parsed ``config.json`` of a run directory (``FileNotFoundError`` if missing).

    >>> read_run_config("run")["model"]["num_units"]      # doctest: +SKIP
    16
    """
    path = Path(run_dir) / "config.json"
    if not Path(run_dir).is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a training run (no config.json)")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(cfg, dict) or "model" not in cfg or "training" not in cfg:
        raise ValueError(f"{path} is not a rae_fast run configuration")
    return cfg


def read_run_frontend(run_dir: PathLike) -> Optional[Dict[str, Any]]:
    """The front end (:class:`rae_fast.preprocessing.FrontEnd` as a dict) the run's input was
    computed with, as ``train`` stored it; None when unknown."""
    return (read_run_config(run_dir).get("info") or {}).get("frontend")


def load_model(source: PathLike, epoch: Optional[int] = None,
               device: Union[str, torch.device] = "cpu") -> RecurrentAutoencoder:
    """A trained model in eval mode, from a run directory (latest or given epoch) or a checkpoint.

    >>> model = load_model("run")                 # doctest: +SKIP
    >>> model.encode(x).shape                     # doctest: +SKIP
    torch.Size([400, 16])
    """
    source = Path(source)
    if source.is_dir():
        if epoch is None:
            path = latest_checkpoint(source)
            if path is None:
                raise FileNotFoundError(f"{source} holds no checkpoint (train first)")
        else:
            epoch = check_int(epoch, "epoch", 1)
            found = dict(list_checkpoints(source))
            if epoch not in found:
                raise FileNotFoundError(f"{source} has no checkpoint for epoch {epoch} (available: "
                                        f"{sorted(found) or 'none'})")
            path = found[epoch]
    else:
        path = source
    dev = resolve_device(device)
    ckpt = load_checkpoint(path, map_location=dev)
    model = RecurrentAutoencoder(AutoencoderConfig.from_dict(ckpt["model_config"]))
    model.load_state_dict(ckpt["model"])
    return model.to(dev).eval()


def _rng_state(device: torch.device) -> Dict[str, Any]:
    """The random states training draws from: torch's CPU generator (dropout, encoder noise,
    feed-previous choices) and, on a GPU, the device's. The data order comes from
    ``default_rng([seed, epoch])`` and needs no state; numpy's and Python's global generators
    are never used, so they are neither saved nor touched."""
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: Dict[str, Any], device: torch.device) -> None:
    """Restore :func:`_rng_state` (inside ``fork_rng``). The ``numpy`` / ``python`` entries of
    checkpoints written by earlier versions are ignored: restoring them would overwrite the
    caller's global generators."""
    torch.set_rng_state(state["torch"].cpu())
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def _state_bytes(obj) -> int:
    """Bytes of the tensors in a (nested) checkpoint dict."""
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(_state_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_state_bytes(v) for v in obj)
    return 0


def _save_checkpoint(run_dir: Path, epoch: int, model, optimizer, dev, model_config,
                     tc: TrainingConfig, loss: float, keep: Optional[int],
                     ranks_rng: Optional[List[torch.Tensor]] = None) -> Path:
    rng = _rng_state(dev)
    if ranks_rng is not None:       # data-parallel: every rank's random state
        rng["ranks"] = [r.cpu() for r in ranks_rng]
    ckpt = {
        "format": "rae_fast.checkpoint", "format_version": CHECKPOINT_FORMAT,
        "rae_fast_version": __version__, "epoch": epoch, "loss": float(loss),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(), "rng": rng,
        "model_config": model_config.to_dict(), "training_config": tc.to_dict(),
    }
    path = run_dir / "checkpoints" / f"epoch_{epoch:04d}.pt"
    try:
        with atomic_path(path) as tmp:
            torch.save(ckpt, tmp)
    except RuntimeError as exc:
        # torch's zip writer reports a failed write (a full disk) as "RuntimeError: [enforce
        # fail at inline_container.cc] ... unexpected pos": name the file and say why
        raise write_error(exc, path, _state_bytes(ckpt)) from exc
    if keep is not None:
        for _, old in list_checkpoints(run_dir)[:-keep]:
            with contextlib.suppress(FileNotFoundError):
                old.unlink()
    return path
