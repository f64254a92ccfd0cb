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
from typing import Any, Dict, Mapping, Optional

from .._validation import check_bool, check_float, check_int

__all__ = ["AutoencoderConfig", "TrainingConfig", "CELLS", "ARCHITECTURES", "GRU_VARIANTS",
           "DECODER_PROJECTIONS", "DECODER_INPUTS"]

#: Recurrent cell types (auDeep's ``--cell``).
CELLS = ("gru", "lstm")
#: auDeep's autoencoders: time-recurrent, frequency-recurrent, frequency-time-recurrent.
ARCHITECTURES = ("t-rae", "f-rae", "ft-rae")
#: GRU formulations: PyTorch's (reset gate after the recurrent product, ONNX
#: ``linear_before_reset=1``) or TensorFlow's ``GRUCell`` that auDeep used (before it, ``=0``).
GRU_VARIANTS = ("pytorch", "tensorflow")
#: Decoder output layers: one linear + tanh over all directions (the paper), or auDeep's
#: per-direction linear + tanh followed by a second linear + tanh over their concatenation.
DECODER_PROJECTIONS = ("single", "per-direction")
#: What the decoder reads at each step: the expected earlier output (teacher forcing) or nothing.
DECODER_INPUTS = ("targets", "none")


def _choice(value, name: str, choices) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}, got "
                         f"{value!r}")
    return value.lower()


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
        Probability, per time step and instance, that the decoder gets its own previous output
        instead of the expected one. Training only. A bidirectional decoder needs
        ``decoder_projection='per-direction'`` (each direction feeds back its own projection,
        as in auDeep).

    architecture : {"t-rae", "f-rae", "ft-rae"}
        auDeep's model family. ``t-rae`` (default): recurrent along time, one representation
        per instance. ``f-rae``: recurrent along frequency -- every frame's spectrum is cut
        into windows of ``freq_window_width`` bands (``freq_window_overlap`` shared) that the
        encoder reads in order; one representation per *frame*, ``(time, R)`` per instance.
        ``ft-rae``: a frequency encoder per frame (``num_f_*`` options) whose final states
        form the sequence a time encoder reads (``num_layers``, ``num_units``, ...); one
        representation per instance.
    freq_window_width, freq_window_overlap : int
        Frequency windows of f-rae / ft-rae (auDeep's defaults 32 and 24): ``(F - width) //
        (width - overlap) + 1`` windows; bands past the last window are left out (a warning).
    num_f_layers, num_f_units, bidirectional_f_encoder, bidirectional_f_decoder,
    f_encoder_noise, f_feed_previous_prob
        The frequency part of ft-rae (auDeep's ``--num-f-layers`` ... defaults 1 layer of 64
        units). For ft-rae the un-prefixed options describe the time part.
    gru_variant : {"pytorch", "tensorflow"}
        ``tensorflow``: TensorFlow's ``GRUCell`` as auDeep used it -- the reset gate multiplies
        the state *before* the recurrent matrix product (ONNX ``linear_before_reset=0``) and the
        kernels are initialised Glorot-uniform over TensorFlow's concatenated ``[input, state]``
        matrices. ``pytorch`` (default): ``torch.nn.GRU``'s formula (``linear_before_reset=1``).
    decoder_projection : {"single", "per-direction"} or None
        t-rae's decoder output: ``single`` (default for t-rae, the paper): one linear + tanh
        over the concatenated directions; ``per-direction`` (auDeep's code): each direction
        projected to ``F`` with tanh (what it feeds back), then linear + tanh over their
        concatenation. f-rae / ft-rae always project per direction (``None`` resolves to it).
    decoder_input_shift : {1, 2}
        The decoder's forward direction reads the expected frame this many steps back: 1 (the
        paper) or 2 (auDeep's code, where ``raw_rnn`` reads the already shifted inputs one step
        late).
    decoder_inputs : {"targets", "none"}
        ``none``: the decoders read zeros instead of the expected earlier outputs, so every bit
        of the reconstruction must come through the representation (with feed-previous, their
        own outputs). Default ``targets`` (teacher forcing).
    decoder_input_dropout : float in [0, 1)
        Training only: probability of replacing a whole teacher-forcing input step of the
        decoders by zeros (so the decoder must lean on the representation).

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
    architecture: str = "t-rae"
    freq_window_width: int = 32
    freq_window_overlap: int = 24
    num_f_layers: int = 1
    num_f_units: int = 64
    bidirectional_f_encoder: bool = False
    bidirectional_f_decoder: bool = False
    f_encoder_noise: float = 0.0
    f_feed_previous_prob: float = 0.0
    gru_variant: str = "pytorch"
    decoder_projection: Optional[str] = None
    decoder_input_shift: int = 1
    decoder_inputs: str = "targets"
    decoder_input_dropout: float = 0.0

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
        arch = _choice(self.architecture, "architecture", ARCHITECTURES)
        set_(self, "architecture", arch)
        for name in ("freq_window_width", "num_f_layers", "num_f_units"):
            set_(self, name, check_int(getattr(self, name), name, 1))
        set_(self, "freq_window_overlap", check_int(self.freq_window_overlap,
                                                    "freq_window_overlap", 0))
        for name in ("bidirectional_f_encoder", "bidirectional_f_decoder"):
            set_(self, name, check_bool(getattr(self, name), name))
        set_(self, "f_encoder_noise", check_float(self.f_encoder_noise, "f_encoder_noise", 0.0,
                                                  1.0, strict_max=True))
        set_(self, "f_feed_previous_prob", check_float(self.f_feed_previous_prob,
                                                       "f_feed_previous_prob", 0.0, 1.0))
        set_(self, "gru_variant", _choice(self.gru_variant, "gru_variant", GRU_VARIANTS))
        if self.gru_variant == "tensorflow" and self.cell != "gru":
            raise ValueError("gru_variant='tensorflow' needs cell='gru'")
        proj = self.decoder_projection
        if proj is None:
            proj = "single" if arch == "t-rae" else "per-direction"
        proj = _choice(proj, "decoder_projection", DECODER_PROJECTIONS)
        if arch != "t-rae" and proj != "per-direction":
            raise ValueError(f"decoder_projection must be 'per-direction' for {arch} (its "
                             "decoders always project each direction, as auDeep's do)")
        set_(self, "decoder_projection", proj)
        set_(self, "decoder_input_shift", check_int(self.decoder_input_shift,
                                                    "decoder_input_shift", 1, 2))
        set_(self, "decoder_inputs", _choice(self.decoder_inputs, "decoder_inputs",
                                             DECODER_INPUTS))
        set_(self, "decoder_input_dropout", check_float(self.decoder_input_dropout,
                                                        "decoder_input_dropout", 0.0, 1.0,
                                                        strict_max=True))
        if arch != "t-rae":
            if self.freq_window_overlap >= self.freq_window_width:
                raise ValueError(f"freq_window_overlap ({self.freq_window_overlap}) must be "
                                 f"smaller than freq_window_width ({self.freq_window_width})")
            if self.freq_window_width > self.num_features:
                raise ValueError(f"freq_window_width ({self.freq_window_width}) must not exceed "
                                 f"num_features ({self.num_features})")
        if proj == "single" and self.bidirectional_decoder and self.feed_previous_prob > 0:
            raise ValueError("feed_previous_prob must be 0 with a bidirectional decoder and "
                             "decoder_projection='single' (each direction can feed back its own "
                             "output only with decoder_projection='per-direction', as in auDeep)")

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
        """Length of the learnt representation (the decoder's total state size); for f-rae the
        length of one frame's representation."""
        return self.decoder_state_size

    @property
    def frame_representation(self) -> bool:
        """True for f-rae, whose representation is one vector per frame, ``(time, R)``."""
        return self.architecture == "f-rae"

    @property
    def num_windows(self) -> int:
        """Frequency windows per frame (f-rae, ft-rae; 0 for t-rae)."""
        if self.architecture == "t-rae":
            return 0
        step = self.freq_window_width - self.freq_window_overlap
        return (self.num_features - self.freq_window_width) // step + 1

    @property
    def f_encoder_state_size(self) -> int:
        """ft-rae: final-state size of the frequency encoder (the time encoder's input size)."""
        return (self.num_f_layers * self.num_f_units * self.state_pieces
                * (2 if self.bidirectional_f_encoder else 1))

    @property
    def f_decoder_state_size(self) -> int:
        """ft-rae: initial-state size of the frequency decoder."""
        return (self.num_f_layers * self.num_f_units * self.state_pieces
                * (2 if self.bidirectional_f_decoder else 1))

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
    mask_silence : bool
        auDeep's ``--mask-silence``: spectrogram values at the -1 floor (digital silence,
        padding, everything clipped) contribute no error to the loss -- the reconstruction is
        taken as exact there -- while the mean still runs over all values (False).

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
    mask_silence: bool = False

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "num_epochs", check_int(self.num_epochs, "num_epochs", 1))
        set_(self, "batch_size", check_int(self.batch_size, "batch_size", 1))
        for name in ("learning_rate", "clip_value"):
            set_(self, name, check_float(getattr(self, name), name, 0.0, strict_min=True))
        set_(self, "seed", check_int(self.seed, "seed", 0))
        set_(self, "shuffle", check_bool(self.shuffle, "shuffle"))
        set_(self, "mask_silence", check_bool(self.mask_silence, "mask_silence"))

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
