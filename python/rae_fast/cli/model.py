"""``rae-fast train | export-onnx | generate | reconstruct``: the autoencoder commands
(``diagnose`` is in :mod:`rae_fast.cli.diagnostics`).

::

    rae-fast train --input specs.nc --run-dir RUN --num-layers 2 --num-units 256 \\
        --bidirectional-decoder --num-epochs 64
    rae-fast train --input specs.nc --run-dir RUN --num-epochs 80 --continue
    rae-fast export-onnx RUN          # RUN/encoder.onnx, RUN/autoencoder.onnx (+ RUN/decoder.onnx)
    rae-fast generate --model RUN/encoder.onnx --input specs.nc --output reps.nc
    rae-fast reconstruct --model RUN/autoencoder.onnx --input specs.nc --output recon.nc
    rae-fast reconstruct --model RUN --input specs.nc --output recon.nc   # free-running

``train`` and ``export-onnx`` need PyTorch (``rae_fast[train]``); ``generate`` and
``reconstruct`` with an ``.onnx`` model need only ONNX Runtime (``rae_fast[cpu]`` or ``[gpu]``).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ._ray import RAY_FLAGS, add_ray_option
from ._types import finite_float, positive_int

log = logging.getLogger("rae_fast.cli.model")

_ARCH_FIELDS = ("num_layers", "num_units", "cell", "bidirectional_encoder",
                "bidirectional_decoder", "dropout", "encoder_noise", "feed_previous_prob",
                "architecture", "freq_window_width", "freq_window_overlap", "num_f_layers",
                "num_f_units", "bidirectional_f_encoder", "bidirectional_f_decoder",
                "f_encoder_noise", "f_feed_previous_prob", "gru_variant", "decoder_projection",
                "decoder_input_shift", "decoder_inputs", "decoder_input_dropout")
_TRAIN_FIELDS = ("num_epochs", "batch_size", "learning_rate", "clip_value", "seed",
                 "mask_silence")
#: auDeep's ft-rae defaults for the time part (its --num-t-layers / --num-t-units).
_FT_RAE_TIME_DEFAULTS = {"num_layers": 2, "num_units": 128}


def _progress(args) -> Optional[bool]:
    return False if getattr(args, "quiet", False) else None


def _add_runtime_options(p: argparse.ArgumentParser, torch_device: bool = False) -> None:
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="where to run: auto (CUDA when available), cpu or cuda (default auto)")
    p.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help="CPU threads (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


# ------------------------------------------------------------------------------- train

def _load_training_inputs(paths: List[Path]):
    from ..dataset import load
    from ..preprocessing import FrontEnd

    feats, shape, names, dims, frontends = [], None, [], None, []
    for path in paths:
        ds = load(path)
        frontends.append(FrontEnd.from_dataset(ds.attrs, ds.feature_dims, ds.feature_shape))
        if len(ds.feature_dims) != 2:
            raise ValueError(f"{path}: training needs 2-D features per instance (time, frequency), "
                             f"got feature_dims {ds.feature_dims}")
        if len(ds) == 0:
            raise ValueError(f"{path} holds no instances")
        if shape is None:
            shape, dims = ds.feature_shape, ds.feature_dims
        elif ds.feature_shape != shape:
            raise ValueError(f"{path}: feature shape {ds.feature_shape} differs from {shape} of "
                             f"{paths[0]}; all --input files must have the same shape")
        feats.append(ds.features)
        names.append(str(path))
    x = feats[0] if len(feats) == 1 else np.concatenate(feats)
    # the model can embed audio itself only when every input came through one front end
    frontend = frontends[0] if all(f is not None and f == frontends[0] for f in frontends) \
        else None
    return x, names, dims, frontend


def _continue_command(args) -> str:
    """The command line that continues this run: the one given, with ``--continue``."""
    import shlex

    argv = [str(a) for a in (getattr(args, "argv", None) or
                             ["train", "--run-dir", str(args.run_dir)])]
    if "--continue" not in argv:
        argv.append("--continue")
    return shlex.join(["rae-fast", *argv])


def _train_next_step(args) -> str:
    """What to run after an interrupted or failed ``train``.

    Continuing a run is explicit (``--continue``), as in auDeep and PyTorch Lightning
    (``ckpt_path="last"``): running the same command again refuses a run directory that holds
    checkpoints, so that a finished or different run is never extended by accident."""
    from ..model.checkpoints import list_checkpoints

    done = list_checkpoints(args.run_dir)
    if not done:
        return "run the same command again (no epoch was completed)"
    return (f"continue from epoch {done[-1][0]} (saved in {args.run_dir}) with: "
            f"{_continue_command(args)}")


def _train_interrupt_hint(args) -> str:
    return _train_next_step(args)


def _cmd_train(args) -> int:
    from .._io import WriteError
    from ..model import AutoencoderConfig, TrainingConfig, train
    from ..model.checkpoints import read_run_config

    run_dir = Path(args.run_dir)
    x, names, dims, frontend = _load_training_inputs([Path(p) for p in args.input])
    arch: Dict[str, Any] = {k: getattr(args, k) for k in _ARCH_FIELDS
                            if getattr(args, k, None) is not None}
    if args.keep_prob is not None:
        if not 0.0 < args.keep_prob <= 1.0:
            raise ValueError(f"--keep-prob must be in (0, 1], got {args.keep_prob}")
        arch["dropout"] = 1.0 - args.keep_prob
    training: Dict[str, Any] = {k: getattr(args, k) for k in _TRAIN_FIELDS
                                if getattr(args, k, None) is not None}
    if args.continue_training:
        saved = read_run_config(run_dir)
        model_cfg = AutoencoderConfig.from_dict({**saved["model"], **arch})
        train_cfg = TrainingConfig.from_dict({**saved["training"], **training})
    else:
        if arch.get("architecture") == "ft-rae":
            arch = {**_FT_RAE_TIME_DEFAULTS, **arch}
        model_cfg = AutoencoderConfig(num_features=int(x.shape[2]), **arch)
        train_cfg = TrainingConfig(**training)
    common = dict(resume=args.continue_training, progress=_progress(args),
                  keep_checkpoints=args.keep_checkpoints,
                  run_info={"inputs": names, "feature_dims": list(dims),
                            "frontend": None if frontend is None else frontend.to_dict()})
    try:
        if args.ray is not None:
            from ..distributed import train as ray_train

            if args.num_workers is None:
                raise ValueError("--ray needs --num-workers N (the training processes on the "
                                 "cluster)")
            result = ray_train(x, run_dir, model_cfg, train_cfg, num_workers=args.num_workers,
                               address=args.ray, use_gpu=args.device == "cuda",
                               n_threads=args.threads or 1, **common)
        elif (args.num_workers or 1) > 1:
            from ..model.parallel import train_parallel

            result = train_parallel(x, run_dir, model_cfg, train_cfg,
                                    num_workers=args.num_workers, device=args.device,
                                    n_threads=args.threads, **common)
        else:
            result = train(x, run_dir, model_cfg, train_cfg, device=args.device,
                           n_threads=args.threads, **common)
    except WriteError as exc:                    # a full disk: say how to go on
        if exc.note is None:
            exc.note = "free some space, then " + _train_next_step(args)
        raise
    last = f"{result.losses[-1]:.5f}" if result.losses else "n/a"
    cfg = result.model.config
    per = " per frame" if cfg.frame_representation else ""
    procs = f" with {args.num_workers} processes" if (args.num_workers or 1) > 1 else ""
    print(f"trained {result.epoch} epoch(s) of {cfg.architecture} in {run_dir}{procs}: loss "
          f"{last}; representation size {cfg.representation_size}{per}; next: rae-fast "
          f"export-onnx "
          f"{run_dir}")
    return 0


# ------------------------------------------------------------------------- export-onnx

def _cmd_export(args) -> int:
    from ..model import export_autoencoder, export_decoder, export_encoder
    from ..model.decoder_export import free_run_obstacle
    from ..model.onnx_export import read_verified_difference
    from ..model.checkpoints import load_model, read_run_frontend

    run_dir = Path(args.run)
    model = load_model(run_dir, epoch=args.epoch, device="cpu")
    enc_path = Path(args.output) if args.output else run_dir / "encoder.onnx"
    ae_path = None
    if not args.no_autoencoder:
        ae_path = Path(args.autoencoder_output) if args.autoencoder_output \
            else run_dir / "autoencoder.onnx"
    dec_path, dec_note = None, ""
    why = free_run_obstacle(model)
    if args.decoder_output and why is not None:
        raise ValueError(f"--decoder-output: there is no decoder to export: {why}")
    if not args.no_decoder and why is None:
        dec_path = Path(args.decoder_output) if args.decoder_output else run_dir / "decoder.onnx"
    elif not args.no_decoder:
        dec_note = f"; no decoder.onnx: {why}"
    verify = not args.no_verify
    frontend = read_run_frontend(run_dir)
    export_encoder(model, enc_path, method=args.method, verify=verify, frontend=frontend,
                   pool_states=args.pool_states)
    written = [enc_path]
    try:
        if ae_path is not None:
            export_autoencoder(model, ae_path, verify=verify, frontend=frontend)
            written.append(ae_path)
        if dec_path is not None:
            export_decoder(model, dec_path, verify=verify, frontend=frontend)
            written.append(dec_path)
    except BaseException:
        for p in written:                            # all or nothing
            p.unlink(missing_ok=True)
        raise
    msg = "wrote " + ", ".join(str(p) for p in written)
    if verify:
        diffs = [read_verified_difference(p) for p in written]
        if all(d is not None for d in diffs):
            msg += f" (ONNX Runtime vs PyTorch: max |diff| {max(diffs):.1e})"
    print(msg + dec_note)
    if frontend is not None:
        print(f"the model carries its preprocessing: embed audio with rae-fast embed --model "
              f"{enc_path} AUDIO... --output OUT.csv")
    else:
        print("the model carries no preprocessing (its training data did not come from rae-fast "
              "preprocess): use it with rae-fast generate on preprocessed data", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------- generate

def _model_file(path: Path, default_name: str) -> Path:
    if path.is_dir():
        candidate = path / default_name
        if not candidate.is_file():
            raise FileNotFoundError(f"{path} has no {default_name}; run rae-fast export-onnx "
                                    f"{path} first")
        return candidate
    return path


def _cmd_generate(args) -> int:
    from ..inference import OnnxModel, generate

    model_path = _model_file(Path(args.model), "encoder.onnx")
    if args.ray is not None:
        from ..distributed import generate as ray_generate

        if args.threads is not None:
            raise ValueError("--threads applies without --ray (each Ray task encodes with one "
                             "thread)")
        out = ray_generate(model_path, args.input, args.output, batch_size=args.batch_size,
                           device=args.device, resume=not args.restart,
                           progress=_progress(args), chunk_size=args.chunk_size,
                           address=args.ray)
        print(f"wrote {out}: representations computed on the Ray cluster")
        return 0
    with OnnxModel(model_path, device=args.device, n_threads=args.threads,
                   chunk_size=args.chunk_size) as model:
        out = generate(model, args.input, args.output, batch_size=args.batch_size,
                       resume=not args.restart, progress=_progress(args))
        print(f"wrote {out}: representations of size {model.representation_size} "
              f"({model.device})")
    return 0


# ------------------------------------------------------------------------- reconstruct

_MODE_TEXT = {
    "free_running": "free-running (the decoder sees only the representation and its own "
                    "previous outputs)",
    "teacher_forcing": "teacher-forced (the decoder gets the expected previous frame at every "
                       "step, as in training)",
}


def _reconstruction_mode(args, from_run: bool, bidirectional_decoder: bool) -> Tuple[bool, str]:
    """``(free_running, why)`` from --free-running / --teacher-forcing and the model."""
    if args.mode == "free":
        if not from_run:
            raise ValueError("--free-running needs the run directory as --model (the ONNX "
                             "autoencoder is teacher-forced)")
        if bidirectional_decoder:
            raise ValueError("--free-running needs a unidirectional decoder (this run has a "
                             "bidirectional decoder, which always needs the expected frames)")
        return True, "--free-running"
    if args.mode == "teacher":
        return False, "--teacher-forcing"
    if not from_run:
        return False, "the ONNX autoencoder is always teacher-forced"
    if bidirectional_decoder:
        return False, ("default for a bidirectional decoder, which cannot run free: its "
                       "backward direction needs the expected later frames")
    return True, "default for a unidirectional decoder run from PyTorch"


def _cmd_reconstruct(args) -> int:
    from ..inference import OnnxModel, reconstruct

    _check_audio_source(args)
    source = Path(args.model)
    if source.is_dir():
        from ..model.checkpoints import load_model

        model = load_model(source, epoch=args.epoch, device=args.device)
        free, why = _reconstruction_mode(args, True, model.config.bidirectional_decoder)
        if args.threads:
            import torch
            torch.set_num_threads(args.threads)
        from ..model import TorchModelRunner

        runner = TorchModelRunner(model, source, free_running=free)
        mode = runner.reconstruction_mode
        out, err = reconstruct(runner, args.input, args.output, rmse_path=args.rmse_csv,
                               batch_size=args.batch_size, progress=_progress(args))
    else:
        free, why = _reconstruction_mode(args, False, False)
        if args.epoch is not None:
            raise ValueError("--epoch applies to a run directory, not to an .onnx file")
        with OnnxModel(source, device=args.device, n_threads=args.threads) as runner:
            mode = runner.reconstruction_mode
            out, err = reconstruct(runner, args.input, args.output, rmse_path=args.rmse_csv,
                                   batch_size=args.batch_size, progress=_progress(args))
    print(f"reconstruction mode: {_MODE_TEXT[mode]} [{why}]; stored in the output's "
          f"attribute reconstruction_mode = {mode!r}")
    print(f"wrote {out}: reconstruction RMSE mean {err.mean():.5f}, min {err.min():.5f}, "
          f"max {err.max():.5f}")
    if args.audio is not None:
        from ..codec import dataset_to_audio

        files = dataset_to_audio(out, args.input, args.audio, format=args.audio_format,
                                 n_iter=args.iterations, progress=_progress(args),
                                 n_threads=args.threads)
        print(f"wrote {len(files)} audio file(s) of the reconstructions to {args.audio} "
              f"(Griffin-Lim, {args.iterations} iterations)")
    return 0


def _check_audio_source(args) -> None:
    """--audio needs the offsets that preprocess stores: refuse before reconstructing."""
    if args.audio is None:
        return
    from ..dataset import load, read_extra_columns
    from ..preprocessing import OFFSET_COLUMNS, FrontEnd

    missing = [c for c in OFFSET_COLUMNS if c not in read_extra_columns(args.input)]
    if missing:
        raise ValueError(f"--audio: {args.input} lacks the normalisation offsets "
                         f"({', '.join(missing)}) that decoding needs (preprocessed by an older "
                         "rae_fast, or not by rae-fast preprocess); preprocess the audio again")
    ds = load(args.input, lazy=True)
    try:
        if FrontEnd.from_dataset(ds.attrs, ds.feature_dims, ds.feature_shape) is None:
            raise ValueError(f"--audio: {args.input} does not say how its features were "
                             "computed (not written by rae-fast preprocess)")
    finally:
        ds.close()
    if Path(args.audio).exists() and not Path(args.audio).is_dir():
        raise NotADirectoryError(f"--audio {args.audio} exists and is not a folder")


# ----------------------------------------------------------------------------- register

def register(subparsers) -> None:
    """Add ``train``, ``export-onnx``, ``generate``, ``reconstruct`` and ``diagnose`` to the CLI."""
    p = subparsers.add_parser(
        "train", help="train a recurrent autoencoder on stored spectrograms",
        description="Train auDeep's recurrent sequence-to-sequence autoencoder. Checkpoints "
                    "are written to RUN/checkpoints after every epoch; --continue resumes. "
                    "Defaults are auDeep's (the DCASE 2017 paper used --num-layers 2 "
                    "--num-units 256 --bidirectional-decoder).")
    p.add_argument("--input", nargs="+", required=True, metavar="FILE",
                   help="netCDF data sets of spectrograms (same feature shape)")
    p.add_argument("--run-dir", "--run-name", dest="run_dir", required=True, metavar="RUN",
                   help="directory for config.json, checkpoints/ and loss.csv")
    arch = p.add_argument_group("architecture (ignored with --continue unless given)")
    arch.add_argument("--architecture", type=str.lower, choices=["t-rae", "f-rae", "ft-rae"],
                      default=None,
                      help="auDeep's time- (default), frequency- or frequency-time-recurrent "
                           "autoencoder; f-rae gives one representation per frame")
    arch.add_argument("--num-layers", "--num-t-layers", type=positive_int, default=None,
                      help="recurrent layers of encoder and decoder (ft-rae: of the time part; "
                           "default 1, ft-rae 2)")
    arch.add_argument("--num-units", "--num-t-units", type=positive_int, default=None,
                      help="units per layer (default 16, ft-rae 128)")
    arch.add_argument("--cell", type=str.lower, choices=["gru", "lstm"], default=None,
                      help="recurrent cell (default gru)")
    arch.add_argument("--gru-variant", type=str.lower, choices=["pytorch", "tensorflow"],
                      default=None,
                      help="tensorflow: auDeep's GRU (reset gate before the recurrent product, "
                           "TensorFlow's initialisation); default pytorch")
    arch.add_argument("--bidirectional-encoder", "--bidirectional-t-encoder",
                      action="store_true", default=None, help="bidirectional encoder")
    arch.add_argument("--bidirectional-decoder", "--bidirectional-t-decoder",
                      action="store_true", default=None, help="bidirectional decoder")
    arch.add_argument("--freq-window-width", type=positive_int, default=None,
                      help="f-rae/ft-rae: frequency bands per window (default 32)")
    arch.add_argument("--freq-window-overlap", type=int, default=None,
                      help="f-rae/ft-rae: bands shared by neighbouring windows (default 24)")
    arch.add_argument("--num-f-layers", type=positive_int, default=None,
                      help="ft-rae: layers of the frequency encoder and decoder (default 1)")
    arch.add_argument("--num-f-units", type=positive_int, default=None,
                      help="ft-rae: units per frequency layer (default 64)")
    arch.add_argument("--bidirectional-f-encoder", action="store_true", default=None,
                      help="ft-rae: bidirectional frequency encoder")
    arch.add_argument("--bidirectional-f-decoder", action="store_true", default=None,
                      help="ft-rae: bidirectional frequency decoder")
    arch.add_argument("--decoder-projection", type=str.lower,
                      choices=["single", "per-direction"], default=None,
                      help="t-rae output layer: single (the paper, default) or per-direction "
                           "(auDeep's code: each direction to F with tanh, then a second layer)")
    arch.add_argument("--decoder-input-shift", type=int, choices=[1, 2], default=None,
                      help="steps between a frame and the decoder input showing it: 1 (the "
                           "paper, default) or 2 (auDeep's code)")
    arch.add_argument("--decoder-inputs", type=str.lower, choices=["targets", "none"],
                      default=None,
                      help="none: the decoders read no expected frames (zeros), everything "
                           "must come through the representation (default targets)")
    arch.add_argument("--decoder-input-dropout", type=finite_float, default=None,
                      help="training: probability of zeroing a decoder input step (default 0)")
    drop = arch.add_mutually_exclusive_group()
    drop.add_argument("--keep-prob", type=finite_float, default=None,
                      help="keep probability of the dropout on RNN inputs/outputs (default 0.8)")
    drop.add_argument("--dropout", type=finite_float, default=None,
                      help="dropout probability (= 1 - keep-prob; default 0.2)")
    arch.add_argument("--encoder-noise", "--t-encoder-noise", type=finite_float, default=None,
                      help="probability of zeroing an encoder input time step (default 0)")
    arch.add_argument("--f-encoder-noise", type=finite_float, default=None,
                      help="f-rae/ft-rae: probability of zeroing a frequency window (default 0)")
    arch.add_argument("--feed-previous-prob", "--t-feed-previous-prob", type=finite_float,
                      default=None,
                      help="probability of feeding the decoder its own previous output "
                           "(a bidirectional decoder needs --decoder-projection "
                           "per-direction; default 0)")
    arch.add_argument("--f-feed-previous-prob", type=finite_float, default=None,
                      help="ft-rae: the same for the frequency decoder (default 0)")
    opt = p.add_argument_group("training")
    opt.add_argument("--num-epochs", type=positive_int, default=None, help="epochs (default 10)")
    opt.add_argument("--batch-size", type=positive_int, default=None,
                     help="instances per step (default 64)")
    opt.add_argument("--learning-rate", type=finite_float, default=None,
                     help="Adam learning rate (default 1e-3)")
    opt.add_argument("--clip-value", type=finite_float, default=None,
                     help="clip gradient entries to [-v, v] (default 2)")
    opt.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    opt.add_argument("--mask-silence", action="store_true", default=None,
                     help="auDeep's option: values at the -1 floor (silence, padding) add no "
                          "error to the loss")
    opt.add_argument("--continue", dest="continue_training", action="store_true",
                     help="continue the run in RUN from its newest checkpoint")
    opt.add_argument("--keep-checkpoints", type=positive_int, default=3, metavar="K",
                     help="keep the newest K checkpoints (default 3)")
    _add_runtime_options(p)
    g = p.add_argument_group("data-parallel training")
    g.add_argument("--num-workers", type=positive_int, default=None, metavar="N",
                   help="train in N processes with DistributedDataParallel (gloo on CPU, "
                        "NCCL on CUDA): local processes, or Ray Train workers with --ray; "
                        "--batch-size stays the global batch; --threads is per process "
                        "(default: the cores divided among the processes)")
    g.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="run the --num-workers processes on a Ray cluster with Ray Train "
                        "(auto, local, HOST:PORT; RUN must be on storage every node writes)")
    p.set_defaults(func=_cmd_train, interrupt_hint=_train_interrupt_hint,
                   flag_aliases={"resume": "--continue", **RAY_FLAGS})

    p = subparsers.add_parser(
        "export-onnx", help="export a trained model to ONNX",
        description="Write the encoder (features (batch, time, F) -> representation), the "
                    "whole autoencoder (teacher-forced reconstruction) and, for a "
                    "unidirectional decoder, the free-running decoder (representation -> "
                    "features, for rae-fast decode) as self-contained ONNX files with dynamic "
                    "batch and time axes, and check them against PyTorch.")
    p.add_argument("run", metavar="RUN", help="run directory of rae-fast train")
    p.add_argument("--output", "-o", default=None, metavar="ENCODER.onnx",
                   help="encoder file (default RUN/encoder.onnx)")
    p.add_argument("--autoencoder-output", default=None, metavar="AUTOENCODER.onnx",
                   help="autoencoder file (default RUN/autoencoder.onnx)")
    p.add_argument("--no-autoencoder", action="store_true",
                   help="do not export the (teacher-forced) autoencoder")
    p.add_argument("--decoder-output", default=None, metavar="DECODER.onnx",
                   help="free-running decoder for rae-fast decode (default RUN/decoder.onnx; "
                        "written for unidirectional decoders)")
    p.add_argument("--no-decoder", action="store_true", help="do not export the decoder")
    p.add_argument("--epoch", type=positive_int, default=None,
                   help="checkpoint to export (default the newest)")
    p.add_argument("--method", choices=["graph", "dynamo"], default="graph",
                   help="graph: build the ONNX graph from the weights (default); dynamo: "
                        "torch.onnx.export (encoder only, needs onnxscript>=0.7.1)")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the ONNX Runtime vs PyTorch check")
    p.add_argument("--pool-states", action="store_true",
                   help="the encoder's representation is followed by the time average of its "
                        "top layer's outputs (t-rae, ft-rae; no retraining needed)")
    p.set_defaults(func=_cmd_export)

    p = subparsers.add_parser(
        "generate", help="compute representations with an exported encoder (ONNX Runtime)",
        description="Run the exported encoder on every instance of a data set and write the "
                    "representations (feature dim 'generated') with all instance metadata. "
                    "An interrupted run continues where it stopped (unless --restart).")
    p.add_argument("--model", required=True, metavar="ENCODER.onnx",
                   help="exported encoder (or a run directory holding encoder.onnx)")
    p.add_argument("--input", required=True, metavar="SPECS.nc", help="input data set")
    p.add_argument("--output", required=True, metavar="REPS.nc", help="output data set")
    p.add_argument("--batch-size", type=positive_int, default=500,
                   help="instances per step (default 500)")
    p.add_argument("--chunk-size", type=positive_int, default=None,
                   help="instances per ONNX Runtime call on CPU (default 16)")
    p.add_argument("--restart", action="store_true",
                   help="ignore a partial output of an interrupted run")
    _add_runtime_options(p)
    add_ray_option(p)
    p.set_defaults(func=_cmd_generate, flag_aliases=dict(RAY_FLAGS))

    p = subparsers.add_parser(
        "reconstruct", help="write the autoencoder's reconstructions and their RMSE",
        description="Run the whole autoencoder on every instance and write the reconstructed "
                    "spectrograms (same layout and metadata as the input) plus a CSV of the "
                    "per-instance RMSE. Decoder mode: with a run directory (PyTorch) and a "
                    "unidirectional decoder the default is free-running (the decoder sees only "
                    "the representation and its own outputs: what the representation really "
                    "keeps); a bidirectional decoder cannot run free and is teacher-forced; an "
                    "ONNX autoencoder is always teacher-forced (the decoder gets the expected "
                    "previous frame at every step, as in training, which gives a lower RMSE). "
                    "The mode used is printed and stored in the output's attribute "
                    "reconstruction_mode.")
    p.add_argument("--model", required=True, metavar="AUTOENCODER.onnx|RUN",
                   help="exported autoencoder (ONNX Runtime) or a run directory (PyTorch)")
    p.add_argument("--input", required=True, metavar="SPECS.nc", help="input data set")
    p.add_argument("--output", required=True, metavar="RECON.nc", help="output data set")
    p.add_argument("--rmse-csv", default=None, metavar="CSV",
                   help="per-instance RMSE (default OUTPUT.rmse.csv)")
    p.add_argument("--batch-size", type=positive_int, default=100,
                   help="instances per step (default 100)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--free-running", dest="mode", action="store_const", const="free",
                      default=None,
                      help="the decoder sees only the representation and its own outputs (run "
                           "directory, unidirectional decoder; the default there)")
    mode.add_argument("--teacher-forcing", dest="mode", action="store_const", const="teacher",
                      help="the decoder gets the expected previous frame at every step, as in "
                           "training (the default for an .onnx model or a bidirectional "
                           "decoder)")
    p.add_argument("--epoch", type=positive_int, default=None,
                   help="with a run directory: checkpoint to use (default the newest)")
    p.add_argument("--audio", default=None, metavar="DIR",
                   help="also write the reconstructions as audio files to DIR (needs an input "
                        "written by rae-fast preprocess, which stores the normalisation "
                        "offsets)")
    p.add_argument("--audio-format", choices=["wav", "flac"], default="wav",
                   help="format of the --audio files (default wav)")
    p.add_argument("--iterations", type=positive_int, default=32,
                   help="Griffin-Lim iterations for --audio (default 32)")
    _add_runtime_options(p)
    p.set_defaults(func=_cmd_reconstruct)
