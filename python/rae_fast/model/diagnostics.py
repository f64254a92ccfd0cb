"""What the representation carries: reconstruction with real, zeroed and shuffled codes.

A decoder that is shown the expected earlier frames (teacher forcing) can reconstruct much of a
spectrogram without its code: it then behaves like a copy-previous-frame predictor and the code
only buys the residual. :func:`reconstruction_diagnostics` measures this on a trained model:

* ``real``: teacher-forced RMSE with the model's own representations (what training minimises,
  without dropout);
* ``zeroed``: the same decoder with every code set to 0;
* ``shuffled``: each instance decoded with another instance's code (a derangement);
* baselines that need no model: ``copy_previous`` (each frame predicted by the frame the decoder
  saw just before it, i.e. the next frame of the input in time; zeros for the first one it
  decodes), ``neighbour_average`` (the mean of the two neighbouring frames) and ``zeros``.

``real`` far below ``zeroed`` and ``shuffled`` means the code matters; ``zeroed`` close to
``copy_previous`` means that without its code the decoder is a copy-previous-frame predictor.
Effective dimensionality and cross-set predictability of the representations are in
:mod:`rae_fast.evaluation.diagnostics` (numpy only).

>>> from rae_fast.model import load_model
>>> d = reconstruction_diagnostics(load_model("run"), x)        # doctest: +SKIP
>>> sorted(d)                                                    # doctest: +SKIP
['copy_previous', 'neighbour_average', 'real', 'shuffled', 'zeroed', 'zeros']
"""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np
import torch

from .._validation import check_int
from .autoencoder import AutoencoderBase

__all__ = ["reconstruction_diagnostics", "frame_baselines", "derangement"]


def derangement(n: int, seed: int = 0) -> np.ndarray:
    """A permutation of ``range(n)`` without fixed points (``n >= 2``): instance ``i`` gets the
    code of ``perm[i] != i``.

    >>> p = derangement(5); bool((p != np.arange(5)).all()) and sorted(p) == list(range(5))
    True
    """
    n = check_int(n, "n", 2)
    order = np.random.default_rng(seed).permutation(n)
    perm = np.empty(n, dtype=np.int64)
    perm[order] = np.roll(order, -1)
    return perm


def _rmse(pred: np.ndarray, x: np.ndarray, mask_silence: bool) -> float:
    err = (np.asarray(pred, dtype=np.float64) - x) ** 2
    if mask_silence:
        err = np.where(x == -1.0, 0.0, err)
    return float(np.sqrt(np.mean(err)))


def frame_baselines(x: np.ndarray, mask_silence: bool = False) -> Dict[str, float]:
    """RMSE of predictors that need no model, over ``x`` ``(n, time, F)``.

    ``copy_previous``: frame ``t`` predicted by frame ``t + 1`` -- the frame a time decoder
    (which reconstructs the reversed sequence) has just been shown -- and the last frame, which
    it decodes first, by zeros. ``neighbour_average``: the mean of frames ``t - 1`` and ``t + 1``
    (the one neighbour at the ends). ``zeros``: all zeros. ``mask_silence``: values of ``x``
    at -1 count as exactly predicted (the loss of ``TrainingConfig(mask_silence=True)``).

    >>> frame_baselines(np.zeros((2, 4, 3), np.float32))["copy_previous"]
    0.0
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3 or x.shape[1] < 2:
        raise ValueError(f"x must be (n, time >= 2, F), got shape {x.shape}")
    prev = np.concatenate([x[:, 1:], np.zeros_like(x[:, :1])], axis=1)
    neigh = np.empty_like(x)
    neigh[:, 1:-1] = 0.5 * (x[:, :-2] + x[:, 2:])
    neigh[:, 0], neigh[:, -1] = x[:, 1], x[:, -2]

    def r(pred):
        return _rmse(pred, x, mask_silence)
    return {"copy_previous": r(prev), "neighbour_average": r(neigh), "zeros": r(0.0 * x)}


def reconstruction_diagnostics(model: AutoencoderBase, x, batch_size: int = 64, seed: int = 0,
                               max_instances: Optional[int] = None,
                               mask_silence: bool = False) -> Dict[str, float]:
    """Teacher-forced reconstruction RMSE with real, zeroed and shuffled codes, and the
    model-free baselines of :func:`frame_baselines`, over ``x`` ``(n, time, F)``.

    Parameters
    ----------
    model : an autoencoder of :mod:`rae_fast.model` (t-rae, f-rae, ft-rae); run in eval mode.
    x : float array ``(n, time, F)`` (n >= 2)
    batch_size : int
        Instances per forward pass.
    seed : int
        Seeds the derangement that assigns each instance another instance's code, and the
        subset when ``max_instances`` is given.
    max_instances : int, optional
        Use a random subset of this many instances (all by default).
    mask_silence : bool
        Measure as a model trained with ``mask_silence=True`` was trained: values at -1 count
        as exactly reconstructed, for the model and for the baselines alike.

    Returns
    -------
    dict of float
        ``real``, ``zeroed``, ``shuffled``, ``copy_previous``, ``neighbour_average``,
        ``zeros``, and ``n_instances``.

    >>> reconstruction_diagnostics(model, specs.features)["zeroed"]     # doctest: +SKIP
    0.205
    """
    if not isinstance(model, AutoencoderBase):
        raise TypeError(f"model must be an autoencoder of rae_fast.model, got "
                        f"{type(model).__name__}")
    batch_size = check_int(batch_size, "batch_size", 1)
    x = np.ascontiguousarray(np.asarray(x), dtype=np.float32)
    if x.ndim != 3 or x.shape[0] < 2:
        raise ValueError(f"x must be (n >= 2, time, F), got shape {x.shape}")
    if max_instances is not None and check_int(max_instances, "max_instances", 2) < len(x):
        pick = np.sort(np.random.default_rng(seed).choice(len(x), max_instances,
                                                          replace=False))
        x = x[pick]
    n = len(x)
    reps = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for a in range(0, n, batch_size):
                reps.append(model.encode(x[a:a + batch_size]).cpu())
        rep = torch.cat(reps)
        codes = {"real": rep, "zeroed": torch.zeros_like(rep),
                 "shuffled": rep[torch.from_numpy(derangement(n, seed))]}
        out: Dict[str, float] = {}
        for name, code in codes.items():
            sq, count = 0.0, 0
            for a in range(0, n, batch_size):
                xb = x[a:a + batch_size]
                recon = model.reconstruct_from(code[a:a + batch_size], xb).cpu().numpy()
                sq += _rmse(recon, xb, mask_silence) ** 2 * xb.size
                count += xb.size
            out[name] = float(np.sqrt(sq / count))
    finally:
        model.train(was_training)
    out.update(frame_baselines(x, mask_silence))
    out["n_instances"] = n
    return out
