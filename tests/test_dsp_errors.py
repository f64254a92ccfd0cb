"""Bad input: every public signal function raises TypeError/ValueError naming the parameter."""
import librosa
import numpy as np
import pytest

import rae_fast

Y = np.random.default_rng(0).standard_normal(4096).astype(np.float32)


@pytest.mark.parametrize("fn", [
    lambda y: rae_fast.rfft(y),
    lambda y: rae_fast.stft(y, n_fft=256),
    lambda y: rae_fast.power_spectrogram(y, n_fft=256),
    lambda y: rae_fast.melspectrogram(y=y, sr=16000, n_fft=256),
    lambda y: rae_fast.spectrogram(y, 16000, window_width=0.01, window_overlap=0.005),
])
class TestAudioChecks:
    def test_integer_dtype(self, fn):
        with pytest.raises(TypeError, match="floating-point"):
            fn((Y * 1000).astype(np.int16))

    def test_complex_dtype(self, fn):
        with pytest.raises(TypeError, match="real|complex"):
            fn(Y.astype(np.complex64))

    def test_object_and_bool(self, fn):
        with pytest.raises(TypeError):
            fn(np.array(["a", "b"], dtype=object))
        with pytest.raises(TypeError):
            fn(Y > 0)

    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    def test_non_finite(self, fn, bad):
        y = Y.copy()
        y[123] = bad
        with pytest.raises(ValueError, match="non-finite"):
            fn(y)

    def test_empty(self, fn):
        with pytest.raises(ValueError, match="empty"):
            fn(np.zeros(0, np.float32))

    def test_scalar_input(self, fn):
        with pytest.raises(ValueError):
            fn(np.float32(1.0))


@pytest.mark.parametrize("fn", [
    lambda y: rae_fast.stft(y, n_fft=256),
    lambda y: rae_fast.melspectrogram(y=y, sr=16000, n_fft=256),
    lambda y: rae_fast.spectrogram(y, 16000, window_width=0.01, window_overlap=0.005),
])
def test_three_dimensional_audio_is_rejected(fn):
    with pytest.raises(ValueError, match="1-D or 2-D"):
        fn(np.zeros((2, 2, 4096), np.float32))


def test_stft_parameters():
    with pytest.raises(ValueError, match="hop_length"):
        rae_fast.stft(Y, n_fft=256, hop_length=0)
    with pytest.raises(ValueError, match="hop_length"):
        rae_fast.stft(Y, n_fft=256, hop_length=-5)
    with pytest.raises(TypeError, match="hop_length"):
        rae_fast.stft(Y, n_fft=256, hop_length=2.5)
    with pytest.raises(ValueError, match="win_length"):
        rae_fast.stft(Y, n_fft=256, win_length=512)
    with pytest.raises(ValueError, match="n_fft"):
        rae_fast.stft(Y, n_fft=0)
    with pytest.raises(ValueError, match="n_fft"):
        rae_fast.stft(Y, n_fft=2 ** 40)
    with pytest.raises(TypeError, match="n_fft"):
        rae_fast.stft(Y, n_fft="1024")
    with pytest.raises(TypeError, match="n_fft"):
        rae_fast.stft(Y, n_fft=True)
    with pytest.raises(ValueError, match="pad_mode"):
        rae_fast.stft(Y, n_fft=256, pad_mode="mirror")
    with pytest.raises(ValueError, match="fewer than n_fft"):
        rae_fast.stft(Y[:100], n_fft=256, center=False)
    with pytest.raises(TypeError, match="center"):
        rae_fast.stft(Y, n_fft=256, center="yes")
    with pytest.raises(ValueError, match="window"):
        rae_fast.stft(Y, n_fft=256, window="nonsense")
    with pytest.raises(ValueError, match="window"):
        rae_fast.stft(Y, n_fft=256, window=np.ones(100))


def test_mel_parameters():
    with pytest.raises(ValueError, match="fmax"):
        rae_fast.mel_filterbank(16000, 512, fmax=9000)
    with pytest.raises(ValueError, match="fmax"):
        rae_fast.melspectrogram(y=Y, sr=16000, n_fft=512, fmax=8001.0)
    with pytest.raises(ValueError, match="fmin"):
        rae_fast.mel_filterbank(16000, 512, fmin=5000, fmax=4000)
    with pytest.raises(ValueError, match="fmin"):
        rae_fast.mel_filterbank(16000, 512, fmin=-1)
    with pytest.raises(ValueError, match="sr"):
        rae_fast.mel_filterbank(0, 512)
    with pytest.raises(ValueError, match="sr"):
        rae_fast.melspectrogram(y=Y, sr=float("nan"))
    with pytest.raises(ValueError, match="n_mels"):
        rae_fast.mel_filterbank(16000, 512, n_mels=0)
    with pytest.raises(ValueError, match="norm"):
        rae_fast.mel_filterbank(16000, 512, norm="area")
    with pytest.raises(ValueError, match="power"):
        rae_fast.melspectrogram(y=Y, sr=16000, power=0)
    with pytest.raises(ValueError, match="audio y or a spectrogram S"):
        rae_fast.melspectrogram(sr=16000)
    with pytest.raises(ValueError, match="n_fft"):
        rae_fast.melspectrogram(S=np.ones((100, 10), np.float32), sr=16000, n_fft=512)


def test_power_to_db_parameters():
    S = np.abs(Y[:100]) ** 2
    with pytest.raises(ValueError, match="amin"):
        rae_fast.power_to_db(S, amin=0)
    with pytest.raises(ValueError, match="top_db"):
        rae_fast.power_to_db(S, top_db=-1)
    with pytest.raises(ValueError, match="non-finite"):
        rae_fast.power_to_db(np.array([1.0, np.nan]))
    with pytest.warns(UserWarning, match="complex"):
        rae_fast.power_to_db(S.astype(np.complex64))


@pytest.mark.parametrize("ref, exc, match", [
    (lambda S: np.nan, ValueError, "ref\\(S\\) returned nan"),
    (lambda S: np.inf, ValueError, "must be finite"),
    (lambda S: S.max() / S.min(), ValueError, "must be finite"),     # 0 / 0 on silence
    (lambda S: "loud", TypeError, "one real number"),
    (lambda S: S[:2], TypeError, "one real number"),
])
def test_power_to_db_callable_ref_must_give_a_finite_number(ref, exc, match):
    """A callable ref returning NaN used to give +100 dB everywhere, silently."""
    silence = np.zeros((4, 8), np.float32)
    with np.errstate(all="ignore"), pytest.raises(exc, match=match):
        rae_fast.power_to_db(silence, ref=ref)
    S = np.abs(Y[:100]) ** 2                                     # a good callable still works
    np.testing.assert_allclose(rae_fast.power_to_db(S, ref=np.max),
                               librosa.power_to_db(S, ref=np.max), rtol=1e-5, atol=1e-4)


def test_audeep_spectrogram_parameters():
    with pytest.raises(ValueError, match="window_overlap"):
        rae_fast.spectrogram(Y, 16000, window_width=0.02, window_overlap=0.02)
    with pytest.raises(ValueError, match="window_width"):
        rae_fast.spectrogram(Y, 16000, window_width=0.0)
    with pytest.raises(ValueError, match="window_width"):
        rae_fast.spectrogram(Y, 16000, window_width=1e-6)
    with pytest.raises(ValueError, match="fewer than one window"):
        rae_fast.spectrogram(Y[:100], 16000)
    with pytest.raises(ValueError, match="clip_below"):
        rae_fast.spectrogram(Y, 16000, clip_below=-10, clip_above=-20)
    with pytest.raises(ValueError, match="sr"):
        rae_fast.spectrogram(Y, -16000)
    with pytest.raises(ValueError, match="n_mels"):
        rae_fast.spectrogram(Y, 16000, n_mels=0)
    with pytest.raises(ValueError, match="pre_emphasis"):
        rae_fast.spectrogram(Y, 16000, pre_emphasis=3.0)


def test_thread_and_fft_parameters():
    with pytest.raises(ValueError, match="n_threads"):
        rae_fast.rfft(Y, n_threads=0)
    with pytest.raises(TypeError, match="n_threads"):
        rae_fast.rfft(Y, n_threads=1.5)
    with pytest.raises(ValueError, match="norm"):
        rae_fast.rfft(Y, norm="unitary")
    with pytest.raises(ValueError, match="axis"):
        rae_fast.rfft(Y, axis=3)
    with pytest.raises(ValueError, match="n"):
        rae_fast.irfft(np.ones(1, np.complex64))
    with pytest.raises(TypeError, match="dtype"):
        rae_fast.stft(Y, n_fft=256, dtype=np.int32)


def test_bad_input_never_crashes_the_core_directly():
    from rae_fast import _core
    out = np.empty((1, 3), np.complex64)
    with pytest.raises(TypeError):
        _core.rfft_rows(np.ones((1, 4), np.int32), out, 1.0, 1)
    with pytest.raises(ValueError):
        _core.rfft_rows(np.ones((1, 4), np.float32), np.empty((1, 2), np.complex64), 1.0, 1)
    with pytest.raises(ValueError):
        _core.rfft_rows(np.ones((4, 4), np.float32)[:, ::2], out, 1.0, 1)
    ro = np.empty((1, 3), np.complex64)
    ro.setflags(write=False)
    with pytest.raises(ValueError):
        _core.rfft_rows(np.ones((1, 4), np.float32), ro, 1.0, 1)
    with pytest.raises(ValueError):
        _core.frames(np.ones((1, 100), np.float32), np.empty((1, 3, 1), np.float32), 4, 4, 0, 0,
                     "constant", 0.0, False, None, "magnitude", 2.0, 1.0, None, 0, None, 1)
