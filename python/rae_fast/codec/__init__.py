"""Back to sound: audio -> compact codes -> audio, through a trained autoencoder.

- :func:`encode_files` (``rae-fast encode``): audio files -> one code file holding the
  representations (float16 or float32), the model's content hash and front end, each file's
  length, and the per-instance offsets that the features throw away
  (:mod:`~rae_fast.codec.codefile` describes the format);
- :func:`decode_codes` (``rae-fast decode``): code file + the model's free-running decoder
  (``decoder.onnx``) -> audio files, through the decoder, de-normalisation, mel (or
  autocorrelogram) inversion and Griffin-Lim (:mod:`rae_fast.preprocessing.inverse`);
- :func:`dataset_to_audio` (``rae-fast reconstruct --audio``): reconstructed spectrograms of a
  preprocessed data set -> audio files;
- :mod:`~rae_fast.codec.metrics`: spectral convergence and log-spectral distance between
  original and decoded audio.

How good the decoded audio is, against Griffin-Lim of the unencoded features and Ogg
Opus/Vorbis at a similar bit rate, is measured in ``docs/decode.md``.

>>> from rae_fast.codec import encode_files, decode_codes
>>> encode_files("run/encoder.onnx", ["audio/"], "codes.raec")          # doctest: +SKIP
>>> decode_codes("codes.raec", "run/decoder.onnx", "decoded/")           # doctest: +SKIP
"""
from .codefile import CODE_DTYPES, CodeFileError, CodeHeader, CodeRecord, read_codes
from .decode import AUDIO_FORMATS, DecodeResult, dataset_to_audio, decode_codes, decode_records
from .encode import EncodeResult, encode_files
from .metrics import log_spectral_distance, spectral_convergence

__all__ = ["encode_files", "decode_codes", "decode_records", "dataset_to_audio", "read_codes",
           "CodeHeader", "CodeRecord", "CodeFileError", "EncodeResult", "DecodeResult",
           "CODE_DTYPES", "AUDIO_FORMATS", "spectral_convergence", "log_spectral_distance"]
