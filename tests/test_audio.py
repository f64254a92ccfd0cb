"""Tests of rae_fast.audio: reading, headers, integrity, channels, fixed length, resampling."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from rae_fast.audio import (
    AudioError,
    audio_info,
    fix_length,
    fuse_channels,
    load_audio,
    read_audio,
    resample,
)

# ----------------------------------------------------------------------------- reading

@pytest.mark.parametrize("suffix, subtype, channels, tol", [
    (".wav", "FLOAT", 1, 0.0), (".wav", "PCM_16", 2, 1 / 32768), (".flac", None, 2, 1 / 32768),
    (".aiff", "PCM_24", 1, 1 / 2 ** 23), (".ogg", None, 1, None)])
def test_read_audio_formats(tmp_path, suffix, subtype, channels, tol):
    rng = np.random.default_rng(0)
    y = (0.3 * rng.standard_normal((8000, channels))).clip(-1, 1).astype(np.float32)
    path = tmp_path / f"x{suffix}"
    sf.write(str(path), y, 8000, subtype=subtype)
    out, sr = read_audio(path)
    assert sr == 8000 and out.dtype == np.float32 and out.shape == (channels, 8000)
    if tol is not None:
        np.testing.assert_allclose(out, y.T, atol=tol)
    else:  # lossy Vorbis: same length, similar energy
        assert abs(np.std(out) - np.std(y)) < 0.05
    info = audio_info(path)
    assert (info.sr, info.frames, info.channels) == (8000, 8000, channels)
    assert info.duration == pytest.approx(1.0)


@pytest.mark.parametrize("suffix, subtypes", [
    (".wav", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW",
              "IMA_ADPCM"]),
    (".flac", ["PCM_S8", "PCM_16", "PCM_24"]), (".ogg", ["VORBIS"]), (".aiff", ["PCM_16"])])
def test_audio_info_agrees_with_libsndfile(tmp_path, suffix, subtypes):
    """The direct WAV / FLAC / Ogg header readers give what soundfile.info gives."""
    rng = np.random.default_rng(2)
    for subtype in subtypes:
        for ch in (1, 2, 3):
            for n in (1, 999, 12345):
                path = tmp_path / f"h_{subtype}_{ch}_{n}{suffix}"
                try:
                    sf.write(str(path), rng.uniform(-0.5, 0.5, (n, ch)).astype(np.float32),
                             22050, subtype=subtype)
                    ref = sf.info(str(path))
                except (sf.LibsndfileError, RuntimeError, ValueError):
                    continue  # a combination libsndfile itself cannot write / read
                got = audio_info(path)
                assert (got.sr, got.frames, got.channels, got.format, got.subtype) == (
                    ref.samplerate, ref.frames, ref.channels, ref.format, ref.subtype)


def test_audio_info_on_esc10_agrees_with_libsndfile(esc10_path):
    for path in sorted(esc10_path.glob("*/*.ogg")):
        ref, got = sf.info(str(path)), audio_info(path)
        assert (got.sr, got.frames, got.channels, got.format, got.subtype) == (
            ref.samplerate, ref.frames, ref.channels, ref.format, ref.subtype)


def _truncate(path, keep):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


@pytest.mark.parametrize("case", ["text", "empty", "zero_frames", "missing", "directory",
                                  "trunc_wav", "trunc_ogg", "trunc_flac", "nan", "riff_header"])
def test_bad_files_raise_errors_naming_the_file(tmp_path, write_audio, case):
    path = tmp_path / f"bad_{case}.wav"
    if case == "text":
        path.write_text("this is not audio\n" * 20)
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "zero_frames":
        sf.write(str(path), np.zeros((0, 1), np.float32), 16000)
    elif case == "directory":
        path.mkdir()
    elif case == "trunc_wav":
        write_audio(path, duration=1.0)
        _truncate(path, 0.5)
    elif case == "trunc_ogg":
        path = write_audio(tmp_path / "bad_trunc.ogg", duration=2.0)
        _truncate(path, 0.6)
    elif case == "trunc_flac":
        path = write_audio(tmp_path / "bad_trunc.flac", duration=2.0)
        _truncate(path, 0.5)
    elif case == "nan":
        y = np.zeros((100, 1), np.float32)
        y[50] = np.nan
        sf.write(str(path), y, 8000, subtype="FLOAT")
    elif case == "riff_header":
        write_audio(path, duration=1.0)
        _truncate(path, 0.01)
    with pytest.raises(AudioError, match=path.name) as err:
        read_audio(path)
    assert isinstance(err.value, ValueError) and err.value.path == path
    if case not in ("nan", "trunc_flac"):  # detectable from the header alone
        with pytest.raises(AudioError, match=path.name):
            audio_info(path)


def test_fuse_channels_matches_numpy():
    rng = np.random.default_rng(1)
    for ch in (2, 3):
        y = rng.standard_normal((ch, 50)).astype(np.float32)
        np.testing.assert_allclose(fuse_channels(y, "mean"), y.mean(axis=0), rtol=1e-6)
        assert np.array_equal(fuse_channels(y, "left"), y[0])
        assert np.array_equal(fuse_channels(y, "RIGHT"), y[1])
        assert np.array_equal(fuse_channels(y, "diff"), y[0] - y[1])
    mono = rng.standard_normal((1, 20))
    for mode in ("mean", "left", "right", "diff"):
        assert np.array_equal(fuse_channels(mono, mode), mono[0])
    with pytest.raises(ValueError, match="channels"):
        fuse_channels(mono, "middle")


@pytest.mark.parametrize("n, length", [(10, 4), (11, 4), (4, 10), (5, 10), (7, 7), (1, 6)])
def test_fix_length_matches_audeep(n, length):
    y = np.arange(1, n + 1, dtype=np.float64)
    for center in (False, True):
        out = fix_length(y, length, center)
        if n > length:
            off = (n - length) // 2 if center else 0
            ref = y[off:off + length]
        else:
            a = (length - n) // 2 if center else 0
            ref = np.pad(y, (a, length - n - a))
        assert np.array_equal(out, ref)
    two = np.stack([y, -y])
    assert fix_length(two, length, True).shape == (2, length)
    with pytest.raises(ValueError, match="length"):
        fix_length(y, 0)
    with pytest.raises(TypeError, match="length"):
        fix_length(y, 2.5)


@pytest.mark.parametrize("sr, target", [(44100, 16000), (16000, 22050), (48000, 44100)])
def test_resample_sine(sr, target):
    t = np.arange(int(0.5 * sr)) / sr
    y = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    out = resample(y, sr, target)
    assert out.shape == (round(len(y) * target / sr),) and out.dtype == np.float32
    ref = np.sin(2 * np.pi * 440 * np.arange(len(out)) / target)
    core = slice(200, len(out) - 200)  # away from the filter's edge effects
    np.testing.assert_allclose(out[core], ref[core], atol=2e-3)
    assert resample(y, sr, sr) is y
    with pytest.raises(ValueError):
        resample(y, 0, sr)


def test_load_audio_pipeline(tmp_path, write_audio):
    path = write_audio(tmp_path / "s.flac", duration=1.3, sr=22050, channels=2, seed=4)
    raw, sr = read_audio(path)
    y, out_sr = load_audio(path, channels="right", fixed_length=1.0, center_fixed=True)
    n = raw.shape[1]
    off = (n - 22050) // 2
    assert out_sr == 22050 and np.array_equal(y, raw[1, off:off + 22050])
    y2, sr2 = load_audio(path, sr=16000, fixed_length=2.0)
    assert sr2 == 16000 and y2.shape == (32000,)
    mixed = resample(raw.mean(axis=0), 22050, 16000)
    np.testing.assert_allclose(y2[:len(mixed)], mixed, atol=1e-6)
    assert np.all(y2[len(mixed):] == 0)

