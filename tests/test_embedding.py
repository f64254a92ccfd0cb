"""Embedding models (rae_fast.embedding): one exported file from audio to representations.

The reference is the pipeline the package already had: ``preprocess`` + ``generate`` on the
same files with the same settings must give the same numbers (max |diff| < 1e-5) for mel and
autocorrelogram models, with a fixed length and chunked.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pd = pytest.importorskip("pandas")

from rae_fast.audio import resample  # noqa: E402
from rae_fast.dataset import load, read_extra_columns  # noqa: E402
from rae_fast.embedding import Embedder, embed_to_file  # noqa: E402
from rae_fast.inference import generate  # noqa: E402
from rae_fast.model import (AutoencoderConfig, TrainingConfig, export_encoder,  # noqa: E402
                            train)
from rae_fast.preprocessing import FeatureSettings, FrontEnd, preprocess  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")
TOL = 1e-5

SETTINGS = {
    "mel_fixed": FeatureSettings(window_width=0.04, window_overlap=0.02, mel_bands=24,
                                 fixed_length=1.0, center_fixed=True),
    "mel_chunked": FeatureSettings(window_width=0.04, window_overlap=0.02, mel_bands=24,
                                   fixed_length=1.2, chunk_length=0.4, chunk_count=3),
    "acf_fixed": FeatureSettings(features="autocorrelogram", window_width=0.032,
                                 window_overlap=0.016, max_lag=0.004, fixed_length=1.0),
    "acf_chunked": FeatureSettings(features="autocorrelogram", window_width=0.032,
                                   window_overlap=0.016, max_lag=0.004, fixed_length=1.1,
                                   center_fixed=True, chunk_length=0.5, chunk_count=2),
}


def _trained(tmp: Path, ds_path: Path, units: int = 6, bi_enc: bool = True) -> Path:
    """Train a tiny model on a preprocessed set and export it as ``rae-fast`` does."""
    ds = load(ds_path)
    fe = FrontEnd.from_dataset(ds.attrs, ds.feature_dims, ds.feature_shape)
    assert fe is not None
    train(ds.features, tmp / "run", AutoencoderConfig(num_features=ds.feature_shape[1],
                                                          num_units=units,
                                                          bidirectional_encoder=bi_enc),
              TrainingConfig(num_epochs=1, batch_size=8), progress=False, tensorboard=False,
              run_info={"frontend": fe.to_dict()})
    return export_encoder(tmp / "run", tmp / "encoder.onnx")


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """12 clips, 3 labels, 16 kHz, lengths 0.7-1.3 s, wav/flac/ogg, mono and stereo."""
    root = tmp_path_factory.mktemp("coll")
    rng = np.random.default_rng(0)
    for i in range(12):
        label = ("bird", "car", "dog")[i % 3]
        n = int(16000 * (0.7 + 0.05 * i))
        t = np.arange(n) / 16000
        y = 0.3 * np.sin(2 * np.pi * (300 + 200 * (i % 3)) * t) + 0.05 * rng.standard_normal(n)
        if i % 4 == 3:
            y = np.stack([y, 0.5 * y], axis=1)
        ext = (".wav", ".flac", ".ogg")[i % 3]
        path = root / label / f"{label}_{i:02d}{ext}"
        path.parent.mkdir(exist_ok=True)
        sf.write(str(path), y.astype(np.float32), 16000)
    return root


@pytest.fixture(scope="module")
def models(collection, tmp_path_factory):
    """For each setting: (preprocessed set, generate output, encoder path)."""
    out = {}
    for name, s in SETTINGS.items():
        tmp = tmp_path_factory.mktemp(name)
        torch.manual_seed(0)
        preprocess(collection, tmp / "feat.nc", s, workers=2, progress=False)
        enc = _trained(tmp, tmp / "feat.nc")
        generate(enc, tmp / "feat.nc", tmp / "gen.nc", progress=False)
        out[name] = (tmp / "feat.nc", tmp / "gen.nc", enc)
    return out


# ------------------------------------------------------------------------ parity


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_embed_folder_equals_preprocess_plus_generate(models, collection, name):
    feat, gen, enc = models[name]
    ref = load(gen)
    with Embedder(enc, n_threads=1) as emb:
        df = emb.embed_folder(collection, segmentation="preprocess", workers=2)
    names = [str(Path(f).relative_to(collection)) for f in df.index.get_level_values("file")]
    key = {(f, int(c)): i for i, (f, c) in enumerate(zip(ref.filenames, ref.chunk_nr))}
    chunk = df.groupby(level="file", sort=False).cumcount().to_numpy()
    rows = [key[(n, int(c) if c >= 0 else -1)] if (n, int(c)) in key else key[(n, -1)]
            for n, c in zip(names, chunk)]
    assert len(df) == len(ref)
    assert np.abs(df.to_numpy() - ref.features[rows]).max() < TOL


@pytest.mark.parametrize("name", ["mel_fixed", "acf_chunked"])
def test_embed_to_nc_keeps_the_data_model(models, collection, tmp_path, name):
    feat, gen, enc = models[name]
    ref = load(gen)
    with Embedder(enc) as emb:
        res = embed_to_file(emb, [collection], tmp_path / "e.nc", segmentation="preprocess",
                            progress=False)
    out = load(res.path)
    assert res.n_rows == len(ref) == len(out) and out.feature_dims == ("generated",)
    assert list(out.filenames) == list(ref.filenames)
    assert out.label_map == ref.label_map and np.array_equal(out.cv_folds, ref.cv_folds)
    assert np.abs(out.features - ref.features).max() < TOL
    times = read_extra_columns(res.path)
    assert set(times) == {"start", "end"} and (times["end"] > times["start"]).all()


def test_resampled_input_equals_resampling_the_files_first(models, collection, tmp_path):
    """22.05 kHz audio into a 16 kHz model == the files resampled to 16 kHz first."""
    _, _, enc = models["mel_fixed"]
    src = sorted(collection.rglob("*.wav"))[:3]
    at22, at16 = [], []
    for i, f in enumerate(src):
        y, sr = sf.read(str(f), dtype="float32", always_2d=True)
        y22 = resample(y.T.mean(axis=0) if y.shape[1] > 1 else y[:, 0], sr, 22050)
        p22 = tmp_path / f"c{i}_22k.wav"
        sf.write(str(p22), y22, 22050, subtype="FLOAT")
        p16 = tmp_path / f"c{i}_16k.wav"
        sf.write(str(p16), resample(y22, 22050, 16000), 16000, subtype="FLOAT")
        at22.append(p22)
        at16.append(p16)
    with Embedder(enc) as emb:
        a = emb.embed_files(at22).to_numpy()
        b = emb.embed_files(at16).to_numpy()
        y22, _ = sf.read(str(at22[0]), dtype="float32")
        c = emb.embed(y22, 22050)
    assert np.abs(a - b).max() < TOL
    assert np.abs(c - a[:len(c)]).max() < TOL


# ------------------------------------------------------------------------ windows


def test_windows_cover_long_clips_with_times(models):
    _, _, enc = models["mel_fixed"]          # 1 s windows, centred padding
    emb = Embedder(enc)
    y = np.random.default_rng(1).standard_normal(int(16000 * 2.5)).astype(np.float32)
    reps, idx = emb.embed(y, 16000, return_index=True)
    assert reps.shape == (3, emb.embedding_size)
    np.testing.assert_allclose(idx.start, [0.0, 1.0, 1.75])     # last window centred
    assert np.allclose(idx.end - idx.start, 1.0, atol=1e-3)
    reps_h, idx_h = emb.embed(y, 16000, hop=0.5, return_index=True)
    assert len(reps_h) == 4 and np.allclose(idx_h.start[:3], [0.0, 0.5, 1.0])
    assert np.array_equal(reps_h[0], reps[0])                     # same window, same numbers
    short = y[:8000]
    r_short, i_short = emb.embed(short, 16000, return_index=True)
    np.testing.assert_allclose(i_short.start, [-0.25])           # centred in the window
    mean = emb.embed([y, short], 16000, aggregate="mean")
    assert mean.shape == (2, emb.embedding_size)
    np.testing.assert_allclose(mean[0], reps.mean(axis=0), atol=1e-6)
    ms = emb.embed(y, 16000, aggregate="mean+std")
    assert ms.shape == (1, 2 * emb.embedding_size)
    pre = emb.embed(y, 16000, segmentation="preprocess", return_index=True)
    assert len(pre[0]) == 1 and np.isclose(pre[1].start[0], 0.75)  # preprocess' centred cut


def test_a_tail_shorter_than_a_frame_hop_gets_no_window(models):
    from rae_fast.embedding.embedder import window_spans

    _, _, enc = models["mel_fixed"]          # 1 s windows
    emb = Embedder(enc)
    fe = emb.frontend
    L = fe.clip_samples
    _, frame_hop = fe.settings.frame_params(fe.sample_rate, L)
    for tail, windows in [(0, 1), (1, 1), (frame_hop - 1, 1), (frame_hop, 2), (L, 2),
                          (L + frame_hop - 1, 2), (L + frame_hop, 3)]:
        spans = window_spans(fe, L + tail, L)
        assert len(spans) == windows, (tail, spans)
        assert spans[-1][1] >= L + tail - frame_hop + 1       # at most the short tail is left
    half = L // 2                                              # a hop shorter than the frame hop
    assert len(window_spans(fe, L + 1, 1)) == 2
    assert len(window_spans(fe, L + half, half)) == 2
    y = np.random.default_rng(3).standard_normal(L + frame_hop // 2).astype(np.float32)
    reps, idx = emb.embed(y, fe.sample_rate, return_index=True)
    assert reps.shape[0] == 1 and idx.start.tolist() == [0.0]


def test_batches_stereo_and_lists(models):
    _, _, enc = models["mel_chunked"]        # 3 chunks per 1.2 s clip
    emb = Embedder(enc)
    rng = np.random.default_rng(2)
    batch = rng.standard_normal((4, 19200)).astype(np.float32)
    out, idx = emb.embed(batch, 16000, return_index=True)
    assert out.shape == (12, emb.embedding_size) and idx.clip.tolist() == sorted([0, 1, 2, 3] * 3)
    stereo = np.stack([batch[0], batch[0]])
    np.testing.assert_allclose(emb.embed([stereo], 16000), out[:3], atol=TOL)
    with pytest.raises(TypeError, match="floating-point"):
        emb.embed(np.zeros(100, np.int16), 16000)
    with pytest.raises(ValueError, match="non-finite"):
        emb.embed(np.full(20000, np.nan, np.float32), 16000)
    with pytest.raises(ValueError, match="empty"):
        emb.embed(np.zeros(0, np.float32), 16000)
    with pytest.raises(ValueError, match="sr"):
        emb.embed(batch, 0)
    with pytest.raises(ValueError, match="aggregate"):
        emb.embed(batch, 16000, aggregate="max")
    with pytest.raises(ValueError, match="segmentation"):
        emb.embed(batch, 16000, segmentation="sliding")
    with pytest.raises(ValueError, match="hop"):
        emb.embed(batch, 16000, hop=-1.0)
    with pytest.raises(ValueError, match="no clips"):
        emb.embed([], 16000)


def test_frame_embeddings_match_torch_and_are_regular(models, tmp_path):
    feat, _, enc = models["mel_fixed"]
    emb = Embedder(enc)
    y = np.random.default_rng(3).standard_normal(int(16000 * 2.3)).astype(np.float32)
    frames, times = emb.embed_frames([y, y[:12000]], 16000)
    win, hop = emb.frontend.frame_params()
    for f, t, n in zip(frames, times, (len(y), 12000)):
        assert f.shape == (len(t), emb.frame_embedding_size)
        assert np.allclose(np.diff(t), 1000 * hop / 16000)
        assert t[0] >= 0 and t[-1] < 1000 * n / 16000
    from rae_fast.model import load_model
    m = load_model(Path(enc).parent / "run")
    X, _ = emb.features(y[:16000], 16000)
    with torch.no_grad():
        ref = m.encode_frames(torch.from_numpy(X)).numpy()[0]
    np.testing.assert_allclose(frames[0][:ref.shape[0]], ref, atol=TOL)


# ------------------------------------------------------------------------ files and outputs


def test_embed_files_frame_skip_bad_and_errors(models, collection, tmp_path):
    _, _, enc = models["mel_fixed"]
    emb = Embedder(enc)
    good = sorted(collection.rglob("*.flac"))[:2]
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio")
    with pytest.raises(ValueError, match="notes.wav"):
        emb.embed_files(good + [bad])
    df = emb.embed_files(good + [bad], skip_bad=True, aggregate="mean")
    assert df.index.names == ["file", "start", "end"] and len(df) == 2
    assert df.attrs["skipped"][0][0] == str(bad)
    assert isinstance(df.index.get_level_values("start")[0], pd.Timedelta)
    assert list(df.columns[:2]) == ["rae_0", "rae_1"]
    with pytest.raises(NotADirectoryError):
        emb.embed_folder(bad)


def test_outputs_agree_and_resume_after_interruption(models, collection, tmp_path, monkeypatch):
    _, _, enc = models["mel_fixed"]
    emb = Embedder(enc)
    full = embed_to_file(emb, [collection], tmp_path / "full.nc", progress=False)
    ref = load(full.path)
    csv = embed_to_file(emb, [collection], tmp_path / "e.csv", progress=False)
    table = pd.read_csv(csv.path)
    assert list(table.columns[:3]) == ["file", "start", "end"]
    assert np.abs(table.iloc[:, 3:].to_numpy() - ref.features).max() < 1e-6
    pq = embed_to_file(emb, [collection], tmp_path / "e.parquet", progress=False)
    assert np.abs(pd.read_parquet(pq.path).iloc[:, 3:].to_numpy() - ref.features).max() == 0
    assert not list(tmp_path.glob("*.embedding.nc*"))           # no stream file left

    from rae_fast.dataset import DataSetWriter
    monkeypatch.setattr(DataSetWriter, "_FLUSH_BYTES", 1)      # every file durable at once
    real, calls = Embedder.encode, [0]

    def interrupted(self, X):
        calls[0] += 1
        if calls[0] == 2:
            raise KeyboardInterrupt
        return real(self, X)

    monkeypatch.setattr(Embedder, "encode", interrupted)
    emb.batch_size = 1                                          # one file per encode call
    with pytest.raises(KeyboardInterrupt):
        embed_to_file(emb, [collection], tmp_path / "r.csv", workers=1, progress=False)
    assert not (tmp_path / "r.csv").exists()
    assert (tmp_path / "r.csv.embedding.nc.partial").exists()
    monkeypatch.setattr(Embedder, "encode", real)
    res = embed_to_file(emb, [collection], tmp_path / "r.csv", workers=1, progress=False)
    assert res.n_resumed_files == 1
    assert (tmp_path / "r.csv").read_bytes() == csv.path.read_bytes()


def test_model_without_front_end_is_refused_clearly(models, tmp_path):
    feat, _, _ = models["mel_fixed"]
    ds = load(feat)
    r = train(ds.features, tmp_path / "run", AutoencoderConfig(num_features=24, num_units=4),
              TrainingConfig(num_epochs=1, batch_size=8), progress=False, tensorboard=False)
    old = export_encoder(r.model, tmp_path / "old.onnx")        # no front end given
    with pytest.raises(ValueError, match="does not carry its front end.*export-onnx"):
        Embedder(old)
    # generate still works with it
    generate(old, feat, tmp_path / "g.nc", progress=False)
    with pytest.raises(ValueError, match="front end"):
        FrontEnd.from_dict({"format": 99})


@pytest.mark.parametrize("arch", ["ft-rae", "f-rae"])
def test_frequency_models_embed_or_are_refused_clearly(models, collection, tmp_path, arch):
    """ft-rae embeds audio like t-rae (equal to preprocess + generate); f-rae, whose
    representation is per frame, is refused with what to do instead."""
    feat, _, _ = models["mel_fixed"]
    ds = load(feat)
    fe = FrontEnd.from_dataset(ds.attrs, ds.feature_dims, ds.feature_shape)
    torch.manual_seed(0)
    train(ds.features, tmp_path / "run",
          AutoencoderConfig(num_features=ds.feature_shape[1], architecture=arch, num_layers=1,
                            num_units=4, num_f_units=4, freq_window_width=8,
                            freq_window_overlap=4),
          TrainingConfig(num_epochs=1, batch_size=8), progress=False, tensorboard=False,
          run_info={"frontend": fe.to_dict()})
    enc = export_encoder(tmp_path / "run", tmp_path / "encoder.onnx", verify=True)
    if arch == "f-rae":
        with pytest.raises(ValueError, match="f-rae.*per frame.*rae-fast generate"):
            Embedder(enc)
        return
    generate(enc, feat, tmp_path / "gen.nc", progress=False)
    ref = load(tmp_path / "gen.nc")
    with Embedder(enc, n_threads=1) as emb:
        assert emb.embedding_size == 4
        df = emb.embed_folder(collection, segmentation="preprocess", workers=2)
    names = [str(Path(f).relative_to(collection)) for f in df.index.get_level_values("file")]
    rows = [list(ref.filenames).index(n) for n in names]
    assert len(df) == len(ref) == 12
    assert np.abs(df.to_numpy() - ref.features[rows]).max() < TOL


def test_cli_embed(models, collection, tmp_path):
    from rae_fast.cli import main

    _, _, enc = models["acf_fixed"]
    assert main(["embed", "--model", str(enc), str(collection), "--output",
                 str(tmp_path / "a.csv"), "--quiet", "--aggregate", "mean"]) == 0
    table = pd.read_csv(tmp_path / "a.csv")
    assert len(table) == 12 and table.shape[1] == 3 + Embedder(enc).embedding_size
    listing = tmp_path / "files.txt"
    listing.write_text("# two files\n" + "\n".join(
        str(p) for p in sorted(collection.rglob("*.wav"))[:2]) + "\n")
    assert main(["embed", "--model", str(Path(enc).parent), str(listing), "--output",
                 str(tmp_path / "b.nc"), "--quiet"]) == 0
    assert len(load(tmp_path / "b.nc")) == 2
    proc = subprocess.run([sys.executable, "-m", "rae_fast", "embed", "--model", str(enc),
                           str(collection), "--output", str(tmp_path / "x.txt")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--output must end in .csv" in proc.stderr
    (tmp_path / "bad.wav").write_text("not audio")
    code = main(["embed", "--model", str(enc), str(tmp_path / "bad.wav"),
                 str(sorted(collection.rglob("*.wav"))[0]), "--output",
                 str(tmp_path / "c.csv"), "--skip-bad", "--quiet"])
    assert code == 1 and len(pd.read_csv(tmp_path / "c.csv")) == 1


def test_no_torch_on_the_embedding_path(models, collection, tmp_path):
    """``pip install rae_fast[cpu]`` without torch embeds: run with torch made unimportable."""
    _, _, enc = models["mel_chunked"]
    script = textwrap.dedent(f"""
        import sys, importlib.abc
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError("torch is blocked in this test")
        sys.meta_path.insert(0, Block())
        import numpy as np
        import rae_fast
        emb = rae_fast.Embedder({str(enc)!r})
        print(emb.embed(np.zeros(20000, np.float32), 16000).shape)
        df = emb.embed_folder({str(collection)!r}, workers=2)
        from rae_fast.cli import main
        assert main(["embed", "--model", {str(enc)!r}, {str(collection)!r}, "--output",
                     {str(tmp_path / 'n.parquet')!r}, "--quiet"]) == 0
        assert not any(m == "torch" or m.startswith("torch.") for m in sys.modules), "torch"
        print("rows", len(df))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    # 12 clips of 0.7-1.25 s in 1.2 s windows (the last clip needs two) x 3 chunks each
    assert "rows 39" in proc.stdout
