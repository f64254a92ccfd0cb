"""Encoder inference and one training step of the DCASE 2017 autoencoder (2 x 256 GRU).

Encoder: 2 layers x 256 GRU units, 128 mel bands, 125 time steps (5 s at auDeep's 0.08 s /
0.04 s windows), batches of 1, 64 and 500, with 1 and 2 threads. Peers in the same run:

- ``rae_fast-ort``: :class:`rae_fast.inference.OnnxModel` (ONNX Runtime CPU; the batch is cut into
  chunks that the threads run concurrently, each single-threaded inside ONNX Runtime);
- ``ort-session``: a plain ``onnxruntime.InferenceSession`` on the same file with
  ``intra_op_num_threads`` = threads, whole batch per call (what a user gets without our class);
- ``torch-eager``: ``RecurrentAutoencoder.encode`` under ``torch.inference_mode()`` with
  ``torch.set_num_threads(threads)``.

Goals (speed is reported, not asserted): rae_fast-ort at least 1.1x torch-eager at batch 64
and at least 2x at batch 1.

Training: one Adam step (forward, RMSE, backward, clipping, update) of the paper's model
(2 x 256 GRU, bidirectional decoder) on a batch of 64, seconds per step, 1 and 2 threads.

    python -m pytest benchmarks/bench_inference.py --benchmark-only --benchmark-json=inf.json
    python benchmarks/ratios.py inf.json
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from rae_fast.inference import OnnxModel  # noqa: E402
from rae_fast.model import AutoencoderConfig, RecurrentAutoencoder, rmse  # noqa: E402
from rae_fast.model.onnx_export import export_encoder  # noqa: E402

F, T = 128, 125
PAPER = AutoencoderConfig(num_features=F, num_layers=2, num_units=256,
                          bidirectional_decoder=True)
ROUNDS = {1: 50, 64: 5, 500: 3}


@pytest.fixture(scope="module")
def paper_model(tmp_path_factory):
    torch.manual_seed(0)
    model = RecurrentAutoencoder(PAPER).eval()
    path = export_encoder(model, tmp_path_factory.mktemp("onnx") / "encoder.onnx")
    return model, path


@pytest.fixture(scope="module")
def batches():
    rng = np.random.default_rng(0)
    return {b: rng.uniform(-1, 1, (b, T, F)).astype(np.float32) for b in ROUNDS}


@pytest.fixture()
def torch_threads():
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


@pytest.mark.parametrize("threads", [1, 2], ids=lambda t: f"t{t}")
@pytest.mark.parametrize("batch", [1, 64, 500], ids=lambda b: f"b{b}")
@pytest.mark.parametrize("peer", ["rae_fast-ort", "ort-session", "torch-eager"])
def bench_encoder(benchmark, paper_model, batches, torch_threads, peer, batch, threads):
    model, path = paper_model
    x = batches[batch]
    benchmark.group = f"encoder 2x256 GRU, {F} features, {T} steps, batch {batch}, " \
                      f"{threads} thread(s)"
    benchmark.extra_info.update(peer=peer, batch=batch, threads=threads)
    if peer == "rae_fast-ort":
        runner = OnnxModel(path, device="cpu", n_threads=threads)

        def fn():
            return runner.encode(x)
    elif peer == "ort-session":
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

        def fn():
            return sess.run(None, {"features": x})[0]
    else:
        torch_threads(threads)
        xt = torch.from_numpy(x)

        def fn():
            with torch.inference_mode():
                return model.encode(xt)
    out = benchmark.pedantic(fn, rounds=ROUNDS[batch], iterations=1, warmup_rounds=1)
    assert np.asarray(out).shape == (batch, PAPER.representation_size)
    if peer == "rae_fast-ort":
        runner.close()


@pytest.mark.parametrize("threads", [1, 2], ids=lambda t: f"t{t}")
def bench_training_step(benchmark, torch_threads, threads):
    torch_threads(threads)
    torch.manual_seed(0)
    model = RecurrentAutoencoder(PAPER).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.from_numpy(np.random.default_rng(1).uniform(-1, 1, (64, T, F)).astype(np.float32))
    benchmark.group = f"training step, paper model (2x256 GRU, bidirectional decoder), batch 64, " \
                      f"{threads} thread(s)"
    benchmark.extra_info.update(peer="rae_fast", threads=threads)

    def step():
        opt.zero_grad(set_to_none=True)
        recon, _ = model(x)
        loss = rmse(recon, x)
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), 2.0)
        opt.step()
        return float(loss)

    loss = benchmark.pedantic(step, rounds=3, iterations=1, warmup_rounds=1)
    assert np.isfinite(loss)
