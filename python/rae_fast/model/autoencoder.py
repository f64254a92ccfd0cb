"""The recurrent sequence-to-sequence autoencoder of auDeep (DCASE 2017), in PyTorch.

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
   step ``t`` is the expected output at ``t-1`` (zero at ``t=0``) or, with probability
   ``feed_previous_prob`` during training, its own previous output. The backward stack of a
   bidirectional decoder runs from the end and gets the expected output at ``t+1`` (zero at the
   last step), so that no direction ever sees the frame it has to predict.
4. **Output** -- one linear projection with tanh, shared over time, maps the decoder outputs
   (both directions concatenated) to ``F`` values.

Dropout (``dropout = 1 - keep_prob``) is applied to the input and to the output of every
recurrent layer, never to the recurrent state -- exactly what auDeep's TF ``DropoutWrapper(cell,
input_keep_prob, output_keep_prob)`` does on each cell of a ``MultiRNNCell``. Between two layers
both masks apply (keep probability ``keep_prob**2``), as in auDeep. ``torch.nn.GRU(dropout=p)``
would instead drop only between layers, so each layer is its own single-layer ``nn.GRU`` here.

Differences from auDeep, on purpose (see ``docs/model.md``): auDeep's decoder has a second
projection (``tanh(W2 tanh(W1 h))``) where this one has one, as the paper describes; auDeep's
bidirectional decoder concatenates the backward outputs without restoring their time order and
feeds the backward direction frames it still has to predict -- here both directions are aligned
and causal; weights use PyTorch's default initialisation.

Variable-length batches: pass ``lengths``; sequences are packed so that padding never reaches a
state, and the representation of an instance is the same (to float rounding, ~1e-6) as when it
is run alone.

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

from typing import List, Optional, Tuple, Union

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .config import AutoencoderConfig

__all__ = ["RecurrentAutoencoder", "rmse", "reverse_padded", "check_batch", "check_lengths"]

Tensor = torch.Tensor
# Per layer, the state of one direction: h (GRU) or (h, c) (LSTM), each (1, batch, units).
LayerState = Union[Tensor, Tuple[Tensor, Tensor]]


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


def reverse_padded(x: Tensor, lengths: Optional[Tensor]) -> Tensor:
    """Reverse each sequence of ``x`` ``(batch, time, ...)`` within its own length.

    Padding positions (``t >= lengths[b]``) stay where they are. ``lengths=None`` is a plain
    ``torch.flip`` over time.

    >>> x = torch.arange(6.).reshape(2, 3, 1)
    >>> reverse_padded(x, torch.tensor([2, 3]))[..., 0]
    tensor([[1., 0., 2.],
            [5., 4., 3.]])
    """
    if lengths is None:
        return torch.flip(x, dims=(1,))
    time = x.shape[1]
    t = torch.arange(time, device=x.device).unsqueeze(0)
    lens = lengths.to(x.device).unsqueeze(1)
    idx = torch.where(t < lens, lens - 1 - t, t)  # (batch, time)
    idx = idx.view(idx.shape + (1,) * (x.dim() - 2)).expand_as(x)
    return torch.gather(x, 1, idx)


def _time_mask(lengths: Optional[Tensor], batch: int, time: int, device) -> Optional[Tensor]:
    """(batch, time, 1) float mask of valid steps, or None when nothing is padded."""
    if lengths is None:
        return None
    t = torch.arange(time, device=device).unsqueeze(0)
    return (t < lengths.to(device).unsqueeze(1)).unsqueeze(-1).float()


def rmse(prediction: Tensor, target: Tensor, lengths=None) -> Tensor:
    """Root mean square error over all valid entries of a batch (auDeep's loss).

    ``sqrt(sum((prediction - target)**2) / n_valid)`` where padding steps
    (``t >= lengths[b]``) are left out. Shapes ``(batch, time, F)``; returns a scalar tensor.

    >>> rmse(torch.zeros(2, 3, 4), torch.ones(2, 3, 4))
    tensor(1.)
    """
    if prediction.shape != target.shape:
        raise ValueError(f"prediction and target must have the same shape, got "
                         f"{tuple(prediction.shape)} and {tuple(target.shape)}")
    lengths = check_lengths(lengths, target.shape[0], target.shape[1]) \
        if lengths is not None else None
    diff2 = (prediction - target) ** 2
    if lengths is None:
        return torch.sqrt(diff2.mean())
    mask = _time_mask(lengths, target.shape[0], target.shape[1], target.device)
    n_valid = mask.sum() * target.shape[2]
    return torch.sqrt((diff2 * mask).sum() / n_valid)


# ---------------------------------------------------------------------------------- model

class RecurrentAutoencoder(nn.Module):
    """auDeep's recurrent sequence-to-sequence autoencoder (see the module docstring).

    Parameters
    ----------
    config : AutoencoderConfig
        Architecture and regularisation.

    Attributes
    ----------
    encoder : ModuleList[ModuleList[nn.GRU | nn.LSTM]]
        ``encoder[d][l]``: layer ``l`` of direction ``d`` (0 forward, 1 backward).
    fc : nn.Linear
        ``encoder_state_size -> representation_size`` (followed by tanh).
    decoder : ModuleList[ModuleList[nn.GRU | nn.LSTM]]
        ``decoder[d][l]``, initial states taken from the representation.
    projection : nn.Linear
        ``num_units * decoder_directions -> num_features`` (followed by tanh), shared over time.

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
        super().__init__()
        if not isinstance(config, AutoencoderConfig):
            raise TypeError(f"config must be an AutoencoderConfig, got {type(config).__name__}")
        self.config = config
        cell = nn.GRU if config.cell == "gru" else nn.LSTM
        F, H, L = config.num_features, config.num_units, config.num_layers

        def stack() -> nn.ModuleList:
            return nn.ModuleList([cell(F if l == 0 else H, H, batch_first=True) for l in range(L)])

        self.encoder = nn.ModuleList([stack() for _ in range(config.encoder_directions)])
        self.fc = nn.Linear(config.encoder_state_size, config.decoder_state_size)
        self.decoder = nn.ModuleList([stack() for _ in range(config.decoder_directions)])
        self.projection = nn.Linear(H * config.decoder_directions, F)
        self.dropout = nn.Dropout(config.dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise the weights as auDeep's TensorFlow cells do.

        GRU: Glorot-uniform kernels per gate block, bias 1 on the reset and update gates and
        0 on the candidate (TensorFlow's ``GRUCell``: the gates start open, so the state is
        carried across the 100+ steps of a spectrogram); LSTM: Glorot-uniform kernels, zero
        biases plus 1 on the forget gate (``LSTMCell``'s ``forget_bias``); fully connected
        layers: Glorot-uniform weights, zero biases. Draws from torch's global generator.
        """
        gates = 3 if self.config.cell == "gru" else 4
        for direction in [*self.encoder, *self.decoder]:
            for rnn in direction:
                H = rnn.hidden_size
                for name, w in rnn.named_parameters():
                    with torch.no_grad():
                        if name.startswith("weight"):
                            fan_in = w.shape[1]
                            for k in range(gates):
                                nn.init.xavier_uniform_(w[k * H:(k + 1) * H].view(H, fan_in))
                        elif name.startswith("bias_ih"):
                            w.zero_()
                            if gates == 3:
                                w[:2 * H] = 1.0          # reset and update gates
                            else:
                                w[H:2 * H] = 1.0         # forget gate (order i, f, g, o)
                        else:
                            w.zero_()
        for lin in (self.fc, self.projection):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)

    # ------------------------------------------------------------------ state bookkeeping
    def _final_pieces(self, state: LayerState) -> List[Tensor]:
        """Final state of one layer/direction as auDeep concatenates it: [h] or [c, h]."""
        if self.config.cell == "lstm":
            h, c = state
            return [c[0], h[0]]
        return [state[0]]

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
        pieces = state.split(cfg.num_units, dim=1)
        out: List[List[LayerState]] = [[] for _ in range(cfg.decoder_directions)]
        k = 0
        for _layer in range(cfg.num_layers):
            for d in range(cfg.decoder_directions):
                if cfg.cell == "lstm":
                    c, h = pieces[k], pieces[k + 1]
                    k += 2
                    out[d].append((h.unsqueeze(0).contiguous(), c.unsqueeze(0).contiguous()))
                else:
                    out[d].append(pieces[k].unsqueeze(0).contiguous())
                    k += 1
        return out

    # ------------------------------------------------------------------------- stacks
    def _run_stack(self, stack: nn.ModuleList, x: Tensor, lengths: Optional[Tensor],
                   reverse: bool, initial: Optional[List[LayerState]] = None
                   ) -> Tuple[Tensor, List[LayerState]]:
        """Run one direction's layers; returns (outputs in input time order, final states)."""
        if reverse:
            x = reverse_padded(x, lengths)
        time = x.shape[1]
        finals: List[LayerState] = []
        for l, rnn in enumerate(stack):
            inp = self.dropout(x)
            h0 = None if initial is None else initial[l]
            if lengths is None:
                out, state = rnn(inp, h0)
            else:
                packed = pack_padded_sequence(inp, lengths, batch_first=True, enforce_sorted=False)
                out, state = rnn(packed, h0)
                out, _ = pad_packed_sequence(out, batch_first=True, total_length=time)
            x = self.dropout(out)
            finals.append(state)
        if reverse:
            x = reverse_padded(x, lengths)
        return x, finals

    # ------------------------------------------------------------------------- encoder
    def _encode(self, x: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        """Encoder without input validation (used by :meth:`encode` and the ONNX export)."""
        cfg = self.config
        if self.training and cfg.encoder_noise > 0:
            keep = torch.rand(x.shape[0], x.shape[1], 1, device=x.device) >= cfg.encoder_noise
            x = x * keep.to(x.dtype)
        per_dir = [self._run_stack(stack, x, lengths, reverse=(d == 1))[1]
                   for d, stack in enumerate(self.encoder)]
        pieces: List[Tensor] = []
        for l in range(cfg.num_layers):
            for d in range(cfg.encoder_directions):
                pieces.extend(self._final_pieces(per_dir[d][l]))
        return torch.tanh(self.fc(torch.cat(pieces, dim=1)))

    def encode(self, x, lengths=None) -> Tensor:
        """Representations of a batch: ``(batch, time, F)`` -> ``(batch, representation_size)``.

        Parameters
        ----------
        x : Tensor or ndarray, float, ``(batch, time, num_features)``
        lengths : ints ``(batch,)``, optional
            Valid steps per instance when the batch is padded at the end.

        >>> m = RecurrentAutoencoder(AutoencoderConfig(num_features=8)).eval()
        >>> m.encode(torch.zeros(2, 5, 8), lengths=[3, 5]).shape
        torch.Size([2, 16])
        """
        x = check_batch(x, self.config.num_features)
        x = x.to(self.fc.weight.device)
        lengths = check_lengths(lengths, x.shape[0], x.shape[1])
        return self._encode(x, lengths)

    def encode_frames(self, x, lengths=None) -> Tensor:
        """Per-frame outputs of the top encoder layer: ``(batch, time, F)`` ->
        ``(batch, time, encoder_directions * num_units)``, forward then backward direction,
        in the input's time order (the "timestamp embeddings" of the HEAR API).

        >>> m = RecurrentAutoencoder(AutoencoderConfig(num_features=8, num_units=4,
        ...                          bidirectional_encoder=True)).eval()
        >>> m.encode_frames(torch.zeros(2, 5, 8)).shape
        torch.Size([2, 5, 8])
        """
        x = check_batch(x, self.config.num_features)
        x = x.to(self.fc.weight.device)
        lengths = check_lengths(lengths, x.shape[0], x.shape[1])
        outs = [self._run_stack(stack, x, lengths, reverse=(d == 1))[0]
                for d, stack in enumerate(self.encoder)]
        return torch.cat(outs, dim=2) if len(outs) > 1 else outs[0]

    @property
    def frame_feature_size(self) -> int:
        """Size of one frame of :meth:`encode_frames`."""
        return self.config.encoder_directions * self.config.num_units

    # ------------------------------------------------------------------------- decoder
    def decoder_inputs(self, targets: Tensor, lengths: Optional[Tensor] = None
                       ) -> Tuple[Tensor, Optional[Tensor]]:
        """Teacher-forcing inputs ``(forward, backward)`` for ``targets`` ``(batch, time, F)``.

        forward: ``[0, y[0], ..., y[T-2]]``, the expected output one step earlier, consumed in
        time order. backward (bidirectional decoder only, else ``None``): the forward inputs in
        reverse order, shifted by one step, ``[0, y[T-2], ..., y[0]]``, consumed in that order;
        its output at step ``s`` joins the forward output at step ``s`` (auDeep's layout, see
        ``FeedPreviousRNN`` with ``reverse=True``). The backward direction is *not* re-aligned
        in time: re-aligned, it would see ``y[t+1]`` while predicting ``y[t]`` and could
        interpolate between the neighbours of every frame without using the representation.
        With ``lengths``, each instance is reversed within its own length; padding steps of
        ``targets`` must be zero.

        >>> m = RecurrentAutoencoder(AutoencoderConfig(num_features=1, bidirectional_decoder=True))
        >>> fw, bw = m.decoder_inputs(torch.tensor([[[1.], [2.], [3.], [4.]]]))
        >>> fw[0, :, 0], bw[0, :, 0]
        (tensor([0., 1., 2., 3.]), tensor([0., 3., 2., 1.]))
        """
        zeros = targets.new_zeros(targets.shape[0], 1, targets.shape[2])
        fw = torch.cat([zeros, targets[:, :-1]], dim=1)
        if not self.config.bidirectional_decoder:
            return fw, None
        bw = torch.cat([zeros, reverse_padded(fw, lengths)[:, :-1]], dim=1)
        return fw, bw

    def _decode_teacher(self, init, targets, lengths) -> Tensor:
        fw_in, bw_in = self.decoder_inputs(targets, lengths)
        outs = [self._run_stack(self.decoder[0], fw_in, lengths, False, init[0])[0]]
        if bw_in is not None:
            outs.append(self._run_stack(self.decoder[1], bw_in, lengths, False, init[1])[0])
        return torch.tanh(self.projection(torch.cat(outs, dim=-1)))

    def _decode_feed_previous(self, init, targets, prob: float) -> Tensor:
        """Unidirectional decoder, step by step; own previous output fed with probability."""
        batch, time, _ = targets.shape
        states = list(init[0])
        feed = torch.rand(time, batch, 1, device=targets.device) < prob
        prev = targets.new_zeros(batch, targets.shape[2])
        inp = prev
        outs = []
        for t in range(time):
            if t > 0:
                inp = torch.where(feed[t], prev, targets[:, t - 1])
            h = inp.unsqueeze(1)
            for l, rnn in enumerate(self.decoder[0]):
                h, states[l] = rnn(self.dropout(h), states[l])
                h = self.dropout(h)
            prev = torch.tanh(self.projection(h[:, 0]))
            outs.append(prev)
        return torch.stack(outs, dim=1)

    def decode(self, representation: Tensor, targets: Tensor, lengths=None,
               feed_previous_prob: Optional[float] = None) -> Tensor:
        """Decoder outputs ``(batch, time, F)`` aligned with ``targets`` (the reversed input).

        Parameters
        ----------
        representation : Tensor ``(batch, representation_size)``
            Split into the decoder's initial states.
        targets : Tensor ``(batch, time, F)``
            What the decoder should produce (teacher forcing input, shifted by one step).
        lengths : ints ``(batch,)``, optional
        feed_previous_prob : float, optional
            Probability of feeding the decoder's own previous output instead of the target
            (unidirectional decoder). Default: ``config.feed_previous_prob`` in training mode,
            0 in eval mode. ``1.0`` gives a free-running decoder that sees only the
            representation.

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
        if feed_previous_prob is None:
            feed_previous_prob = cfg.feed_previous_prob if self.training else 0.0
        elif not 0.0 <= float(feed_previous_prob) <= 1.0:
            raise ValueError(f"feed_previous_prob must be in [0, 1], got {feed_previous_prob}")
        if feed_previous_prob > 0 and cfg.bidirectional_decoder:
            raise ValueError("feed_previous_prob > 0 needs a unidirectional decoder")
        mask = _time_mask(lengths, targets.shape[0], targets.shape[1], targets.device)
        if mask is not None:
            targets = targets * mask  # padding never feeds the decoder
        init = self.split_state(representation)
        if feed_previous_prob > 0:
            out = self._decode_feed_previous(init, targets, float(feed_previous_prob))
        else:
            out = self._decode_teacher(init, targets, lengths)
        return out if mask is None else out * mask

    # ------------------------------------------------------------------------- forward
    def forward(self, x, lengths=None, feed_previous_prob: Optional[float] = None
                ) -> Tuple[Tensor, Tensor]:
        """Encode and reconstruct: returns ``(reconstruction, representation)``.

        ``reconstruction`` ``(batch, time, F)`` is put back into the input's time order, so the
        loss is simply ``rmse(reconstruction, x, lengths)`` (padding steps are zero).
        ``feed_previous_prob`` as in :meth:`decode`.

        >>> m = RecurrentAutoencoder(AutoencoderConfig(num_features=8)).eval()
        >>> [t.shape for t in m(torch.zeros(2, 5, 8))]
        [torch.Size([2, 5, 8]), torch.Size([2, 16])]
        """
        x = check_batch(x, self.config.num_features)
        x = x.to(self.fc.weight.device)
        lengths = check_lengths(lengths, x.shape[0], x.shape[1])
        rep = self._encode(x, lengths)
        targets = reverse_padded(x, lengths)
        out = self._decode(rep, targets, lengths, feed_previous_prob)
        return reverse_padded(out, lengths), rep

    def loss(self, x, lengths=None) -> Tensor:
        """Reconstruction RMSE of a batch (what training minimises); scalar tensor.

        >>> m = RecurrentAutoencoder(AutoencoderConfig(num_features=8))
        >>> m.loss(torch.zeros(2, 5, 8)).shape
        torch.Size([])
        """
        x = check_batch(x, self.config.num_features)
        x = x.to(self.fc.weight.device)
        recon, _ = self(x, lengths)
        return rmse(recon, x, lengths)

    @torch.no_grad()
    def reconstruct(self, x, lengths=None, free_running: bool = False) -> Tuple[Tensor, Tensor]:
        """Evaluation-mode reconstruction ``(reconstruction, representation)``, no gradients.

        ``free_running=False``: teacher forcing (what the loss measures). ``True``: the decoder
        sees only the representation and feeds back its own outputs (unidirectional decoder).
        The model's training/eval mode is restored afterwards.

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

    def extra_repr(self) -> str:
        c = self.config
        return (f"cell={c.cell}, layers={c.num_layers}, units={c.num_units}, "
                f"bidirectional_encoder={c.bidirectional_encoder}, "
                f"bidirectional_decoder={c.bidirectional_decoder}, "
                f"representation_size={c.representation_size}")
