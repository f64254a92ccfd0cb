"""Tests of rae_fast.audio: reading, headers, integrity, channels, fixed length, resampling."""
from __future__ import annotations

import os
from pathlib import Path

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



# ------------------------------------------------------------- damaged and odd Ogg files

def _crc_ogg(data: bytes) -> int:
    """Ogg's CRC-32 written out bit by bit (independent of rae_fast's zlib trick)."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_pages(data: bytes):
    """[(start, end, granule)] of every page."""
    import struct
    pages, pos = [], 0
    while pos < len(data):
        assert data[pos:pos + 4] == b"OggS"
        n_seg = data[pos + 26]
        end = pos + 27 + n_seg + sum(data[pos + 27:pos + 27 + n_seg])
        pages.append((pos, end, struct.unpack_from("<q", data, pos + 6)[0]))
        pos = end
    return pages


def _rewrite_granules(data: bytes, change) -> bytes:
    """A valid Ogg file with every audio page's granule position g replaced by change(g, last)
    and the checksums recomputed."""
    import struct
    out = bytearray(data)
    pages = _ogg_pages(data)
    for i, (start, end, granule) in enumerate(pages):
        if granule > 0:
            struct.pack_into("<q", out, start + 6, change(granule, i == len(pages) - 1))
            out[start + 22:start + 26] = b"\0\0\0\0"
            struct.pack_into("<I", out, start + 22, _crc_ogg(bytes(out[start:end])))
    return bytes(out)


def test_ogg_checksum_matches_a_plain_implementation(write_audio, tmp_path):
    from rae_fast.audio import _BITREV, _ogg_page_crc
    path = write_audio(tmp_path / "x.ogg", duration=3.0, sr=22050, channels=2)
    data = path.read_bytes()
    rev = memoryview(data.translate(_BITREV))
    for start, end, _ in _ogg_pages(data):
        page = bytearray(data[start:end])
        page[22:26] = b"\0\0\0\0"
        assert _ogg_page_crc(rev, start, end) == _crc_ogg(bytes(page)) == int.from_bytes(
            data[start + 22:start + 26], "little")


@pytest.mark.parametrize("where", [0.3, 0.5, 0.8, 0.999])
def test_a_flipped_byte_in_an_ogg_file_is_an_error_not_a_shorter_signal(write_audio, tmp_path,
                                                                        where):
    path = write_audio(tmp_path / "clip.ogg", duration=5.0, sr=44100, seed=3)
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0xFF
    bad = tmp_path / "damaged.ogg"
    bad.write_bytes(bytes(data))
    for fn in (read_audio, audio_info, load_audio):
        with pytest.raises(AudioError, match=r"damaged\.ogg: is corrupt: Ogg page \d+ .*checksum"):
            fn(bad)


def test_a_missing_ogg_page_is_an_error(write_audio, tmp_path):
    path = write_audio(tmp_path / "clip.ogg", duration=5.0, sr=44100, seed=3)
    data = path.read_bytes()
    pages = _ogg_pages(data)
    assert len(pages) >= 5
    start, end, _ = pages[3]
    (tmp_path / "gap.ogg").write_bytes(data[:start] + data[end:])
    with pytest.raises(AudioError, match=r"gap\.ogg: is corrupt: Ogg page\(s\) are missing"):
        read_audio(tmp_path / "gap.ogg")


def test_fewer_samples_than_the_header_announces_is_an_error(write_audio, tmp_path):
    """Intact pages, but the last granule position promises more than the packets hold."""
    path = write_audio(tmp_path / "clip.ogg", duration=2.0, sr=16000, seed=1)
    longer = _rewrite_granules(path.read_bytes(), lambda g, last: g + 20000 if last else g)
    (tmp_path / "long.ogg").write_bytes(longer)
    with pytest.raises(AudioError, match=r"long\.ogg: decoded \d+ samples, the header announces "
                                         r"52000: the file is corrupt"):
        read_audio(tmp_path / "long.ogg")


@pytest.mark.parametrize("shift", [-500, 50_000, 1_000_000])
def test_vorbis_streams_that_do_not_start_at_granule_zero(write_audio, tmp_path, shift):
    """A cut-out broadcast starts at a later granule (libsndfile subtracts it); a negative
    start trims the beginning. Both are intact files: same length from the header and the
    decoder, no error."""
    path = write_audio(tmp_path / "clip.ogg", duration=2.0, sr=16000, seed=2)
    moved = tmp_path / f"moved{shift}.ogg"
    moved.write_bytes(_rewrite_granules(path.read_bytes(), lambda g, last: g + shift))
    y, sr = read_audio(moved)
    ref = sf.info(str(moved))
    assert y.shape[1] == ref.frames == audio_info(moved).frames
    assert ref.frames == 32000 + min(shift, 0)


@pytest.mark.parametrize("subtype, sr", [("VORBIS", 8000), ("VORBIS", 44100), ("VORBIS", 48000),
                                         ("OPUS", 48000), ("OPUS", 16000)])
@pytest.mark.parametrize("n", [1, 777, 4096, 44101])
def test_intact_ogg_files_are_not_flagged(tmp_path, subtype, sr, n):
    rng = np.random.default_rng(n)
    y = (0.3 * rng.standard_normal((n, 2))).astype(np.float32)
    path = tmp_path / f"ok_{subtype}_{sr}_{n}.ogg"
    try:
        sf.write(str(path), y, sr, format="OGG", subtype=subtype)
    except (sf.LibsndfileError, ValueError, RuntimeError):
        pytest.skip(f"libsndfile cannot write Ogg {subtype}")
    out, out_sr = read_audio(path)
    assert out.shape[1] == sf.info(str(path)).frames and out_sr == sr
    assert audio_info(path).frames == out.shape[1]


def test_mp3_lengths_are_estimates_and_not_checked(tmp_path):
    y = (0.3 * np.random.default_rng(0).standard_normal(44100)).astype(np.float32)
    path = tmp_path / "x.mp3"
    try:
        sf.write(str(path), y, 44100, format="MP3", subtype="MPEG_LAYER_III")
    except (sf.LibsndfileError, ValueError, RuntimeError, TypeError):
        pytest.skip("libsndfile cannot write MP3")
    out, _ = read_audio(path)          # header count and decoded length may differ: no error
    assert abs(out.shape[1] - 44100) < 4096


def test_no_esc10_clip_is_flagged_and_a_damaged_copy_is(esc10_path, tmp_path):
    clips = sorted(esc10_path.glob("*/*.ogg"))
    assert len(clips) == 400
    for path in clips:
        y, sr = read_audio(path)
        assert y.shape[1] == audio_info(path).frames == sf.info(str(path)).frames
    data = bytearray(clips[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / clips[0].name
    bad.write_bytes(bytes(data))
    assert sf.read(str(bad))[0].shape[0] < 0.9 * sf.info(str(clips[0])).frames   # the bug
    with pytest.raises(AudioError, match=f"{clips[0].name}: is corrupt"):
        read_audio(bad)


# --------------------------------------------------------------- names that are not UTF-8

@pytest.mark.skipif(os.name == "nt", reason="POSIX file names are bytes")
@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".aiff"])
def test_file_names_that_are_not_utf8(tmp_path, write_audio, suffix):
    plain = write_audio(tmp_path / f"plain{suffix}", duration=0.5, sr=8000, channels=2)
    odd = os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9" + suffix.encode())
    os.rename(plain, odd)
    y, sr = read_audio(odd)
    assert y.shape == (2, 4000) and sr == 8000
    assert audio_info(odd).frames == 4000
    assert load_audio(odd, sr=16000)[0].shape == (8000,)
    broken = os.fsdecode(os.fsencode(tmp_path) + b"/bad\xff" + suffix.encode())
    with open(broken, "wb") as fh:
        fh.write(b"not audio at all" * 8)
    with pytest.raises(AudioError) as err:
        read_audio(broken)
    text = str(err.value)
    text.encode("utf-8")                                  # printable: no lone surrogates
    assert f"bad\\xff{suffix}: is not a readable audio file" in text
    assert err.value.path == Path(broken)
