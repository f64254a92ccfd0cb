"""auDeep's frequency-recurrent autoencoders: f-rae and ft-rae, in PyTorch.

Both cut every frame's spectrum (``F`` values) into ``N = (F - W) // (W - O) + 1`` windows of
``W = freq_window_width`` bands overlapping by ``O = freq_window_overlap`` (auDeep's
``window_features``; bands past the last window are left out, with a warning) and read the
windows in order, as a sequence, with recurrent networks built like t-rae's
(:mod:`rae_fast.model.rnn`: independent directions, dropout on every layer's input and output).

**f-rae** (:class:`FrequencyAutoencoder`, auDeep's ``FrequencyAutoencoder``). Each frame is an
instance: the encoder reads its ``N`` windows (``encoder_noise`` zeroes whole windows), its
final states go through a fully connected layer with tanh -- the frame's representation,
``decoder_state_size`` values -- which the decoder gets as initial state. The decoder reads the
windows in reverse order, shifted (``decoder_input_shift``), each direction projects its
output to ``W`` values with tanh (what it feeds back with ``feed_previous_prob``), and one
linear + tanh layer maps the concatenation of all steps and directions (``N * directions * W``)
to the frame reversed along frequency. A clip's representation is ``(time, R)``: one vector per
frame (stored with auDeep's feature dimensions ``generated_0``, ``generated_1``).

**ft-rae** (:class:`FrequencyTimeAutoencoder`, auDeep's ``FrequencyTimeAutoencoder``). A
frequency encoder (``num_f_layers`` x ``num_f_units``) turns every frame into its final states
(``f_encoder_state_size`` values); a time encoder (``num_layers`` x ``num_units``) reads that
sequence, and its final states give the clip's representation (tanh of a fully connected layer,
``decoder_state_size`` values). The time decoder reconstructs the frequency encoder's states
reversed in time (projected per direction to their size, with tanh); a linear + tanh layer
turns its outputs at each step into the initial state of a frequency decoder, which
reconstructs that frame, reversed in time and frequency, as f-rae's decoder does. The loss is
the RMSE of the final reconstruction only (the time decoder's targets are never compared).

>>> import torch
>>> from rae_fast.model import AutoencoderConfig, build_autoencoder
>>> f = build_autoencoder(AutoencoderConfig(num_features=64, architecture="f-rae")).eval()
>>> f.encode(torch.zeros(2, 5, 64)).shape                 # (batch, time, R): 1 x 16 GRU units
torch.Size([2, 5, 16])
>>> ft = build_autoencoder(AutoencoderConfig(num_features=64, architecture="ft-rae")).eval()
>>> ft.encode(torch.zeros(2, 5, 64)).shape
torch.Size([2, 16])
"""
from __future__ import annotations

import warnings
from typing import List, Optional

import torch
from torch import nn

from .autoencoder import AutoencoderBase, _time_mask
from .config import AutoencoderConfig
from .rnn import (final_pieces, init_stack, make_stack, reverse_padded, run_stack,
                  split_states)

__all__ = ["FrequencyAutoencoder", "FrequencyTimeAutoencoder", "window_features"]

Tensor = torch.Tensor


def window_features(x: Tensor, width: int, overlap: int) -> Tensor:
    """Windows along the last axis: ``(..., F)`` -> ``(..., N, width)`` (auDeep's
    ``window_features``), ``N = (F - width) // (width - overlap) + 1``.

    >>> window_features(torch.arange(6.).view(1, 6), 4, 2)
    tensor([[[0., 1., 2., 3.],
             [2., 3., 4., 5.]]])
    """
    step = width - overlap
    return x.unfold(-1, width, step)


def _warn_dropped_bands(config: AutoencoderConfig) -> None:
    step = config.freq_window_width - config.freq_window_overlap
    covered = config.freq_window_width + (config.num_windows - 1) * step
    if covered != config.num_features:
        warnings.warn(f"the last {config.num_features - covered} of {config.num_features} "
                      f"frequency bands are left out by windows of width "
                      f"{config.freq_window_width} and overlap {config.freq_window_overlap}",
                      UserWarning, stacklevel=3)


def _concat_finals(per_dir, num_layers: int, cell: str) -> Tensor:
    """Final states of all layers and directions in auDeep's order: ``(batch, size)``."""
    pieces: List[Tensor] = []
    for l in range(num_layers):
        for d in range(len(per_dir)):
            pieces.extend(final_pieces(per_dir[d][l], cell))
    return torch.cat(pieces, dim=1)


class _FrequencyPart(nn.Module):
    """Encoder and decoder stacks along frequency windows, shared by f-rae and ft-rae."""

    def __init__(self, config: AutoencoderConfig, layers: int, units: int, bi_enc: bool,
                 bi_dec: bool):
        super().__init__()
        W, c = config.freq_window_width, config
        self.layers, self.units = layers, units
        self.encoder = nn.ModuleList([make_stack(W, units, layers, c.cell, c.gru_variant)
                                      for _ in range(2 if bi_enc else 1)])
        self.decoder = nn.ModuleList([make_stack(W, units, layers, c.cell, c.gru_variant)
                                      for _ in range(2 if bi_dec else 1)])
        self.direction_projections = nn.ModuleList([nn.Linear(units, W)
                                                    for _ in range(len(self.decoder))])
        self.projection = nn.Linear(config.num_windows * len(self.decoder) * W,
                                    config.num_features)


class FrequencyAutoencoder(AutoencoderBase):
    """auDeep's frequency-recurrent autoencoder, f-rae (see the module docstring).

    Attributes: ``encoder[d][l]``, ``fc`` (``encoder_state_size -> decoder_state_size``),
    ``decoder[d][l]``, ``direction_projections[d]`` (``num_units -> W``), ``projection``
    (``N * directions * W -> F``). Representation: ``(batch, time, decoder_state_size)``.

    >>> cfg = AutoencoderConfig(num_features=40, architecture="f-rae", freq_window_width=16,
    ...                         freq_window_overlap=8, bidirectional_decoder=True)
    >>> m = FrequencyAutoencoder(cfg).eval()
    >>> recon, rep = m(torch.zeros(3, 7, 40))
    >>> recon.shape, rep.shape, cfg.num_windows
    (torch.Size([3, 7, 40]), torch.Size([3, 7, 32]), 4)
    """

    def __init__(self, config: AutoencoderConfig):
        super().__init__(config)
        if config.architecture != "f-rae":
            raise ValueError(f"FrequencyAutoencoder needs architecture='f-rae', got "
                             f"{config.architecture!r}")
        _warn_dropped_bands(config)
        part = _FrequencyPart(config, config.num_layers, config.num_units,
                              config.bidirectional_encoder, config.bidirectional_decoder)
        self.encoder, self.decoder = part.encoder, part.decoder
        self.direction_projections, self.projection = part.direction_projections, part.projection
        self.fc = nn.Linear(config.encoder_state_size, config.decoder_state_size)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """As :meth:`RecurrentAutoencoder.reset_parameters`."""
        for stack in [*self.encoder, *self.decoder]:
            init_stack(stack, self.config.cell, self.config.gru_variant)
        for lin in (self.fc, self.projection, *self.direction_projections):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)

    def _windows(self, x: Tensor) -> Tensor:
        """``(batch, time, F)`` -> ``(batch * time, N, W)``."""
        c = self.config
        w = window_features(x, c.freq_window_width, c.freq_window_overlap)
        return w.reshape(-1, w.shape[-2], w.shape[-1])

    def _encode(self, x: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        c = self.config
        B, T, _ = x.shape
        win = self._corrupt(self._windows(x), c.encoder_noise)
        per_dir = [run_stack(stack, win, None, d == 1, None, self.dropout)[1]
                   for d, stack in enumerate(self.encoder)]
        rep = torch.tanh(self.fc(_concat_finals(per_dir, c.num_layers, c.cell)))
        rep = rep.view(B, T, -1)
        mask = _time_mask(lengths, B, T, x.device)
        return rep if mask is None else rep * mask

    def _reconstruct(self, representation: Tensor, x: Tensor, lengths, feed_previous_prob
                     ) -> Tensor:
        c = self.config
        B, T, F = x.shape
        if representation.shape != (B, T, c.decoder_state_size):
            raise ValueError(f"representation must have shape ({B}, {T}, "
                             f"{c.decoder_state_size}), got {tuple(representation.shape)}")
        prob = self._feed_prob(feed_previous_prob, c.feed_previous_prob)
        init = split_states(representation.reshape(B * T, -1), c.num_layers, c.num_units,
                            c.decoder_directions, c.cell)
        # decoder inputs: the encoder's windows in reverse order (auDeep's decoder_inputs)
        source = torch.flip(self._windows(x), dims=(1,))
        outs = self._run_decoders(self.decoder, self.direction_projections,
                                  self._decoder_source(source), None, init,
                                  c.decoder_input_shift, prob)
        flat = torch.cat(outs, dim=-1).reshape(B * T, -1)            # (BT, N * dirs * W)
        recon = torch.tanh(self.projection(flat)).view(B, T, F)       # reversed frequencies
        recon = torch.flip(recon, dims=(2,))
        mask = _time_mask(lengths, B, T, x.device)
        return recon if mask is None else recon * mask


class FrequencyTimeAutoencoder(AutoencoderBase):
    """auDeep's frequency-time-recurrent autoencoder, ft-rae (see the module docstring).

    Attributes: ``f_encoder[d][l]`` / ``f_decoder[d][l]`` (frequency windows, ``num_f_*``),
    ``f_direction_projections``, ``f_projection``; ``encoder[d][l]`` / ``decoder[d][l]`` (time,
    ``num_*``), ``fc`` (``encoder_state_size -> decoder_state_size``), ``direction_projections``
    (time decoder, ``num_units -> f_encoder_state_size``), ``f_init`` (``directions *
    f_encoder_state_size -> f_decoder_state_size``). Representation: ``(batch,
    decoder_state_size)``.

    >>> cfg = AutoencoderConfig(num_features=40, architecture="ft-rae", freq_window_width=16,
    ...                         freq_window_overlap=8, num_f_units=8, num_units=12)
    >>> m = FrequencyTimeAutoencoder(cfg).eval()
    >>> recon, rep = m(torch.zeros(3, 7, 40))
    >>> recon.shape, rep.shape
    (torch.Size([3, 7, 40]), torch.Size([3, 12]))
    """

    def __init__(self, config: AutoencoderConfig):
        super().__init__(config)
        c = config
        if c.architecture != "ft-rae":
            raise ValueError(f"FrequencyTimeAutoencoder needs architecture='ft-rae', got "
                             f"{c.architecture!r}")
        _warn_dropped_bands(c)
        part = _FrequencyPart(c, c.num_f_layers, c.num_f_units, c.bidirectional_f_encoder,
                              c.bidirectional_f_decoder)
        self.f_encoder, self.f_decoder = part.encoder, part.decoder
        self.f_direction_projections, self.f_projection = (part.direction_projections,
                                                           part.projection)
        S, H, L = c.f_encoder_state_size, c.num_units, c.num_layers
        self.encoder = nn.ModuleList([make_stack(S, H, L, c.cell, c.gru_variant)
                                      for _ in range(c.encoder_directions)])
        self.fc = nn.Linear(c.encoder_state_size, c.decoder_state_size)
        self.decoder = nn.ModuleList([make_stack(S, H, L, c.cell, c.gru_variant)
                                      for _ in range(c.decoder_directions)])
        self.direction_projections = nn.ModuleList([nn.Linear(H, S)
                                                    for _ in range(c.decoder_directions)])
        self.f_init = nn.Linear(S * c.decoder_directions, c.f_decoder_state_size)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """As :meth:`RecurrentAutoencoder.reset_parameters`."""
        for stack in [*self.f_encoder, *self.f_decoder, *self.encoder, *self.decoder]:
            init_stack(stack, self.config.cell, self.config.gru_variant)
        for lin in (self.fc, self.f_init, self.f_projection, *self.f_direction_projections,
                    *self.direction_projections):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)

    def _windows(self, x: Tensor) -> Tensor:
        c = self.config
        w = window_features(x, c.freq_window_width, c.freq_window_overlap)
        return w.reshape(-1, w.shape[-2], w.shape[-1])

    def _frame_states(self, x: Tensor) -> Tensor:
        """Final states of the frequency encoder for every frame: ``(batch, time, S)``."""
        c = self.config
        B, T, _ = x.shape
        win = self._corrupt(self._windows(x), c.f_encoder_noise)
        per_dir = [run_stack(stack, win, None, d == 1, None, self.dropout)[1]
                   for d, stack in enumerate(self.f_encoder)]
        return _concat_finals(per_dir, c.num_f_layers, c.cell).view(B, T, -1)

    def _encode_states(self, states: Tensor, lengths, outputs: bool = False):
        c = self.config
        inp = self._corrupt(states, c.encoder_noise)
        runs = [run_stack(stack, inp, lengths, d == 1, None, self.dropout)
                for d, stack in enumerate(self.encoder)]
        rep = torch.tanh(self.fc(_concat_finals([r[1] for r in runs], c.num_layers, c.cell)))
        return (rep, [r[0] for r in runs]) if outputs else rep

    def _encode(self, x: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        return self._encode_states(self._frame_states(x), lengths)

    def _encode_with_outputs(self, x: Tensor, lengths: Optional[Tensor] = None):
        return self._encode_states(self._frame_states(x), lengths, outputs=True)

    def forward(self, x, lengths=None, feed_previous_prob: Optional[float] = None):
        # the frequency encoder's states feed both the time encoder and (as targets) the
        # time decoder: compute them once
        x, lengths = self._device_batch(x, lengths)
        states = self._frame_states(x)
        rep = self._encode_states(states, lengths)
        return self._decode(rep, x, states, lengths, feed_previous_prob), rep

    def _reconstruct(self, representation, x, lengths, feed_previous_prob) -> Tensor:
        return self._decode(representation, x, self._frame_states(x), lengths,
                            feed_previous_prob)

    def _decode(self, representation: Tensor, x: Tensor, states: Tensor, lengths,
                feed_previous_prob) -> Tensor:
        c = self.config
        B, T, F = x.shape
        if representation.shape != (B, c.decoder_state_size):
            raise ValueError(f"representation must have shape ({B}, {c.decoder_state_size}), "
                             f"got {tuple(representation.shape)}")
        mask = _time_mask(lengths, B, T, x.device)
        # time decoder: reconstructs the frequency encoder's states, reversed in time
        t_targets = reverse_padded(states, lengths)
        if mask is not None:
            t_targets = t_targets * mask
        prob_t = self._feed_prob(feed_previous_prob, c.feed_previous_prob)
        init_t = split_states(representation, c.num_layers, c.num_units, c.decoder_directions,
                              c.cell)
        outs_t = self._run_decoders(self.decoder, self.direction_projections,
                                    self._decoder_source(t_targets), lengths, init_t,
                                    c.decoder_input_shift, prob_t)
        f_state = torch.tanh(self.f_init(torch.cat(outs_t, dim=-1)))     # (B, T, Sf_dec)
        init_f = split_states(f_state.reshape(B * T, -1), c.num_f_layers, c.num_f_units,
                              len(self.f_decoder), c.cell)
        # frequency decoder: every frame of the input reversed in time and frequency
        targets = torch.flip(reverse_padded(x, lengths), dims=(2,))
        prob_f = self._feed_prob(feed_previous_prob, c.f_feed_previous_prob)
        outs_f = self._run_decoders(self.f_decoder, self.f_direction_projections,
                                    self._decoder_source(self._windows(targets)), None, init_f,
                                    c.decoder_input_shift, prob_f)
        flat = torch.cat(outs_f, dim=-1).reshape(B * T, -1)
        recon = torch.tanh(self.f_projection(flat)).view(B, T, F)     # reversed time + freq
        recon = reverse_padded(torch.flip(recon, dims=(2,)), lengths)
        return recon if mask is None else recon * mask
