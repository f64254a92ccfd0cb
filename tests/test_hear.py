"""The HEAR 2021 API (rae_fast.hear): the checks of the official ``hear-validator`` re-created
(it needs TensorFlow, which this project does not install; when it is importable, it runs too)."""
from __future__ import annotations

import importlib.util
import warnings

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from rae_fast import hear  # noqa: E402
from rae_fast.model import (AutoencoderConfig, RecurrentAutoencoder,  # noqa: E402
                            export_encoder)
from rae_fast.preprocessing import FeatureSettings, FrontEnd  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _model(tmp_path, sr=8000, seconds=1.0, chunks=None, bi=True, frames=True):
    s = FeatureSettings(window_width=0.032, window_overlap=0.016, mel_bands=20,
                        fixed_length=seconds, center_fixed=True,
                        chunk_length=None if chunks is None else 0.5,
                        chunk_count=chunks)
    clip = int(seconds * sr)
    fe = FrontEnd(s, sr, clip, s.feature_dims, s.expected_shape(clip, sr))
    torch.manual_seed(0)
    m = RecurrentAutoencoder(AutoencoderConfig(num_features=20, num_units=5,
                                               bidirectional_encoder=bi)).eval()
    return export_encoder(m, tmp_path / f"enc_{sr}_{chunks}.onnx", frontend=fe)


@pytest.mark.parametrize("sr, chunks", [(8000, None), (16000, 2), (44100, None), (12000, None)])
def test_validator_checks(tmp_path, sr, chunks):
    """What ``hear-validator rae_fast.hear -m encoder.onnx`` checks, step by step."""
    model = hear.load_model(str(_model(tmp_path, sr, 1.0 if chunks is None else 1.1,
                                       chunks=chunks)))
    assert isinstance(model, torch.nn.Module)
    assert model.sample_rate in (16000, 22050, 44100, 48000)
    assert model.sample_rate >= sr
    assert isinstance(model.scene_embedding_size, int)
    assert isinstance(model.timestamp_embedding_size, int)
    # timestamp embeddings: 16 sounds of white noise, 2 s
    audio = torch.rand((16, int(2.0 * model.sample_rate))) * 2 - 1
    emb, ts = hear.get_timestamp_embeddings(audio, model)
    assert emb.dtype == torch.float32 and emb.shape[0] == 16
    assert emb.shape[:2] == ts.shape and emb.shape[2] == model.timestamp_embedding_size
    diff = torch.diff(ts)
    avg = torch.mean(diff.float())
    assert avg <= 50.0                                  # the validator only warns above
    assert torch.all(torch.abs(diff - avg) < 1e-3)
    assert float(ts.min()) >= 0 and float(ts.max()) < 2000.0
    # scene embeddings: 8 sounds, 3.74 s
    audio = torch.rand((8, int(3.74 * model.sample_rate))) * 2 - 1
    scene = hear.get_scene_embeddings(audio, model)
    assert scene.dtype == torch.float32 and scene.shape == (8, model.scene_embedding_size)
    assert torch.isfinite(scene).all()


def test_any_length_and_consistency(tmp_path):
    model = hear.load_model(str(_model(tmp_path)))
    for seconds in (0.05, 0.5, 1.0, 4.3):
        audio = torch.rand((3, int(seconds * model.sample_rate))) * 2 - 1
        e, t = hear.get_timestamp_embeddings(audio, model)
        s = hear.get_scene_embeddings(audio, model)
        assert e.shape[0] == 3 and s.shape == (3, model.scene_embedding_size)
        assert t.shape[1] >= 1
    # a batch equals its sounds one by one
    audio = torch.rand((4, 20000)) * 2 - 1
    whole = hear.get_scene_embeddings(audio, model)
    one = torch.cat([hear.get_scene_embeddings(audio[i:i + 1], model) for i in range(4)])
    assert torch.allclose(whole, one, atol=1e-6)


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="model_file_path"):
        hear.load_model()
    model = hear.load_model(str(_model(tmp_path)))
    with pytest.raises(ValueError, match="2-D"):
        hear.get_scene_embeddings(torch.zeros(100), model)
    with pytest.raises(ValueError, match="empty"):
        hear.get_scene_embeddings(torch.zeros((2, 0)), model)
    with pytest.raises(TypeError, match="load_model"):
        hear.get_scene_embeddings(torch.zeros((1, 100)), object())


@pytest.mark.skipif(importlib.util.find_spec("hearvalidator") is None
                    or importlib.util.find_spec("tensorflow") is None,
                    reason="hear-validator (needs TensorFlow) is not installed")
def test_official_validator(tmp_path):  # pragma: no cover - optional
    from hearvalidator.validate import ValidateModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ValidateModel("rae_fast.hear", str(_model(tmp_path)), "cpu")()
