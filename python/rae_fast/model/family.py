"""auDeep's model family by name: ``build_autoencoder(config)`` picks t-rae, f-rae or ft-rae.

>>> from rae_fast.model import AutoencoderConfig, build_autoencoder
>>> type(build_autoencoder(AutoencoderConfig(num_features=40, architecture="ft-rae"))).__name__
'FrequencyTimeAutoencoder'
"""
from __future__ import annotations

from typing import Dict, Type

from .autoencoder import AutoencoderBase, RecurrentAutoencoder
from .config import AutoencoderConfig
from .frequency import FrequencyAutoencoder, FrequencyTimeAutoencoder

__all__ = ["MODEL_CLASSES", "build_autoencoder"]

#: ``config.architecture`` -> the class that builds it.
MODEL_CLASSES: Dict[str, Type[AutoencoderBase]] = {
    "t-rae": RecurrentAutoencoder,
    "f-rae": FrequencyAutoencoder,
    "ft-rae": FrequencyTimeAutoencoder,
}


def build_autoencoder(config: AutoencoderConfig) -> AutoencoderBase:
    """A new, freshly initialised autoencoder of ``config.architecture`` (draws its initial
    weights from torch's global generator).

    >>> m = build_autoencoder(AutoencoderConfig(num_features=8))
    >>> type(m).__name__, m.config.representation_size
    ('RecurrentAutoencoder', 16)
    """
    if not isinstance(config, AutoencoderConfig):
        raise TypeError(f"config must be an AutoencoderConfig, got {type(config).__name__}")
    return MODEL_CLASSES[config.architecture](config)
