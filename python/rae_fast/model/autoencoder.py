"""auDeep's time-recurrent sequence-to-sequence autoencoder (t-rae, DCASE 2017), in PyTorch,
and what all three autoencoders of the family share (:class:`AutoencoderBase`).

A spectrogram is a sequence of ``T`` frequency vectors (``F`` values in [-1, 1]). The model:

1. **Encoder** -- ``num_layers`` GRU (or LSTM) layers of ``num_units``, zero initial state. A
   bidirectional encoder has a second, *independent* stack of layers that reads the sequence
   backwards (as TensorFlow's ``bidirectional_dynamic_rnn`` over two ``MultiRNNCell`` stacks,
   which auDeep uses: layer ``l`` of a direction reads only layer ``l-1`` of the same direction).
   During training whole time steps may be zeroed (``encoder_noise``).
2. **Representation** -- the final states of all encoder layers (both directions; for LSTM ``c``
   then ``h``) are concatenated layer by layer, ``[layer0: fw(c,h), bw(c,h), layer1: ...]``,
   and mapped by a fully connected layer with tanh to ``decoder_state_size`` values. This vector
   is the learnt feature; it is split in the same order into the decoder's initial states.
3. **Decoder** -- the same number of layers and units, uni- or bidirectional. It reconstructs
   the input **reversed in time** (target ``y[t] = x[T-1-t]``). The forward stack's input at
   step ``t`` is the expected output ``decoder_input_shift`` steps earlier (zeros before) or,
   with probability ``feed_previous_prob`` during training, its own previous output. The
   backward stack of a bidirectional decoder follows auDeep's layout (see
   :func:`rae_fast.model.rnn.teacher_inputs`). ``decoder_inputs='none'`` feeds zeros instead
   and ``decoder_input_dropout`` zeroes whole input steps during training.
4. **Output** -- one linear projection with tanh, shared over time, maps the decoder outputs
   (both directions concatenated) to ``F`` values; or, with ``decoder_projection=
   'per-direction'``, auDeep's two layers: each direction to ``F`` with tanh, then linear + tanh
   over their concatenation.

Dropout (``dropout = 1 - keep_prob``) is applied to the input and to the output of every
recurrent layer, never to the recurrent state -- exactly what auDeep's TF ``DropoutWrapper(cell,
input_keep_prob, output_keep_prob)`` does on each cell of a ``MultiRNNCell``. Between two layers
both masks apply (keep probability ``keep_prob**2``), as in auDeep. ``torch.nn.GRU(dropout=p)``
would instead drop only between layers, so each layer is its own single-layer RNN here.
``gru_variant='tensorflow'`` uses TensorFlow's GRU formula (:class:`rae_fast.model.rnn.TFGRU`).

Variable-length batches: pass ``lengths``; sequences are packed so that padding never reaches a
state, and the representation of an instance is the same (to float rounding, ~1e-6) as when it
is run alone. f-rae and ft-rae live in :mod:`rae_fast.model.frequency`;
:func:`rae_fast.model.build_autoencoder` picks the class from ``config.architecture``.

>>> import torch
>>> from rae_fast.model import AutoencoderConfig, RecurrentAutoencoder
>>> model = RecurrentAutoencoder(AutoencoderConfig(num_features=8, num_units=4)).eval()
>>> x = torch.rand(3, 10, 8) * 2 - 1
>>> model.encode(x).shape
torch.Size([3, 4])
>>> recon, rep = model(x)
>>> recon.shape, float(rmse(recon, x)) > 0
(torch.Size([3, 10, 8]), True)
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np
import torch
from torch import nn

from .config import AutoencoderConfig
from .rnn import (LayerState, decode_stack, final_pieces, init_stack, make_stack,
                  reverse_padded, run_stack, split_states, teacher_inputs)

__all__ = ["AutoencoderBase", "RecurrentAutoencoder", "rmse", "reverse_padded", "check_batch",
           "check_lengths"]

Tensor = torch.Tensor


# ------------------------------------------------------------------------------ validation

def check_batch(x, num_features: int, name: str = "x") -> Tensor:
    """Validate a batch of sequences and return it as a float32 tensor ``(batch, time, F)``.

    Accepts a ``torch.Tensor`` or numpy array of floating dtype. Raises ``TypeError`` for other
    types or dtypes and ``ValueError`` for a wrong number of axes, a wrong feature size, empty
    axes or NaN/Inf values; the message names ``name``.

    >>> check_batch(np.zeros((2, 5, 3), np.float32), 3).shape
    torch.Size([2, 5, 3])
    """
    if isinstance(x, np.ndarray):
        if x.dtype.kind != "f":
            raise TypeError(f"{name} must be a floating-point array, got dtype {x.dtype}")
        x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    elif not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if x.dim() != 3:
        raise ValueError(f"{name} must be 3-D (batch, time, features), got shape {tuple(x.shape)}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)})")
    if x.shape[2] != num_features:
        raise ValueError(f"{name} must have {num_features} features per time step (the model's "
                         f"num_features), got {x.shape[2]} (shape {tuple(x.shape)})")
    if x.dtype != torch.float32:
        x = x.float()
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or Inf")
    return x


def check_lengths(lengths, batch: int, time: int) -> Optional[Tensor]:
    """Validate per-instance sequence lengths; return an int64 CPU tensor or ``None``.

    ``None`` (or all lengths equal to ``time``) means "no padding" and returns ``None``.
    Otherwise ``lengths`` must hold ``batch`` integers in ``[1, time]``.

    >>> check_lengths([3, 5], 2, 5)
    tensor([3, 5])
    >>> check_lengths([5, 5], 2, 5) is None
    True
    """
    if lengths is None:
        return None
    if isinstance(lengths, torch.Tensor):
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise TypeError(f"lengths must be integers, got {lengths.dtype}")
        arr = lengths.detach().to("cpu", torch.int64)
    else:
        raw = np.asarray(lengths)
        if raw.dtype.kind not in "iu":
            raise TypeError(f"lengths must be integers, got dtype {raw.dtype}")
        arr = torch.from_numpy(raw.astype(np.int64))
    if arr.dim() != 1 or arr.shape[0] != batch:
        raise ValueError(f"lengths must be 1-D with one entry per instance ({batch}), got shape "
                         f"{tuple(arr.shape)}")
    if bool((arr < 1).any()) or bool((arr > time).any()):
        raise ValueError(f"lengths must be in [1, {time}] (the padded time axis), got "
                         f"min {int(arr.min())}, max {int(arr.max())}")
    if bool((arr == time).all()):
        return None
    return arr


def _time_mask(lengths: Optional[Tensor], batch: int, time: int, device) -> Optional[Tensor]:
    """(batch, time, 1) float mask of valid steps, or None when nothing is padded."""
    if lengths is None:
        return None
    t = torch.arange(time, device=device).unsqueeze(0)
    return (t < lengths.to(device).unsqueeze(1)).unsqueeze(-1).float()


def rmse(prediction: Tensor, target: Tensor, lengths=None, mask_silence: bool = False,
         floor: float = -1.0) -> Tensor:
    """Root mean square error over all valid entries of a batch (auDeep's loss).

    ``sqrt(sum((prediction - target)**2) / n_valid)`` where padding steps
    (``t >= lengths[b]``) are left out. Shapes ``(batch, time, F)``; returns a scalar tensor.
    ``mask_silence`` (auDeep's ``--mask-silence``): where the target equals ``floor`` (-1,
    digital silence and everything clipped) the prediction counts as exact -- no error, no
    gradient -- and ``n_valid`` is unchanged, exactly as auDeep's ``tf.where(targets == -1,
    -1, reconstruction)``.

    >>> rmse(torch.zeros(2, 3, 4), torch.ones(2, 3, 4))
    tensor(1.)
    >>> rmse(torch.zeros(1, 2, 1), torch.tensor([[[-1.], [1.]]]), mask_silence=True)
    tensor(0.7071)
    """
    if prediction.shape != target.shape:
        raise ValueError(f"prediction and target must have the same shape, got "
                         f"{tuple(prediction.shape)} and {tuple(target.shape)}")
    lengths = check_lengths(lengths, target.shape[0], target.shape[1]) \
        if lengths is not None else None
    if mask_silence:
        prediction = torch.where(target == floor, target, prediction)
    diff2 = (prediction - target) ** 2
    if lengths is None:
        return torch.sqrt(diff2.mean())
    mask = _time_mask(lengths, target.shape[0], target.shape[1], target.device)
    n_valid = mask.sum() * target.shape[2]
    return torch.sqrt((diff2 * mask).sum() / n_valid)


# ------------------------------------------------------------------------- the family

class AutoencoderBase(nn.Module):
    """What auDeep's three autoencoders share: validation, ``encode``, ``forward``, ``loss``,
    ``reconstruct`` and the decoders' input options. Subclasses implement ``_encode(x,
    lengths)`` and ``_reconstruct(representation, x, lengths, feed_previous_prob)`` (the
    reconstruction of ``x`` in its own order, from a given representation)."""

    def __init__(self, config: AutoencoderConfig):
        super().__init__()
        if not isinstance(config, AutoencoderConfig):
            raise TypeError(f"config must be an AutoencoderConfig, got {type(config).__name__}")
        self.config = config
        self.dropout = nn.Dropout(config.dropout)

    # -------------------------------------------------------------------- public methods
    def _device_batch(self, x, lengths):
        x = check_batch(x, self.config.num_features)
        x = x.to(next(self.parameters()).device)
        return x, check_lengths(lengths, x.shape[0], x.shape[1])

    def encode(self, x, lengths=None) -> Tensor:
        """Representations of a batch ``(batch, time, F)``: ``(batch, representation_size)``
        (f-rae: ``(batch, time, representation_size)``, zero at padding frames).

        Parameters
        ----------
        x : Tensor or ndarray, float, ``(batch, time, num_features)``
        lengths : ints ``(batch,)``, optional
            Valid steps per instance when the batch is padded at the end.

        >>> m = RecurrentAutoencoder(AutoencoderConfig(num_features=8)).eval()
        >>> m.encode(torch.zeros(2, 5, 8), lengths=[3, 5]).shape
        torch.Size([2, 16])
        """
        x, lengths = self._device_batch(x, lengths)
        return self._encode(x, lengths)

    def encode_pooled(self, x, lengths=None) -> Tensor:
        """The representation followed by the time average of the top encoder layer's outputs
        (each direction; over the valid steps): ``(batch, representation_size +
        pooled_size)``. t-rae and ft-rae (its time encoder) only; no training needed -- the
        exported encoder gives the same with ``pool_states=True``.

        >>> m = RecurrentAutoencoder(AutoencoderConfig(num_features=8)).eval()
        >>> m.encode_pooled(torch.zeros(2, 5, 8)).shape      # 16 + 16 units
        torch.Size([2, 32])
        """
        if self.config.architecture == "f-rae":
            raise ValueError("pooled encoder states apply to t-rae and ft-rae (f-rae gives one "
                             "representation per frame already)")
        x, lengths = self._device_batch(x, lengths)
        rep, tops = self._encode_with_outputs(x, lengths)
        mask = _time_mask(lengths, x.shape[0], x.shape[1], x.device)
        pooled = []
        for top in tops:
            if mask is None:
                pooled.append(top.mean(dim=1))
            else:
                pooled.append((top * mask).sum(dim=1) / mask.sum(dim=1))
        return torch.cat([rep, *pooled], dim=1)

    @property
    def pooled_size(self) -> int:
        """Values :meth:`encode_pooled` adds: top-layer units x encoder directions."""
        return self.config.num_units * self.config.encoder_directions

    def encode_frames(self, x, lengths=None) -> Tensor:
        """Per-frame outputs of the top encoder layer: ``(batch, time, F)`` ->
        ``(batch, time, encoder_directions * num_units)``, forward then backward direction,
        in the input's time order (the "timestamp embeddings" of the HEAR API). ft-rae: its
        time encoder's; f-rae: its per-frame representation (``representation_size`` values).

        >>> m = RecurrentAutoencoder(AutoencoderConfig(num_features=8, num_units=4,
        ...                          bidirectional_encoder=True)).eval()
        >>> m.encode_frames(torch.zeros(2, 5, 8)).shape
        torch.Size([2, 5, 8])
        """
        x, lengths = self._device_batch(x, lengths)
        if self.config.architecture == "f-rae":
            return self._encode(x, lengths)
        outs = self._encode_with_outputs(x, lengths)[1]
        return torch.cat(outs, dim=2) if len(outs) > 1 else outs[0]

    @property
    def frame_feature_size(self) -> int:
        """Size of one frame of :meth:`encode_frames`."""
        if self.config.architecture == "f-rae":
            return self.config.representation_size
        return self.config.encoder_directions * self.config.num_units

    def forward(self, x, lengths=None, feed_previous_prob: Optional[float] = None
                ) -> Tuple[Tensor, Tensor]:
        """Encode and reconstruct: returns ``(reconstruction, representation)``.

        ``reconstruction`` ``(batch, time, F)`` is in the input's order, so the loss is simply
        ``rmse(reconstruction, x, lengths)`` (padding steps are zero). ``feed_previous_prob``:
        probability that a decoder reads its own previous output (default: the configured one
        in training mode, 0 in eval mode; 1.0 runs the decoders free).

        >>> m = RecurrentAutoencoder(AutoencoderConfig(num_features=8)).eval()
        >>> [t.shape for t in m(torch.zeros(2, 5, 8))]
        [torch.Size([2, 5, 8]), torch.Size([2, 16])]
        """
        x, lengths = self._device_batch(x, lengths)
        rep = self._encode(x, lengths)
        return self._reconstruct(rep, x, lengths, feed_previous_prob), rep

    def reconstruct_from(self, representation: Tensor, x, lengths=None) -> Tensor:
        """Teacher-forced reconstruction of ``x`` from a *given* representation (e.g. zeroed or
        taken from other instances, as :func:`rae_fast.model.diagnostics` does), in eval mode
        without gradients; the decoders still read the expected earlier outputs of ``x``.

        >>> m = RecurrentAutoencoder(AutoencoderConfig(num_features=8))
        >>> m.reconstruct_from(torch.zeros(2, 16), torch.zeros(2, 5, 8)).shape
        torch.Size([2, 5, 8])
        """
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                x, lengths = self._device_batch(x, lengths)
                return self._reconstruct(representation.to(x.device), x, lengths, 0.0)
        finally:
            self.train(was_training)

    def loss(self, x, lengths=None, mask_silence: bool = False) -> Tensor:
        """Reconstruction RMSE of a batch (what training minimises); scalar tensor.

        >>> m = RecurrentAutoencoder(AutoencoderConfig(num_features=8))
        >>> m.loss(torch.zeros(2, 5, 8)).shape
        torch.Size([])
        """
        x, lengths = self._device_batch(x, lengths)
        recon, _ = self(x, lengths)
        return rmse(recon, x, lengths, mask_silence=mask_silence)

    @torch.no_grad()
    def reconstruct(self, x, lengths=None, free_running: bool = False) -> Tuple[Tensor, Tensor]:
        """Evaluation-mode reconstruction ``(reconstruction, representation)``, no gradients.

        ``free_running=False``: teacher forcing (what the loss measures). ``True``: the decoders
        see only the representation and feed back their own outputs. The model's training/eval
        mode is restored afterwards.

        >>> m = RecurrentAutoencoder(AutoencoderConfig(num_features=8))
        >>> m.reconstruct(torch.zeros(1, 5, 8), free_running=True)[0].shape
        torch.Size([1, 5, 8])
        """
        was_training = self.training
        self.eval()
        try:
            return self(x, lengths, feed_previous_prob=1.0 if free_running else 0.0)
        finally:
            self.train(was_training)

    def num_parameters(self) -> int:
        """Number of trainable weights."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    # ------------------------------------------------------------------- shared helpers
    def _feed_prob(self, value: Optional[float], configured: float) -> float:
        if value is None:
            return configured if self.training else 0.0
        value = float(value)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"feed_previous_prob must be in [0, 1], got {value}")
        return value

    def _decoder_source(self, targets: Tensor) -> Tensor:
        """What the decoders may read of ``targets`` ``(batch, steps, I)``: zeros with
        ``decoder_inputs='none'``; in training, whole steps zeroed with probability
        ``decoder_input_dropout``."""
        cfg = self.config
        if cfg.decoder_inputs == "none":
            return torch.zeros_like(targets)
        if self.training and cfg.decoder_input_dropout > 0:
            keep = torch.rand(targets.shape[0], targets.shape[1], 1, device=targets.device)
            return targets * (keep >= cfg.decoder_input_dropout).to(targets.dtype)
        return targets

    def _corrupt(self, x: Tensor, prob: float) -> Tensor:
        """Training only: every step of ``x`` ``(batch, steps, I)`` zeroed with ``prob``."""
        if self.training and prob > 0:
            keep = torch.rand(x.shape[0], x.shape[1], 1, device=x.device) >= prob
            return x * keep.to(x.dtype)
        return x

    def _run_decoders(self, stacks, projections, source: Tensor, lengths, init, shift: int,
                      feed_prob: float, step_by_step: bool = False) -> List[Tensor]:
        """All directions of one decoder over teacher inputs built from ``source`` (batch,
        steps, I); with ``projections`` (per-direction linear layers) returns the projected
        outputs ``tanh(P_d h)``, else the raw outputs."""
        fw, bw = teacher_inputs(source, lengths, shift, len(stacks) == 2)
        outs = []
        for d, inputs in enumerate([fw, bw][:len(stacks)]):
            proj = None if projections is None else projections[d]
            project = (lambda h, p=proj: torch.tanh(p(h))) if proj is not None else None
            outs.append(decode_stack(stacks[d], inputs, lengths, init[d], self.dropout,
                                     feed_prob, project, step_by_step=step_by_step))
        return outs

    def extra_repr(self) -> str:
        c = self.config
        return (f"architecture={c.architecture}, cell={c.cell}, layers={c.num_layers}, "
                f"units={c.num_units}, bidirectional_encoder={c.bidirectional_encoder}, "
                f"bidirectional_decoder={c.bidirectional_decoder}, "
                f"representation_size={c.representation_size}")


# ------------------------------------------------------------------------------- t-rae

class RecurrentAutoencoder(AutoencoderBase):
    """auDeep's time-recurrent autoencoder, t-rae (see the module docstring).

    Parameters
    ----------
    config : AutoencoderConfig
        Architecture and regularisation (``architecture='t-rae'``).

    Attributes
    ----------
    encoder : ModuleList[ModuleList[nn.GRU | nn.LSTM | TFGRU]]
        ``encoder[d][l]``: layer ``l`` of direction ``d`` (0 forward, 1 backward).
    fc : nn.Linear
        ``encoder_state_size -> representation_size`` (followed by tanh).
    decoder : ModuleList[ModuleList[...]]
        ``decoder[d][l]``, initial states taken from the representation.
    direction_projections : ModuleList[nn.Linear] or None
        ``decoder_projection='per-direction'``: ``num_units -> num_features`` per direction.
    projection : nn.Linear
        ``num_units * directions -> num_features`` (``num_features * directions`` with
        per-direction projections), followed by tanh, shared over time.

    Shapes
    ------
    input ``x``: ``(batch, time, num_features)`` float32; representation
    ``(batch, representation_size)`` in [-1, 1]; reconstruction like ``x``, in [-1, 1].

    Example
    -------
    >>> cfg = AutoencoderConfig(num_features=16, num_layers=2, num_units=8, cell="lstm",
    ...                         bidirectional_encoder=True, bidirectional_decoder=True)
    >>> m = RecurrentAutoencoder(cfg).eval()
    >>> m.encode(torch.zeros(4, 7, 16)).shape   # 2 layers x 8 units x (c, h) x 2 directions
    torch.Size([4, 64])
    """

    def __init__(self, config: AutoencoderConfig):
        super().__init__(config)
        if config.architecture != "t-rae":
            raise ValueError(f"RecurrentAutoencoder is t-rae; for architecture="
                             f"{config.architecture!r} use rae_fast.model.build_autoencoder")
        F, H, L = config.num_features, config.num_units, config.num_layers

        def stack() -> nn.ModuleList:
            return make_stack(F, H, L, config.cell, config.gru_variant)

        self.encoder = nn.ModuleList([stack() for _ in range(config.encoder_directions)])
        self.fc = nn.Linear(config.encoder_state_size, config.decoder_state_size)
        self.decoder = nn.ModuleList([stack() for _ in range(config.decoder_directions)])
        dirs = config.decoder_directions
        if config.decoder_projection == "per-direction":
            self.direction_projections = nn.ModuleList([nn.Linear(H, F) for _ in range(dirs)])
            self.projection = nn.Linear(F * dirs, F)
        else:
            self.direction_projections = None
            self.projection = nn.Linear(H * dirs, F)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise the weights as auDeep's TensorFlow cells do (:func:`rnn.init_stack`:
        Glorot-uniform kernels, GRU reset/update gate biases 1, LSTM forget-gate bias 1) and
        the fully connected layers Glorot-uniform with zero biases. Draws from torch's global
        generator."""
        for stack in [*self.encoder, *self.decoder]:
            init_stack(stack, self.config.cell, self.config.gru_variant)
        for lin in (self.fc, self.projection, *(self.direction_projections or ())):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)

    def split_state(self, state: Tensor) -> List[List[LayerState]]:
        """Split ``(batch, decoder_state_size)`` into initial states ``[direction][layer]``.

        Order (auDeep's): layer-major; within a layer forward then backward direction; within a
        direction ``c`` then ``h`` for LSTM. Each piece is ``(1, batch, num_units)``; LSTM
        layers get the ``(h, c)`` tuple that ``nn.LSTM`` expects.

        >>> m = RecurrentAutoencoder(AutoencoderConfig(4, num_units=3, bidirectional_decoder=True))
        >>> [s.shape for s in m.split_state(torch.zeros(2, 6))[1]]
        [torch.Size([1, 2, 3])]
        """
        cfg = self.config
        if state.dim() != 2 or state.shape[1] != cfg.decoder_state_size:
            raise ValueError(f"state must have shape (batch, {cfg.decoder_state_size}), got "
                             f"{tuple(state.shape)}")
        return split_states(state, cfg.num_layers, cfg.num_units, cfg.decoder_directions,
                            cfg.cell)

    # ------------------------------------------------------------------------- encoder
    def _encode(self, x: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        """Encoder without input validation (used by :meth:`encode` and the ONNX export)."""
        return self._encode_with_outputs(x, lengths)[0]

    def _encode_with_outputs(self, x: Tensor, lengths: Optional[Tensor] = None
                             ) -> Tuple[Tensor, List[Tensor]]:
        """``(representation, [top layer outputs (batch, time, H) of each direction])``."""
        cfg = self.config
        x = self._corrupt(x, cfg.encoder_noise)
        runs = [run_stack(stack, x, lengths, d == 1, None, self.dropout)
                for d, stack in enumerate(self.encoder)]
        pieces: List[Tensor] = []
        for l in range(cfg.num_layers):
            for d in range(cfg.encoder_directions):
                pieces.extend(final_pieces(runs[d][1][l], cfg.cell))
        return torch.tanh(self.fc(torch.cat(pieces, dim=1))), [r[0] for r in runs]

    # ------------------------------------------------------------------------- decoder
    def decoder_inputs(self, targets: Tensor, lengths: Optional[Tensor] = None
                       ) -> Tuple[Tensor, Optional[Tensor]]:
        """Teacher-forcing inputs ``(forward, backward)`` for ``targets`` ``(batch, time, F)``.

        forward: ``[0, y[0], ..., y[T-2]]`` (``decoder_input_shift=1``; ``[0, 0, y[0], ...]``
        for 2), the expected output earlier, consumed in time order. backward (bidirectional
        decoder only, else ``None``): the one-step-shifted inputs in reverse order, shifted by
        one step, ``[0, y[T-2], ..., y[0]]``, consumed in that order; its output at step ``s``
        joins the forward output at step ``s`` (auDeep's layout, see ``FeedPreviousRNN`` with
        ``reverse=True``). The backward direction is *not* re-aligned in time: re-aligned, it
        would see ``y[t+1]`` while predicting ``y[t]`` and could interpolate between the
        neighbours of every frame without using the representation. With ``lengths``, each
        instance is reversed within its own length; padding steps of ``targets`` must be zero.

        >>> m = RecurrentAutoencoder(AutoencoderConfig(num_features=1, bidirectional_decoder=True))
        >>> fw, bw = m.decoder_inputs(torch.tensor([[[1.], [2.], [3.], [4.]]]))
        >>> fw[0, :, 0], bw[0, :, 0]
        (tensor([0., 1., 2., 3.]), tensor([0., 3., 2., 1.]))
        """
        cfg = self.config
        return teacher_inputs(targets, lengths, cfg.decoder_input_shift,
                              cfg.bidirectional_decoder)

    def _decode_feed_previous(self, init, targets, prob: float) -> Tensor:
        """The decoder step by step (each direction reads its own previous output with
        probability ``prob``); the same network as the teacher-forced path."""
        return self._decode_outputs(init, targets, None, prob, step_by_step=True)

    def _decode_outputs(self, init, targets, lengths, prob: float, step_by_step: bool = False
                        ) -> Tensor:
        cfg = self.config
        if cfg.decoder_projection == "per-direction":
            outs = self._run_decoders(self.decoder, self.direction_projections,
                                      self._decoder_source(targets), lengths, init,
                                      cfg.decoder_input_shift, prob, step_by_step)
            return torch.tanh(self.projection(torch.cat(outs, dim=-1)))
        if not cfg.bidirectional_decoder and (prob > 0 or step_by_step):
            # the unidirectional decoder feeds back its one output layer: tanh(projection(h))
            return self._run_decoders(self.decoder, [self.projection],
                                      self._decoder_source(targets), lengths, init,
                                      cfg.decoder_input_shift, prob, step_by_step)[0]
        outs = self._run_decoders(self.decoder, None, self._decoder_source(targets), lengths,
                                  init, cfg.decoder_input_shift, prob, step_by_step)
        return torch.tanh(self.projection(torch.cat(outs, dim=-1)))

    def decode(self, representation: Tensor, targets: Tensor, lengths=None,
               feed_previous_prob: Optional[float] = None) -> Tensor:
        """Decoder outputs ``(batch, time, F)`` aligned with ``targets`` (the reversed input).

        Parameters
        ----------
        representation : Tensor ``(batch, representation_size)``
            Split into the decoder's initial states.
        targets : Tensor ``(batch, time, F)``
            What the decoder should produce (teacher forcing input, shifted).
        lengths : ints ``(batch,)``, optional
        feed_previous_prob : float, optional
            Probability of feeding the decoder its own previous output instead of the target.
            Default: ``config.feed_previous_prob`` in training mode, 0 in eval mode. ``1.0``
            gives a free-running decoder that sees only the representation.

        >>> m = RecurrentAutoencoder(AutoencoderConfig(num_features=3)).eval()
        >>> m.decode(torch.zeros(2, 16), torch.zeros(2, 4, 3)).shape
        torch.Size([2, 4, 3])
        """
        cfg = self.config
        targets = check_batch(targets, cfg.num_features, "targets")
        lengths = check_lengths(lengths, targets.shape[0], targets.shape[1])
        if representation.shape != (targets.shape[0], cfg.decoder_state_size):
            raise ValueError(f"representation must have shape ({targets.shape[0]}, "
                             f"{cfg.decoder_state_size}), got {tuple(representation.shape)}")
        return self._decode(representation, targets, lengths, feed_previous_prob)

    def _decode(self, representation, targets, lengths, feed_previous_prob) -> Tensor:
        cfg = self.config
        prob = self._feed_prob(feed_previous_prob, cfg.feed_previous_prob)
        if prob > 0 and cfg.bidirectional_decoder and cfg.decoder_projection == "single":
            raise ValueError("feed_previous_prob > 0 needs a unidirectional decoder or "
                             "decoder_projection='per-direction'")
        mask = _time_mask(lengths, targets.shape[0], targets.shape[1], targets.device)
        if mask is not None:
            targets = targets * mask  # padding never feeds the decoder
        out = self._decode_outputs(self.split_state(representation), targets, lengths, prob)
        return out if mask is None else out * mask

    def _reconstruct(self, representation, x, lengths, feed_previous_prob) -> Tensor:
        targets = reverse_padded(x, lengths)
        out = self._decode(representation, targets, lengths, feed_previous_prob)
        return reverse_padded(out, lengths)
