"""Representation diagnostics: reconstruction with real / zeroed / shuffled codes and the
model-free baselines (rae_fast.model.diagnostics), effective dimensionality and linear
predictability (rae_fast.evaluation.diagnostics), and ``rae-fast diagnose``."""
import json

import numpy as np
import pytest

from rae_fast.evaluation.diagnostics import (effective_dimensionality, linear_predictability,
                                             pairwise_predictability,
                                             representation_statistics)


def test_effective_dimensionality_counts_equally_strong_directions():
    rng = np.random.default_rng(0)
    iso = rng.standard_normal((4000, 6))
    assert effective_dimensionality(iso) == pytest.approx(6, rel=0.02)
    line = np.outer(rng.standard_normal(500), rng.standard_normal(40))
    assert effective_dimensionality(line) == pytest.approx(1, abs=1e-6)
    skew = iso * np.array([10, 1, 1, 1, 1, 1])
    assert 1 < effective_dimensionality(skew) < 3
    assert effective_dimensionality(np.ones((5, 3))) == 0.0
    # f-rae's (n, time, R) representations are flattened per instance
    assert effective_dimensionality(iso.reshape(4000, 2, 3)) == pytest.approx(6, rel=0.02)


def test_representation_statistics():
    rng = np.random.default_rng(1)
    x = np.tanh(rng.standard_normal((300, 20)) * np.linspace(3, 0.1, 20))
    s = representation_statistics(x)
    assert s["dimensions"] == 20 and s["n_instances"] == 300
    assert 1 <= s["components_80"] <= s["components_90"] <= 20
    assert 0 < s["variance_top"] <= 1
    assert representation_statistics(np.sign(x))["saturated_fraction"] == 1.0


def test_linear_predictability():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((300, 30))
    assert linear_predictability(a, a @ rng.standard_normal((30, 10))) > 0.99
    assert linear_predictability(a, rng.standard_normal((300, 10))) < 0.05
    half = np.concatenate([a[:, :5], rng.standard_normal((300, 5))], axis=1)
    assert 0.3 < linear_predictability(a, half) < 0.7
    assert linear_predictability(a, a[:, :3], alpha=10.0) > 0.95
    pairs = pairwise_predictability([a, a[:, :3]], ["a", "b"])
    assert [(p["from"], p["to"]) for p in pairs] == [("a", "b"), ("b", "a")]
    with pytest.raises(ValueError, match="same instances"):
        linear_predictability(a, a[:10])
    with pytest.raises(ValueError, match="alpha"):
        linear_predictability(a, a, alpha=0)


torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_reconstruction_diagnostics_separate_code_from_copying(tmp_path):
    from rae_fast.model import AutoencoderConfig, TrainingConfig, build_autoencoder, train
    from rae_fast.model.diagnostics import derangement, frame_baselines, reconstruction_diagnostics

    # smooth sequences: copying the previous frame is already a good prediction
    t = np.linspace(0, 1, 12)
    rng = np.random.default_rng(0)
    x = np.stack([np.sin(2 * np.pi * (f0 * t[:, None] + np.arange(6) / 6))
                  for f0 in rng.uniform(0.5, 2, 16)]).astype(np.float32) * 0.9
    base = frame_baselines(x)
    assert base["neighbour_average"] < base["copy_previous"] < base["zeros"]
    manual = np.concatenate([x[:, 1:], np.zeros_like(x[:, :1])], 1)
    assert base["copy_previous"] == pytest.approx(float(np.sqrt(np.mean((manual - x) ** 2))))
    p = derangement(7, seed=3)
    assert sorted(p) == list(range(7)) and (p != np.arange(7)).all()

    torch.manual_seed(0)
    m = build_autoencoder(AutoencoderConfig(num_features=6, num_units=8))
    d = reconstruction_diagnostics(m, x)
    assert set(d) == {"real", "zeroed", "shuffled", "copy_previous", "neighbour_average",
                      "zeros", "n_instances"} and d["n_instances"] == 16
    with torch.no_grad():
        recon, _ = m.eval()(torch.from_numpy(x))
    assert d["real"] == pytest.approx(float(torch.sqrt(((recon - torch.from_numpy(x)) ** 2)
                                                       .mean())), rel=1e-5)
    # with the decoder blind to the targets, the code is everything
    cfg = AutoencoderConfig(num_features=6, num_units=16, decoder_inputs="none", dropout=0.0)
    r = train(x, tmp_path / "run", cfg, TrainingConfig(num_epochs=30, batch_size=16,
                                                       learning_rate=2e-2), progress=False)
    d = reconstruction_diagnostics(r.model, x, max_instances=10)
    assert d["n_instances"] == 10
    assert d["real"] < d["zeroed"] and d["real"] < d["shuffled"]


def test_diagnose_command(tmp_path, capsys):
    from rae_fast.cli import main
    from rae_fast.dataset import DataSetWriter
    from rae_fast.model import AutoencoderConfig, TrainingConfig, train

    rng = np.random.default_rng(0)
    x = np.tanh(rng.standard_normal((10, 8, 5))).astype(np.float32)
    specs = tmp_path / "specs.nc"
    with DataSetWriter(specs, ("time", "freq"), (8, 5), 0) as w:
        w.append(x, [f"f{i}.wav" for i in range(10)])
    train(x, tmp_path / "run", AutoencoderConfig(num_features=5, num_units=4),
          TrainingConfig(num_epochs=1, batch_size=5), progress=False)
    reps = []
    for k in range(2):
        p = tmp_path / f"r{k}.nc"
        with DataSetWriter(p, ("generated",), (6,), 0) as w:
            w.append(rng.standard_normal((10, 6)).astype(np.float32),
                     [f"f{i}.wav" for i in range(10)])
        reps.append(str(p))
    out = tmp_path / "d.json"
    assert main(["diagnose", "--model", str(tmp_path / "run"), "--input", str(specs),
                 "--representations", *reps, "--json", str(out), "--threads", "1"]) == 0
    text = capsys.readouterr().out
    assert "code zeroed" in text and "copy previous frame" in text and "R^2 predicting" in text
    d = json.loads(out.read_text())
    assert d["model"]["architecture"] == "t-rae" and len(d["representations"]) == 2
    assert len(d["predictability"]) == 2
    assert main(["diagnose", "--representations", reps[0]]) == 0
    assert main(["diagnose"]) == 2
    assert "--representations" in capsys.readouterr().err


def test_mask_silence_in_the_diagnostics():
    from rae_fast.model.diagnostics import frame_baselines

    x = np.full((2, 4, 3), -1.0, np.float32)
    x[:, 1, :] = 0.5
    plain, masked = frame_baselines(x), frame_baselines(x, mask_silence=True)
    assert masked["zeros"] < plain["zeros"]
    assert masked["zeros"] == pytest.approx(np.sqrt(0.25 * 6 / 24))
