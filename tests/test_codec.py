"""Back to sound (rae_fast.codec, rae_fast.preprocessing.inverse, the free-running decoder):
offsets that undo the feature scaling exactly, features -> audio against the original, the
decoder's ONNX graph against PyTorch, the code file (round trip, truncation, corruption,
resume), encode/decode of a messy folder (rates, channels, formats, lengths), resume and
atomic outputs, and the bad inputs of the issue: codes of another model, a truncated code
file, an encoder-only model, a data set without offsets -> clear errors, nothing written."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

import torch  # noqa: E402

from rae_fast import dsp  # noqa: E402
from rae_fast.cli import main  # noqa: E402
from rae_fast.codec import (CodeFileError, decode_codes, encode_files,  # noqa: E402
                            log_spectral_distance, read_codes, spectral_convergence)
from rae_fast.codec import decode as decode_mod  # noqa: E402
from rae_fast.codec.codefile import CodeHeader, CodeRecord, CodeWriter  # noqa: E402
from rae_fast.dataset import load, read_extra_columns, save  # noqa: E402
from rae_fast.inference import OnnxDecoder  # noqa: E402
from rae_fast.model import (AutoencoderConfig, RecurrentAutoencoder, TrainingConfig,  # noqa: E402
                            decode_free_running, export_autoencoder, export_decoder,
                            export_encoder, train)
from rae_fast.model.decoder_export import encoder_content_sha256  # noqa: E402
from rae_fast.preprocessing import (OFFSET_COLUMNS, FeatureSettings, FrontEnd,  # noqa: E402
                                    compute_features, preprocess)
from rae_fast.preprocessing.inverse import denormalize, features_to_audio  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SR = 16000
MEL = FeatureSettings(window_width=0.04, window_overlap=0.02, mel_bands=32, fixed_length=1.0,
                      center_fixed=True, sr=SR)
MEL_CHUNKED = FeatureSettings(window_width=0.032, window_overlap=0.016, mel_bands=40,
                              fixed_length=1.25, chunk_length=0.4, chunk_count=3, sr=SR)
ACF = FeatureSettings(features="autocorrelogram", window_width=0.032, window_overlap=0.016,
                      max_lag=0.004, fixed_length=1.0, sr=SR)


def _tone(n, sr=SR, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    f0 = rng.uniform(200, 600)
    y = sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in (1, 2, 3))
    return (y * np.hanning(n) + 0.01 * rng.standard_normal(n)).astype(np.float32)


# ------------------------------------------------------------------ offsets and inversion

@pytest.mark.parametrize("settings", [MEL, MEL_CHUNKED, ACF], ids=["mel", "chunked", "acf"])
def test_offsets_do_not_change_the_features(settings):
    y = _tone(int(SR * settings.fixed_length), seed=1)
    X = compute_features(y, SR, settings)
    X2, off = compute_features(y, SR, settings, return_offsets=True)
    np.testing.assert_array_equal(X, X2)
    assert set(off) == set(OFFSET_COLUMNS)
    assert all(v.shape == (X.shape[0],) for v in off.values())


@pytest.mark.parametrize("settings", [MEL, MEL_CHUNKED], ids=["mel", "chunked"])
def test_denormalize_gives_back_the_db_spectrogram(settings):
    """Normalised features + offsets -> exactly the dB spectrogram auDeep scaled (float32)."""
    y = _tone(int(SR * settings.fixed_length), seed=2)
    X, off = compute_features(y, SR, settings, return_offsets=True)
    win, hop = settings.frame_params(SR, None)
    db = dsp.spectrogram(y, SR, n_mels=settings.mel_bands, clip_below=settings.clip_below,
                         clip_above=settings.clip_above, pre_emphasis=settings.pre_emphasis,
                         mean_norm=False, win_length=win, hop_length=hop)   # (F, frames)
    ref = db.T[: X.shape[0] * X.shape[1]].reshape(X.shape)
    got = denormalize(X, settings, off)
    np.testing.assert_allclose(got, ref, atol=1e-4 * max(1.0, np.abs(ref).max()))
    # and the reference level is the clip's largest mel power: 0 dB is its maximum
    assert ref.max() == pytest.approx(0.0, abs=1e-5)
    assert np.isfinite(off["ref_db"]).all()


@pytest.mark.parametrize("settings", [MEL, MEL_CHUNKED, ACF], ids=["mel", "chunked", "acf"])
@pytest.mark.parametrize("seed", [0, 3])
def test_features_to_audio_gives_back_the_features(settings, seed):
    """Unencoded features -> audio -> features again: close to where they started (the
    spectral envelope survives; the phase is Griffin-Lim's), far closer than another clip's
    features, closer with Griffin-Lim iterations than without."""
    n = int(SR * settings.fixed_length)
    y = _tone(n, seed=seed)
    X, off = compute_features(y, SR, settings, return_offsets=True)
    z = features_to_audio(X, settings, SR, off, n_iter=48)
    win, hop = settings.frame_params(SR, None)
    frames = X.shape[0] * X.shape[1]
    assert z.shape == (1, (frames - 1) * hop + win) and z.dtype == np.float32
    assert np.isfinite(z).all()
    inner = slice(2, X.shape[1] - 2)           # the first / last half window come out silent

    def err(sig):
        Z = compute_features(np.pad(sig, (0, max(0, n - len(sig))))[:n], SR, settings)
        return float(np.sqrt(np.mean((Z[:, inner] - X[:, inner]) ** 2)))

    e48, other = err(z[0]), err(_tone(n, seed=seed + 10))
    # observed: mel 0.07-0.15 (librosa's Griffin-Lim from the exact linear magnitude: 0.04-0.08;
    # the mel bands lose the rest), autocorrelograms 0.24 (64 lags: a smoothed spectrum);
    # another tone: 0.5-0.65, noise 0.45
    spec = settings.features == "spectrogram"
    assert e48 < (0.17 if spec else 0.28) and e48 < 0.5 * other, (e48, other)
    if spec:
        assert e48 < err(features_to_audio(X, settings, SR, off, n_iter=0)[0])
    # the level is put back: within 1.5 dB of the original's energy
    e = 10 * np.log10(np.mean(z[0, win:-win] ** 2) / np.mean(y[win:len(z[0]) - win] ** 2))
    assert abs(e) < 1.5, e


def test_features_to_audio_bad_input():
    X, off = compute_features(_tone(SR), SR, MEL, return_offsets=True)
    with pytest.raises(ValueError, match="offsets are missing"):
        features_to_audio(X, MEL, SR, None)
    with pytest.raises(ValueError, match="lack norm_db_max"):
        features_to_audio(X, MEL, SR, {k: v for k, v in off.items() if k != "norm_db_max"})
    with pytest.raises(ValueError, match="one value per instance"):
        features_to_audio(X, MEL, SR, {k: np.r_[v, v] for k, v in off.items()})
    with pytest.raises(ValueError, match="multiple of chunks"):
        features_to_audio(np.concatenate([X, X]), MEL, SR,
                          {k: np.r_[v, v] for k, v in off.items()}, chunks=3)


# ------------------------------------------------------------------------------ metrics

def test_metrics_against_numpy_and_known_values():
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(0)
    a = rng.standard_normal(SR).astype(np.float32)
    b = (a + 0.3 * rng.standard_normal(SR)).astype(np.float32)
    A = np.abs(librosa.stft(a, n_fft=1024, hop_length=256)).astype(np.float64)
    B = np.abs(librosa.stft(b, n_fft=1024, hop_length=256)).astype(np.float64)
    sc = np.linalg.norm(A - B) / np.linalg.norm(A)
    assert spectral_convergence(a, b, n_fft=1024, hop_length=256) == pytest.approx(sc, rel=1e-4)
    fl = (A ** 2).max() * 1e-8
    lsd = np.mean(np.sqrt(np.mean((10 * np.log10(np.maximum(A ** 2, fl))
                                   - 10 * np.log10(np.maximum(B ** 2, fl))) ** 2, axis=0)))
    assert log_spectral_distance(a, b, n_fft=1024, hop_length=256) == pytest.approx(lsd,
                                                                                   rel=1e-3)
    # twice as loud: SC 1, LSD 20 log10 2 = 6.02 dB; the same signal: 0
    assert spectral_convergence(a, 2 * a) == pytest.approx(1.0, rel=1e-5)
    assert log_spectral_distance(a, 2 * a) == pytest.approx(20 * np.log10(2), rel=1e-3)
    assert spectral_convergence(a, a) == 0.0 and log_spectral_distance(a, a) == 0.0
    # lengths: the shorter one counts
    assert spectral_convergence(a, np.r_[a, a]) == 0.0


# -------------------------------------------------------------------- free-running decoder

@pytest.mark.parametrize("cell,layers,bi_enc", [("gru", 1, False), ("gru", 2, True),
                                                ("lstm", 2, False)])
def test_onnx_decoder_equals_pytorch(tmp_path, cell, layers, bi_enc):
    torch.manual_seed(0)
    m = RecurrentAutoencoder(AutoencoderConfig(num_features=7, num_units=5, num_layers=layers,
                                               cell=cell, bidirectional_encoder=bi_enc)).eval()
    path = export_decoder(m, tmp_path / "decoder.onnx", verify=True)
    dec = OnnxDecoder(path, n_threads=2)
    x = torch.randn(5, 9, 7)
    with torch.no_grad():
        rep = m.encode(x)
        free, rep2 = m.reconstruct(x, free_running=True)
    ref = decode_free_running(m, rep, 9).numpy()
    got = dec.decode(rep.numpy(), 9)
    assert got.shape == (5, 9, 7)
    np.testing.assert_allclose(got, ref, atol=1e-5)
    # the same as the model's own free-running reconstruction of x
    np.testing.assert_allclose(rep2.numpy(), rep.numpy(), atol=1e-6)
    np.testing.assert_allclose(ref, free.numpy(), atol=1e-5)
    # the hash ties it to the encoder exported from the same weights
    enc = export_encoder(m, tmp_path / "encoder.onnx")
    import onnx
    meta = {p.key: p.value for p in onnx.load(str(enc)).metadata_props}
    assert meta["rae_fast.content_sha256"] == dec.encoder_sha256 == encoder_content_sha256(m)
    with pytest.raises(ValueError, match=r"shape \(n, "):
        dec.decode(np.zeros((2, 3), np.float32), 4)


def test_bidirectional_decoder_cannot_be_exported(tmp_path):
    m = RecurrentAutoencoder(AutoencoderConfig(num_features=4, num_units=3,
                                               bidirectional_decoder=True))
    with pytest.raises(ValueError, match="bidirectional"):
        export_decoder(m, tmp_path / "d.onnx")
    assert not (tmp_path / "d.onnx").exists()


# ---------------------------------------------------------------------------- code file

def _header(**kw):
    return CodeHeader(model_sha256="ab" * 32, frontend={"x": 1}, representation_size=4, **kw)


def _record(i, k=2):
    rng = np.random.default_rng(i)
    return CodeRecord(f"f{i}.wav", 44100, 1000 + i, rng.standard_normal((k, 4)),
                      {c: rng.standard_normal(k) for c in OFFSET_COLUMNS}, label="a")


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_code_file_round_trip_and_every_truncation(tmp_path, dtype):
    path = tmp_path / "c.raec"
    recs = [_record(i, k=1 + i % 3) for i in range(5)]
    with CodeWriter(path, _header(dtype=dtype)) as w:
        for r in recs:
            w.append(r)
    header, got = read_codes(path)
    assert header.dtype == dtype and len(got) == 5
    tol = 2e-3 if dtype == "float16" else 1e-7
    for a, b in zip(recs, got):
        assert (b.name, b.sr, b.samples, b.label) == (a.name, a.sr, a.samples, a.label)
        np.testing.assert_allclose(b.codes, a.codes, rtol=tol, atol=tol)
        for c in OFFSET_COLUMNS:
            np.testing.assert_allclose(b.side[c], a.side[c], rtol=tol, atol=tol)
    data = path.read_bytes()
    for cut in sorted(set(np.linspace(0, len(data) - 1, 40).astype(int))):
        bad = tmp_path / "cut.raec"
        bad.write_bytes(data[:cut])
        with pytest.raises(CodeFileError, match="truncated|not a rae_fast code file"):
            read_codes(bad)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x40
    bad.write_bytes(bytes(flipped))
    with pytest.raises(CodeFileError):
        read_codes(bad)


def test_code_writer_resumes_after_a_cut(tmp_path):
    path = tmp_path / "c.raec"
    w = CodeWriter(path, _header())
    for i in range(3):
        w.append(_record(i))
    w.abort()                                          # interrupted: the partial file stays
    assert not path.exists()
    partial = next(tmp_path.glob("*partial*"))
    with open(partial, "ab") as fh:                     # and its last record was half written
        fh.write(b"C\x10\x00\x00\x00{\"fil")
    w = CodeWriter(path, _header())
    assert w.resumed and w.done == ["f0.wav", "f1.wav", "f2.wav"]
    w.append(_record(3))
    w.close()
    assert [r.name for r in read_codes(path)[1]] == [f"f{i}.wav" for i in range(4)]
    # another header (other model): starts again
    w = CodeWriter(tmp_path / "d.raec", _header())
    w.abort()
    w = CodeWriter(tmp_path / "d.raec", _header(dtype="float32"))
    assert not w.resumed
    w.abort(keep_partial=False)


# --------------------------------------------------------------- encode / decode, end to end

@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """10 clips: 8, 16, 22.05 and 44.1 kHz, mono and stereo, wav/flac/ogg, 0.3-2.6 s."""
    root = tmp_path_factory.mktemp("messy")
    for i in range(10):
        label = ("bird", "car")[i % 2]
        sr = (16000, 22050, 44100, 8000)[i % 4]
        n = int(sr * (0.3 + 0.25 * i))
        y = _tone(n, sr, seed=i)
        if i % 4 == 3:
            y = np.stack([y, 0.5 * y], axis=1)
        ext = (".wav", ".flac", ".ogg")[i % 3]
        p = root / label / f"{label}_{i:02d}{ext}"
        p.parent.mkdir(exist_ok=True)
        sf.write(str(p), y, sr, subtype="VORBIS" if ext == ".ogg" else None)
    return root


def _train_and_export(tmp: Path, ds_path: Path, seed: int) -> Path:
    ds = load(ds_path)
    fe = FrontEnd.from_dataset(ds.attrs, ds.feature_dims, ds.feature_shape)
    torch.manual_seed(seed)
    train(ds.features, tmp / "run", AutoencoderConfig(num_features=ds.feature_shape[1],
                                                          num_units=8,
                                                          bidirectional_encoder=True),
          TrainingConfig(num_epochs=1, batch_size=4, seed=seed), progress=False, tensorboard=False,
          run_info={"frontend": fe.to_dict()})
    export_encoder(tmp / "run", tmp / "run" / "encoder.onnx")
    export_autoencoder(tmp / "run", tmp / "run" / "autoencoder.onnx")
    export_decoder(tmp / "run", tmp / "run" / "decoder.onnx")
    return tmp / "run"


@pytest.fixture(scope="module")
def runs(messy, tmp_path_factory):
    """Two models (different weights) on the messy folder's mel features, plus the data set."""
    tmp = tmp_path_factory.mktemp("runs")
    preprocess(messy, tmp / "feat.nc", MEL, workers=2, progress=False)
    a = _train_and_export(tmp / "a", tmp / "feat.nc", 0)
    b = _train_and_export(tmp / "b", tmp / "feat.nc", 1)
    return tmp / "feat.nc", a, b


def test_preprocess_stores_the_offsets(runs, messy):
    feat, _, _ = runs
    extra = read_extra_columns(feat)
    ds = load(feat)
    for c in OFFSET_COLUMNS:
        assert extra[c].shape == (len(ds),) and np.isfinite(extra[c]).all()
    # they are the offsets of compute_features for that clip
    i = 0
    from rae_fast.preprocessing import extract_features
    X, off = extract_features(messy / ds.filenames[i], MEL, return_offsets=True)
    np.testing.assert_array_equal(X[0], ds.features[i])
    for c in OFFSET_COLUMNS:
        assert extra[c][i] == pytest.approx(off[c][0])


def test_encode_decode_messy_folder(runs, messy, tmp_path):
    _, run, _ = runs
    c16, c32 = tmp_path / "c16.raec", tmp_path / "c32.raec"
    r16 = encode_files(run / "encoder.onnx", [messy], c16, progress=False, workers=2)
    r32 = encode_files(run / "encoder.onnx", [messy], c32, dtype="float32", progress=False)
    assert r16.n_files == r32.n_files == 10 and r16.n_instances == r32.n_instances
    assert r16.n_instances > 10                  # the long files are several windows
    h16, recs16 = read_codes(c16)
    h32, recs32 = read_codes(c32)
    assert h16.model_sha256 == OnnxDecoder(run / "decoder.onnx").encoder_sha256
    assert FrontEnd.from_dict(h16.frontend).sample_rate == SR
    # float16 halves the codes: the files differ by 8 bytes per stored value
    values = r16.n_instances * (h16.representation_size + len(h16.side))
    assert r32.bytes - r16.bytes == 2 * values
    for a, b in zip(recs16, recs32):
        np.testing.assert_allclose(a.codes, b.codes, atol=2e-3)
    infos = {p.relative_to(messy).with_suffix("").as_posix(): sf.info(str(p))
             for p in messy.rglob("*.*")}
    out = tmp_path / "dec"
    res = decode_codes(c16, run / "decoder.onnx", out, progress=False, n_iter=8)
    assert len(res.files) == 10 and res.n_resumed == 0
    for rec in recs16:
        name = Path(rec.name).with_suffix("").as_posix()
        p = out / f"{name}.wav"
        info = sf.info(str(p))
        assert info.samplerate == SR and info.channels == 1
        assert info.frames == rec.samples == int(round(infos[name].duration * SR)) or \
            abs(info.frames - infos[name].duration * SR) <= 1
        y, _ = sf.read(str(p))
        assert np.isfinite(y).all() and np.abs(y).max() > 0
    # flac at another rate
    res = decode_codes(c32, run / "decoder.onnx", tmp_path / "flac", format="flac", sr=22050,
                       n_iter=4, progress=False)
    assert all(p.suffix == ".flac" and sf.info(str(p)).samplerate == 22050 for p in res.files)
    assert not list(tmp_path.rglob("*.tmp*")) and not list(tmp_path.rglob("*partial*"))


def test_decode_resumes_and_is_atomic(runs, messy, tmp_path, monkeypatch):
    _, run, _ = runs
    codes = tmp_path / "c.raec"
    encode_files(run / "encoder.onnx", [messy], codes, progress=False)
    real = decode_mod._write_audio
    calls = []

    def failing(path, y, sr, fmt):
        if len(calls) == 4:
            raise OSError(28, "No space left on device")
        calls.append(path)
        real(path, y, sr, fmt)

    monkeypatch.setattr(decode_mod, "_write_audio", failing)
    out = tmp_path / "dec"
    with pytest.raises(OSError):
        decode_codes(codes, run / "decoder.onnx", out, progress=False, n_iter=4, batch_size=3)
    assert len([p for p in out.rglob("*.wav")]) == 4
    monkeypatch.setattr(decode_mod, "_write_audio", real)
    res = decode_codes(codes, run / "decoder.onnx", out, progress=False, n_iter=4,
                       batch_size=3)
    assert res.n_resumed == 4 and len(res.files) == 10
    assert len(list(out.rglob("*.wav"))) == 10
    # other settings: nothing is kept
    res = decode_codes(codes, run / "decoder.onnx", out, progress=False, n_iter=5)
    assert res.n_resumed == 0


def test_encode_resumes_after_an_interruption(runs, messy, tmp_path, monkeypatch):
    _, run, _ = runs
    from rae_fast.embedding import Embedder
    out = tmp_path / "c.raec"
    emb = Embedder(run / "encoder.onnx")
    emb.batch_size = 1                          # one file per write
    real = Embedder.encode
    n = []

    def interrupted(self, X):
        if len(n) == 3:
            raise KeyboardInterrupt
        n.append(1)
        return real(self, X)

    monkeypatch.setattr(Embedder, "encode", interrupted)
    with pytest.raises(KeyboardInterrupt):
        encode_files(emb, [messy], out, progress=False, workers=1)
    assert not out.exists()
    monkeypatch.setattr(Embedder, "encode", real)
    res = encode_files(emb, [messy], out, progress=False, workers=1)
    assert res.n_resumed >= 3 and res.n_files == 10
    ref = tmp_path / "ref.raec"
    encode_files(emb, [messy], ref, progress=False, workers=1)
    a, b = read_codes(out)[1], read_codes(ref)[1]
    assert [r.name for r in a] == [r.name for r in b]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.codes, y.codes)


# ------------------------------------------------------------------------ bad input

def test_codes_of_another_model_are_refused(runs, messy, tmp_path, capsys):
    _, a, b = runs
    codes = tmp_path / "c.raec"
    encode_files(a / "encoder.onnx", [messy], codes, progress=False)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="made by another model"):
        decode_codes(codes, b / "decoder.onnx", out, progress=False)
    assert not out.exists()
    assert main(["decode", str(codes), "--model", str(b), "--output", str(out)]) == 2
    assert "another model" in capsys.readouterr().err and not out.exists()


def test_truncated_code_file_is_refused(runs, messy, tmp_path, capsys):
    _, a, _ = runs
    codes = tmp_path / "c.raec"
    encode_files(a / "encoder.onnx", [messy], codes, progress=False)
    data = codes.read_bytes()
    out = tmp_path / "out"
    for cut in (len(data) - 1, len(data) - 41, len(data) // 2, 20):
        codes.write_bytes(data[:cut])
        with pytest.raises(CodeFileError, match="truncated"):
            decode_codes(codes, a / "decoder.onnx", out, progress=False)
        assert not out.exists()
    assert main(["decode", str(codes), "--model", str(a), "--output", str(out)]) == 2
    assert "truncated" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("which, msg", [("encoder.onnx", "encoder-only export"),
                                        ("autoencoder.onnx", "teacher-forced")])
def test_model_without_a_decoder_is_refused(runs, messy, tmp_path, which, msg, capsys):
    _, a, _ = runs
    codes = tmp_path / "c.raec"
    encode_files(a / "encoder.onnx", [messy], codes, progress=False)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=msg):
        decode_codes(codes, a / which, out, progress=False)
    assert not out.exists()
    # a run folder without decoder.onnx (e.g. a bidirectional decoder)
    run = tmp_path / "run"
    run.mkdir()
    (run / "encoder.onnx").write_bytes((a / "encoder.onnx").read_bytes())
    assert main(["decode", str(codes), "--model", str(run), "--output", str(out)]) == 2
    assert "has no decoder.onnx" in capsys.readouterr().err and not out.exists()


def test_data_set_without_offsets_is_refused(runs, tmp_path, capsys):
    feat, a, _ = runs
    old = tmp_path / "old.nc"
    save(load(feat), old)                         # as rae_fast before the offsets: none stored
    assert not set(OFFSET_COLUMNS) & set(read_extra_columns(old))
    out, audio = tmp_path / "recon.nc", tmp_path / "audio"
    assert main(["reconstruct", "--model", str(a / "autoencoder.onnx"), "--input", str(old),
                 "--output", str(out), "--audio", str(audio), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "normalisation offsets" in err and not out.exists() and not audio.exists()
    from rae_fast.codec import dataset_to_audio
    with pytest.raises(ValueError, match="normalisation offsets"):
        dataset_to_audio(feat, old, audio)
    assert not audio.exists()


def test_reconstruct_audio_writes_one_file_per_clip(runs, tmp_path):
    feat, a, _ = runs
    out, audio = tmp_path / "recon.nc", tmp_path / "audio"
    assert main(["reconstruct", "--model", str(a / "autoencoder.onnx"), "--input", str(feat),
                 "--output", str(out), "--audio", str(audio), "--audio-format", "flac",
                 "--iterations", "4", "--quiet"]) == 0
    ds = load(feat)
    files = sorted(audio.rglob("*.flac"))
    assert len(files) == len(set(ds.filenames))
    win, hop = MEL.frame_params(SR, None)
    for f in files:
        info = sf.info(str(f))
        assert info.samplerate == SR
        assert info.frames == (ds.feature_shape[0] - 1) * hop + win


def test_reconstruct_audio_interrupted_resumes(runs, tmp_path, monkeypatch):
    import rae_fast.codec.decode as dec_mod

    feat, a, _ = runs
    out, audio = tmp_path / "recon.nc", tmp_path / "audio"
    args = ["reconstruct", "--model", str(a / "autoencoder.onnx"), "--input", str(feat),
            "--output", str(out), "--audio", str(audio), "--iterations", "2", "--quiet"]
    real_write, calls = dec_mod._write_audio, []

    def interrupted(path, y, sr, fmt):
        if len(calls) == 3:
            raise KeyboardInterrupt                 # Ctrl-C while the fourth file is written
        calls.append(path)
        real_write(path, y, sr, fmt)

    monkeypatch.setattr(dec_mod, "_write_audio", interrupted)
    assert main(args) == 130
    monkeypatch.setattr(dec_mod, "_write_audio", real_write)
    done = sorted(audio.rglob("*.wav"))
    assert done == sorted(calls) and len(done) == 3           # no half-written file
    assert not [p for p in audio.rglob("*") if p.is_file() and p.suffix not in (".wav", ".json")]
    stamps = {p: p.stat().st_mtime_ns for p in done}
    assert main(args) == 0                                    # same command: resumes
    files = sorted(audio.rglob("*.wav"))
    assert len(files) == len(set(load(feat).filenames))
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())   # kept, not rewritten
    args[args.index("--iterations") + 1] = "3"                # other settings: all rewritten
    assert main(args) == 0
    assert all(p.stat().st_mtime_ns != t for p, t in stamps.items())


def test_decode_on_a_full_disk_says_one_line(runs, messy, tmp_path, monkeypatch, capsys):
    import soundfile

    from rae_fast import _io

    _, a, _ = runs
    codes = tmp_path / "c.raec"
    encode_files(a / "encoder.onnx", [messy], codes, progress=False)

    def full(*args, **kw):           # what libsndfile raises when write() fails: no errno
        raise RuntimeError("System error.")

    monkeypatch.setattr(soundfile, "write", full)
    monkeypatch.setattr(_io, "free_space", lambda path: 0)
    out = tmp_path / "d"
    capsys.readouterr()
    assert main(["decode", str(codes), "--model", str(a / "decoder.onnx"), "--output",
                 str(out), "--iterations", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "no space left on device while writing" in err and ".wav" in err
    assert not [p for p in out.rglob("*") if p.is_file() and p.name != ".rae-decode.json"]


def test_cli_encode_decode(runs, messy, tmp_path, capsys):
    _, a, _ = runs
    codes = tmp_path / "codes.raec"
    assert main(["encode", str(messy), "--model", str(a), "--output", str(codes),
                 "--dtype", "float32", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "bits/s" in out and "float32" in out
    assert main(["decode", str(codes), "--model", str(a / "decoder.onnx"), "--output",
                 str(tmp_path / "d"), "--iterations", "2", "--quiet"]) == 0
    assert len(list((tmp_path / "d").rglob("*.wav"))) == 10
    assert json.loads((tmp_path / "d" / ".rae-decode.json").read_text())["n_iter"] == 2
    # bad flags
    with pytest.raises(SystemExit):
        main(["encode", str(messy), "--model", str(a), "--output", str(codes), "--dtype", "i8"])
    assert main(["decode", str(tmp_path / "none.raec"), "--model", str(a), "--output",
                 str(tmp_path / "e")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()


def test_modify_keeps_the_offsets(runs, tmp_path):
    feat, _, _ = runs
    out = tmp_path / "folds.nc"
    assert main(["modify", str(feat), "--add-cv-setup", "2", "--output", str(out)]) == 0
    a, b = read_extra_columns(feat), read_extra_columns(out)
    assert set(OFFSET_COLUMNS) <= set(b)
    for c in OFFSET_COLUMNS:
        np.testing.assert_array_equal(a[c], b[c])
    assert load(out).n_folds == 2


def test_cli_export_writes_the_decoder_only_when_it_can_run_free(runs, tmp_path, capsys):
    feat, _, _ = runs
    ds = load(feat)
    fe = FrontEnd.from_dataset(ds.attrs, ds.feature_dims, ds.feature_shape)
    for bi in (False, True):
        run = tmp_path / f"run{int(bi)}"
        train(ds.features, run, AutoencoderConfig(num_features=ds.feature_shape[1], num_units=4,
                                                  bidirectional_decoder=bi),
              TrainingConfig(num_epochs=1, batch_size=4), progress=False, tensorboard=False,
              run_info={"frontend": fe.to_dict()})
        assert main(["export-onnx", str(run)]) == 0
        out = capsys.readouterr().out
        assert (run / "decoder.onnx").is_file() != bi
        assert ("no decoder.onnx" in out) == bi
    assert main(["export-onnx", str(tmp_path / "run1"), "--output", str(tmp_path / "e.onnx"),
                 "--decoder-output", str(tmp_path / "d.onnx")]) == 2
    assert "bidirectional" in capsys.readouterr().err
    assert not (tmp_path / "e.onnx").exists() and not (tmp_path / "d.onnx").exists()


@pytest.mark.parametrize("kw,msg", [
    (dict(architecture="ft-rae", num_f_units=4, freq_window_width=4, freq_window_overlap=2),
     "t-rae only"),
    (dict(gru_variant="tensorflow"), "gru_variant='tensorflow'"),
    (dict(decoder_input_shift=2), "decoder_input_shift=2"),
    (dict(decoder_inputs="none"), "decoder_inputs='none'"),
])
def test_family_decoders_are_not_exported_to_run_free(kw, msg, tmp_path):
    """The free-running decoder graph covers t-rae with the default decoder; auDeep's other
    models and options are refused, saying which (the CLI then writes no decoder.onnx)."""
    from rae_fast.model import build_autoencoder
    from rae_fast.model.decoder_export import can_run_free, free_run_obstacle

    m = build_autoencoder(AutoencoderConfig(num_features=8, num_units=4, **kw))
    assert not can_run_free(m) and msg in free_run_obstacle(m)
    with pytest.raises(ValueError, match=re.escape(msg)):
        export_decoder(m, tmp_path / "d.onnx")
    assert not (tmp_path / "d.onnx").exists()
    assert can_run_free(build_autoencoder(AutoencoderConfig(num_features=8, num_units=4)))
