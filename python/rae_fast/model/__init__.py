"""The recurrent autoencoder: model (PyTorch), training, and ONNX export.

Needs the ``train`` extra (``pip install 'rae_fast[train]'``: torch, onnx, onnxscript).
Serving an exported model needs only ONNX Runtime: see :mod:`rae_fast.inference`.

>>> from rae_fast.model import AutoencoderConfig, RecurrentAutoencoder
>>> RecurrentAutoencoder(AutoencoderConfig(num_features=128, num_layers=2, num_units=256,
...                                        bidirectional_decoder=True)).config.representation_size
1024
"""
from .config import ARCHITECTURES, CELLS, AutoencoderConfig, TrainingConfig

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("rae_fast.model needs PyTorch: pip install 'rae_fast[train]' (on machines "
                      "without CUDA install the CPU build of torch first)") from exc

from .autoencoder import AutoencoderBase, RecurrentAutoencoder, reverse_padded, rmse  # noqa: E402
from .frequency import FrequencyAutoencoder, FrequencyTimeAutoencoder  # noqa: E402
from .family import MODEL_CLASSES, build_autoencoder  # noqa: E402
from .onnx_export import export_autoencoder, export_encoder  # noqa: E402
from .decoder_export import decode_free_running, export_decoder  # noqa: E402
from .runner import TorchModelRunner  # noqa: E402
from .checkpoints import (latest_checkpoint, list_checkpoints, load_checkpoint,  # noqa: E402
                          load_model, read_run_config)
from .devices import resolve_device  # noqa: E402
from .training import TrainResult, train  # noqa: E402

__all__ = ["CELLS", "ARCHITECTURES", "AutoencoderConfig", "TrainingConfig", "AutoencoderBase",
           "RecurrentAutoencoder", "FrequencyAutoencoder", "FrequencyTimeAutoencoder",
           "MODEL_CLASSES", "build_autoencoder", "rmse",
           "reverse_padded", "train", "TrainResult", "load_model", "load_checkpoint",
           "latest_checkpoint", "list_checkpoints", "read_run_config", "resolve_device",
           "export_encoder", "export_autoencoder", "export_decoder", "decode_free_running",
           "TorchModelRunner"]
