"""How good is audio -> codes -> audio? Size and quality of ``rae-fast encode`` / ``decode``.

Not a pytest suite (it trains models): for ESC-10 (``../shared/data/esc10``) and for the demo's
synthetic sounds it

1. preprocesses the clips (ESC-10: auDeep's settings, 0.08 / 0.04 s windows, 128 mel bands,
   5 s, clipped at -60 dB; synthetic: the demo's, 0.064 / 0.032 s, 64 bands, 2 s at 16 kHz),
2. trains an autoencoder with a **unidirectional** decoder (the only kind that can decode a
   code alone) and exports encoder and free-running decoder,
3. encodes every clip (float16 and float32 codes) and decodes them (Griffin-Lim, 32 iterations);
   ESC-10's files are 5.001 s long; they are encoded with ``segmentation="preprocess"`` (one
   code for the centred 5 s the model was trained on; the 22 samples at each end decode as
   silence),

and reports, against the original clip (mono, at the model's rate), in the same run:

* **bits per second** of the code: codes only, and the whole code file (side information, names,
  header, checksum);
* **spectral convergence** (SC, 0 is perfect, 1 is what silence scores) and **log-spectral
  distance** (LSD, dB, floor -80 dB) of the STFT magnitudes (``rae_fast.codec.metrics``);
* the same for the **ceiling of this design**: the Griffin-Lim reconstruction of the *unencoded*
  spectrogram (de-normalisation with the stored offsets, mel inversion, Griffin-Lim: everything
  but the autoencoder);
* **Ogg Opus** at the lowest rate soundfile/libsndfile offers (compression level 1.0, at 8 and
  16 kHz) and **Ogg Vorbis** at its lowest (compression level 1.0), through soundfile: what a
  user would otherwise pick; their bits per second are measured from the files;
* silence (all zeros), for scale.

    python benchmarks/decode_quality.py --work /tmp/decode-quality          # both corpora
    python benchmarks/decode_quality.py --work /tmp/dq --esc10-epochs 2 --esc10-clips 40

Stages whose output exists are skipped (rerun to resume). Results go to ``WORK/results.json``
and are printed as a Markdown table for ``docs/benchmarks.md``.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "esc10"


def log(msg: str) -> None:
    print(msg, flush=True)


def _mono_at(path: Path, sr: int) -> np.ndarray:
    from rae_fast.audio import fuse_channels, read_audio, resample

    y, file_sr = read_audio(path)
    y = fuse_channels(y, "mean")
    return np.asarray(resample(y, file_sr, sr) if file_sr != sr else y, np.float32)


def _scores(ref: np.ndarray, est: np.ndarray, sr: int):
    from rae_fast.codec import log_spectral_distance, spectral_convergence

    n_fft = 2048 if sr > 32000 else 1024
    kw = dict(n_fft=n_fft, hop_length=n_fft // 4)
    return spectral_convergence(ref, est, **kw), log_spectral_distance(ref, est, **kw)


def _ogg(y: np.ndarray, sr: int, subtype: str, codec_sr: int):
    """y through Ogg ``subtype`` at ``codec_sr`` (compression level 1.0): (decoded at sr,
    bits/s)."""
    from rae_fast.audio import resample

    x = resample(y, sr, codec_sr) if codec_sr != sr else y
    buf = io.BytesIO()
    sf.write(buf, np.clip(x, -1, 1), codec_sr, format="OGG", subtype=subtype,
             compression_level=1.0)
    bits = 8 * len(buf.getvalue()) / (len(y) / sr)
    buf.seek(0)
    z, zsr = sf.read(buf, dtype="float32")
    z = resample(z, zsr, sr) if zsr != sr else z
    return np.asarray(z, np.float32), bits


def _train(specs: Path, run: Path, layers: int, units: int, epochs: int, threads: int) -> None:
    from rae_fast.dataset import load
    from rae_fast.model import (AutoencoderConfig, TrainingConfig, export_decoder,
                                export_encoder, train)
    from rae_fast.preprocessing import FrontEnd

    if (run / "decoder.onnx").is_file():
        return
    ds = load(specs)
    fe = FrontEnd.from_dataset(ds.attrs, ds.feature_dims, ds.feature_shape)
    t = time.perf_counter()
    train(ds.features, run, AutoencoderConfig(num_features=ds.feature_shape[1], num_units=units,
                                              num_layers=layers),
          TrainingConfig(num_epochs=epochs, batch_size=64, seed=0),
          resume=(run / "checkpoints").is_dir(),
          n_threads=threads, progress=False, tensorboard=False,
          run_info={"frontend": fe.to_dict()})
    export_encoder(run, run / "encoder.onnx")
    export_decoder(run, run / "decoder.onnx", verify=True)
    log(f"   trained {layers} x {units} GRU (unidirectional decoder), {epochs} epochs in "
        f"{time.perf_counter() - t:.0f} s")


def corpus(name: str, audio: Path, work: Path, pre: dict, layers: int, units: int,
           epochs: int, n_clips: int, n_iter: int, threads: int,
           segmentation: str = "windows") -> dict:
    from rae_fast.codec import decode_codes, encode_files, read_codes
    from rae_fast.dataset import load
    from rae_fast.preprocessing import FeatureSettings, FrontEnd, preprocess

    work.mkdir(parents=True, exist_ok=True)
    specs = work / "specs.nc"
    if not specs.is_file():
        preprocess(audio, specs, FeatureSettings(**pre), workers=threads, progress=False)
    ds = load(specs, lazy=True)
    fe = FrontEnd.from_dataset(ds.attrs, ds.feature_dims, ds.feature_shape)
    sr = fe.sample_rate
    n_all = len(set(ds.filenames))
    ds.close()
    log(f"== {name}: {n_all} clips, features {fe.feature_shape} at {sr} Hz")
    run = work / "run"
    _train(specs, run, layers, units, epochs, threads)
    loss = (run / "loss.csv").read_text().strip().splitlines()[-1]

    # the clips measured: every n-th file (all by default), the same for every method
    files = sorted(p for p in audio.rglob("*") if p.suffix.lower() in (".wav", ".ogg", ".flac"))
    step = max(1, len(files) // n_clips) if n_clips else 1
    chosen = files[::step][: n_clips or None]
    listing = work / "clips.txt"
    listing.write_text("".join(f"{p}\n" for p in chosen))
    seconds = sum(sf.info(str(p)).duration for p in chosen)
    out = {"clips": len(chosen), "seconds": seconds, "sr": sr, "segmentation": segmentation,
           "layers": layers,
           "units": units, "epochs": epochs, "last_epoch_loss": loss, "rows": {}}
    decoded = {}
    for dtype in ("float16", "float32"):
        codes = work / f"codes_{dtype}.raec"
        t = time.perf_counter()
        res = encode_files(run / "encoder.onnx", [listing], codes, dtype=dtype,
                           segmentation=segmentation, progress=False, workers=threads,
                           n_threads=threads)
        t_enc = time.perf_counter() - t
        header, recs = read_codes(codes)
        n_codes = sum(r.n_instances for r in recs)
        code_bits = n_codes * header.bits_per_code()
        side_bits = n_codes * len(header.side) * 8 * header.itemsize
        dec_dir = work / f"decoded_{dtype}"
        t = time.perf_counter()
        dres = decode_codes(codes, run / "decoder.onnx", dec_dir, n_iter=n_iter, progress=False,
                            n_threads=threads)
        t_dec = time.perf_counter() - t
        decoded[dtype] = {Path(r.name).stem: p for r, p in zip(recs, dres.files)}
        out["rows"][f"autoencoder, {dtype} codes"] = {
            "bits_per_s_codes": code_bits / res.audio_seconds,
            "bits_per_s_codes_side": (code_bits + side_bits) / res.audio_seconds,
            "bits_per_s_file": res.bits_per_second, "encode_s": t_enc, "decode_s": t_dec}
    # the ceiling: Griffin-Lim of the unencoded features (the same inversion as decode)
    from rae_fast.dataset import read_extra_columns
    from rae_fast.preprocessing.inverse import features_to_audio

    ds = load(specs)
    extra = read_extra_columns(specs)
    rows = {}
    for i, f in enumerate(ds.filenames):
        rows.setdefault(str(f), []).append(i)
    ceiling = {}
    t = time.perf_counter()
    for p in chosen:
        idx = sorted(rows[p.relative_to(audio).as_posix()], key=lambda i: ds.chunk_nr[i])
        ceiling[p.stem] = features_to_audio(
            np.asarray(ds.features)[idx], fe.settings, sr, {c: extra[c][idx] for c in extra},
            chunks=len(idx), n_iter=n_iter, n_threads=threads)[0]
    out["ceiling_s"] = time.perf_counter() - t
    per = {}
    for p in chosen:
        y = _mono_at(p, sr)
        est = {f"autoencoder, {d} codes": sf.read(str(decoded[d][p.stem]), dtype="float32")[0]
               for d in decoded}
        est["Griffin-Lim of the unencoded spectrogram (ceiling)"] = ceiling[p.stem]
        for sub, csr in (("OPUS", 8000), ("OPUS", 16000), ("VORBIS", sr)):
            z, bits = _ogg(y, sr, sub, csr)
            key = f"Ogg {sub.title()} at {csr // 1000} kHz, compression level 1.0"
            est[key] = z
            per.setdefault(key + " bits", []).append(bits)
        est["silence"] = np.zeros_like(y)
        for key, z in est.items():
            sc, lsd = _scores(y, z, sr)
            per.setdefault(key, []).append((sc, lsd))
    for key, vals in per.items():
        if key.endswith(" bits"):
            continue
        arr = np.asarray(vals)
        row = out["rows"].setdefault(key, {})
        row.update(sc=float(arr[:, 0].mean()), lsd=float(arr[:, 1].mean()))
        if key + " bits" in per:
            row["bits_per_s_file"] = float(np.mean(per[key + " bits"]))
    return out


def table(results: dict) -> str:
    lines = []
    for name, r in results.items():
        lines.append(f"\n**{name}**: {r['clips']} clips ({r['seconds']:.0f} s) at {r['sr']} Hz; "
                     f"autoencoder {r['layers']} x {r['units']} GRU, unidirectional decoder, "
                     f"{r['epochs']} epochs (last loss.csv row: `{r['last_epoch_loss']}`); "
                     f"encode segmentation `{r.get('segmentation', 'windows')}`\n")
        lines.append("| method | bits/s (codes) | bits/s (file) | SC | LSD (dB) |")
        lines.append("| --- | ---: | ---: | ---: | ---: |")
        for key, row in r["rows"].items():
            codes = row.get("bits_per_s_codes")
            lines.append(f"| {key} | {'' if codes is None else f'{codes:.0f}'} | "
                         f"{row['bits_per_s_file']:.0f} | {row['sc']:.3f} | {row['lsd']:.1f} |"
                         if "bits_per_s_file" in row else
                         f"| {key} | | | {row['sc']:.3f} | {row['lsd']:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    from rae_fast._validation import default_threads

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="ESC-10 recordings")
    p.add_argument("--esc10-epochs", type=int, default=3)
    p.add_argument("--esc10-units", type=int, default=64)
    p.add_argument("--esc10-clips", type=int, default=0, help="clips measured (0: all)")
    p.add_argument("--synth-epochs", type=int, default=20)
    p.add_argument("--iterations", type=int, default=32, help="Griffin-Lim iterations")
    p.add_argument("--threads", type=int, default=default_threads())
    p.add_argument("--skip-esc10", action="store_true")
    args = p.parse_args(argv)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    t0 = time.perf_counter()

    from rae_fast.synth import make_demo_dataset

    synth_audio = work / "synth" / "audio"
    if not synth_audio.is_dir():
        make_demo_dataset(synth_audio, n_per_class=24, n_folds=4, sr=16000, seconds=2.0, seed=0)
    results["synthetic (the demo's six classes)"] = corpus(
        "synthetic", synth_audio, work / "synth",
        dict(window_width=0.064, window_overlap=0.032, mel_bands=64, clip_below=-60.0),
        layers=2, units=64, epochs=args.synth_epochs, n_clips=0, n_iter=args.iterations,
        threads=args.threads)
    if not args.skip_esc10:
        if not args.data.is_dir():
            log(f"ESC-10 not found at {args.data}: skipped")
        else:
            results["ESC-10"] = corpus(
                "ESC-10", args.data, work / "esc10",
                dict(window_width=0.08, window_overlap=0.04, mel_bands=128, fixed_length=5.0,
                     center_fixed=True, clip_below=-60.0),
                layers=2, units=args.esc10_units, epochs=args.esc10_epochs,
                n_clips=args.esc10_clips, n_iter=args.iterations, threads=args.threads,
                # the files are 5.001 s: one code per clip, for the centred 5 s the model was
                # trained on
                segmentation="preprocess")
    tmp = work / "results.json.tmp"
    tmp.write_text(json.dumps(results, indent=2))
    os.replace(tmp, work / "results.json")
    print(table(results))
    log(f"\n{time.perf_counter() - t0:.0f} s in all ({args.threads} threads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
