"""Hyper-parameters of the recurrent autoencoder (plain data, no torch needed).

:class:`AutoencoderConfig` describes the network (auDeep's ``train time`` options) and
:class:`TrainingConfig` the optimisation (epochs, batch size, learning rate, clipping, seed).
Both validate their fields on construction and round-trip through JSON (``to_dict`` /
``from_dict``), which is how a run directory records them in ``config.json``.

>>> cfg = AutoencoderConfig(num_features=128, num_layers=2, num_units=256,
...                         bidirectional_decoder=True)
>>> cfg.encoder_state_size, cfg.decoder_state_size, cfg.representation_size
(512, 1024, 1024)
>>> AutoencoderConfig.from_dict(cfg.to_dict()) == cfg
True
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, Mapping

from .._validation import check_bool, check_float, check_int

__all__ = ["AutoencoderConfig", "TrainingConfig", "CELLS"]

#: Recurrent cell types (auDeep's ``--cell``).
CELLS = ("gru", "lstm")


def _from_dict(cls, data: Mapping[str, Any]):
    if not isinstance(data, Mapping):
        raise TypeError(f"{cls.__name__}.from_dict expects a dict, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s) {unknown}; known: {sorted(names)}")
    return cls(**dict(data))


@dataclass(frozen=True)
class AutoencoderConfig:
    """Architecture of the recurrent sequence-to-sequence autoencoder (auDeep's time autoencoder).

    Parameters
    ----------
    num_features : int
        Size of one input frame (mel bands, or lags for autocorrelograms): the ``F`` of the
        ``(batch, time, F)`` input.
    num_layers : int
        Recurrent layers of the encoder and of the decoder (auDeep default 1; the paper: 2).
    num_units : int
        Units per layer (auDeep default 16; the paper: 256).
    cell : {"gru", "lstm"}
        Recurrent cell type.
    bidirectional_encoder, bidirectional_decoder : bool
        Run a second, independent stack of layers over the reversed sequence.
    dropout : float in [0, 1)
        Probability of dropping an activation on the inputs and on the outputs of every
        recurrent layer (``1 - keep_prob``; auDeep's default ``keep_prob=0.8`` is ``0.2``). Not
        applied to the recurrent hidden states. Training only.
    encoder_noise : float in [0, 1)
        Probability of replacing a whole input time step (all features) by zeros before the
        encoder. Training only.
    feed_previous_prob : float in [0, 1]
        Probability, per time step and instance, that the unidirectional decoder gets its own
        previous output instead of the expected one. Training only; must be 0 with a
        bidirectional decoder.

    Attributes
    ----------
    encoder_state_size : int
        ``num_layers * num_units * (2 if lstm) * (2 if bidirectional_encoder)``: length of the
        concatenated final encoder states.
    decoder_state_size, representation_size : int
        The same for the decoder; the representation has exactly this size because it is split
        into the decoder's initial states.

    Example
    -------
    >>> cfg = AutoencoderConfig(num_features=64, cell="lstm", bidirectional_encoder=True)
    >>> cfg.encoder_state_size        # 1 layer x 16 units x (c, h) x 2 directions
    64
    """

    num_features: int
    num_layers: int = 1
    num_units: int = 16
    cell: str = "gru"
    bidirectional_encoder: bool = False
    bidirectional_decoder: bool = False
    dropout: float = 0.2
    encoder_noise: float = 0.0
    feed_previous_prob: float = 0.0

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "num_features", check_int(self.num_features, "num_features", 1))
        set_(self, "num_layers", check_int(self.num_layers, "num_layers", 1))
        set_(self, "num_units", check_int(self.num_units, "num_units", 1))
        if not isinstance(self.cell, str):
            raise TypeError(f"cell must be 'gru' or 'lstm', got {self.cell!r}")
        cell = self.cell.lower()
        if cell not in CELLS:
            raise ValueError(f"cell must be 'gru' or 'lstm', got {self.cell!r}")
        set_(self, "cell", cell)
        set_(self, "bidirectional_encoder", check_bool(self.bidirectional_encoder, "bidirectional_encoder"))
        set_(self, "bidirectional_decoder", check_bool(self.bidirectional_decoder, "bidirectional_decoder"))
        set_(self, "dropout", check_float(self.dropout, "dropout", 0.0, 1.0, strict_max=True))
        set_(self, "encoder_noise", check_float(self.encoder_noise, "encoder_noise", 0.0, 1.0,
                                                        strict_max=True))
        set_(self, "feed_previous_prob", check_float(self.feed_previous_prob, "feed_previous_prob",
                                                             0.0, 1.0))
        if self.bidirectional_decoder and self.feed_previous_prob > 0:
            raise ValueError("feed_previous_prob must be 0 with a bidirectional decoder (a decoder "
                             "can only feed back its previous output when it runs in one "
                             "direction)")

    # derived sizes ------------------------------------------------------------------------
    @property
    def state_pieces(self) -> int:
        """State tensors per layer and direction: 1 for GRU (h), 2 for LSTM (c, h)."""
        return 2 if self.cell == "lstm" else 1

    @property
    def encoder_directions(self) -> int:
        """1, or 2 for a bidirectional encoder."""
        return 2 if self.bidirectional_encoder else 1

    @property
    def decoder_directions(self) -> int:
        """1, or 2 for a bidirectional decoder."""
        return 2 if self.bidirectional_decoder else 1

    @property
    def encoder_state_size(self) -> int:
        """Length of the concatenated final states of all encoder layers and directions."""
        return self.num_layers * self.num_units * self.state_pieces * self.encoder_directions

    @property
    def decoder_state_size(self) -> int:
        """Total initial-state size of the decoder (= the representation size)."""
        return self.num_layers * self.num_units * self.state_pieces * self.decoder_directions

    @property
    def representation_size(self) -> int:
        """Length of the learnt representation (the decoder's total state size)."""
        return self.decoder_state_size

    # (de)serialisation -------------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        """The fields as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "AutoencoderConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        return _from_dict(cls, data)

    def replace(self, **changes) -> "AutoencoderConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation settings (auDeep's defaults; the paper used the same except the epochs).

    Parameters
    ----------
    num_epochs : int
        Passes over the training data (auDeep default 10).
    batch_size : int
        Instances per step (64).
    learning_rate : float
        Adam's step size (1e-3).
    clip_value : float
        Every gradient entry is clipped to ``[-clip_value, clip_value]`` (2.0), as auDeep does.
    seed : int
        Seeds the weights, dropout, encoder noise, feed-previous decisions and the data order.
        The same seed and data give bit-identical weights on the same machine and thread count,
        also across ``--continue``.
    shuffle : bool
        Visit the instances in a new random order every epoch (True).

    Example
    -------
    >>> TrainingConfig(num_epochs=3).batch_size
    64
    """

    num_epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    clip_value: float = 2.0
    seed: int = 0
    shuffle: bool = True

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "num_epochs", check_int(self.num_epochs, "num_epochs", 1))
        set_(self, "batch_size", check_int(self.batch_size, "batch_size", 1))
        for name in ("learning_rate", "clip_value"):
            set_(self, name, check_float(getattr(self, name), name, 0.0, strict_min=True))
        set_(self, "seed", check_int(self.seed, "seed", 0))
        set_(self, "shuffle", check_bool(self.shuffle, "shuffle"))

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainingConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        return _from_dict(cls, data)

    def replace(self, **changes) -> "TrainingConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)
