"""Shared pytest fixtures: small audio files and collections on disk, ESC-10, tiny data sets.

Fixtures (all generated on the fly in temporary folders, nothing is downloaded):

``esc10_path``       Path of the ESC-10 recordings (``<repo>/../shared/data/esc10``); skips the
                     test when they are missing.
``write_audio``      ``write_audio(path, duration=1.0, sr=16000, channels=1, seed=0,
                     subtype=None) -> Path``: a tone-plus-noise clip in the format given by the
                     suffix (.wav, .flac, .ogg, .aiff, ...).
``make_collection``  ``make_collection(layout, labels=("bird", "car", "dog"), per_label=4,
                     duration=1.0, sr=16000, channels=1, exts=(".wav", ".flac", ".ogg"))
                     -> (basedir, rows)``: a small collection in one of the layouts of
                     :mod:`rae_fast.layouts` (``esc``, ``esc50``, ``dcase``,
                     ``urbansound8k``, ``partitioned``, ``cross_validated``,
                     ``class_folders``, ``no_metadata``); ``rows`` lists one dict per file
                     with ``filename`` (relative path), ``label``, ``fold`` (1-based or None),
                     ``partition`` (name or None).
``one_torch_thread`` torch limited to one thread for the test (tiny models gain nothing from
                     more, and one thread cannot be slowed by OpenMP barriers when other jobs
                     share the cores); modules use ``pytestmark =
                     pytest.mark.usefixtures("one_torch_thread")``.
``ray_cluster``      (module scope) a real local Ray cluster: a head node and a second worker
                     node on loopback, one CPU each (``tests/_ray_cluster.py``), stopped after
                     the module with a check that none of its processes is left; skips
                     without Ray (``pip install 'rae_fast[ray]'``).
``make_dataset``     ``make_dataset(n=12, feature_shape=(10, 8), n_labels=3, n_folds=2,
                     seed=0, feature_dims=None) -> DataSet``: random in-memory data set with
                     labels ``class0..``, one validation fold per instance (round robin),
                     partitions 0/1/2 in turn, chunk 0 everywhere; dims default to
                     ``("generated",)`` for 1-D and ``("time", "freq")`` for 2-D features.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
ESC10 = Path(__file__).resolve().parents[2] / "shared" / "data" / "esc10"


@pytest.fixture
def one_torch_thread():
    """torch.set_num_threads(1) for one test, restored afterwards."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def ray_cluster():
    """A local two-node Ray cluster for the tests of one module (see tests/_ray_cluster.py)."""
    pytest.importorskip("ray")
    from _ray_cluster import LocalRayCluster

    cluster = LocalRayCluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def esc10_path() -> Path:
    """The ESC-10 recordings (400 Ogg clips); skip when they are not available."""
    if not ESC10.is_dir() or not any(ESC10.glob("*/*.ogg")):
        pytest.skip(f"ESC-10 recordings not found at {ESC10}")
    return ESC10


def _signal(duration: float, sr: int, channels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = max(1, int(round(duration * sr)))
    t = np.arange(n) / sr
    f0 = rng.uniform(200, 2000)
    out = np.empty((n, channels), np.float32)
    for c in range(channels):
        tone = 0.4 * np.sin(2 * np.pi * f0 * (1 + 0.1 * c) * t + rng.uniform(0, 6.28))
        out[:, c] = tone * np.hanning(n) + 0.05 * rng.standard_normal(n)
    return out


@pytest.fixture
def write_audio():
    """Factory writing one synthetic clip; the format follows the file suffix."""
    import soundfile as sf

    def write(path, duration: float = 1.0, sr: int = 16000, channels: int = 1, seed: int = 0,
              subtype=None) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        y = _signal(duration, sr, channels, seed)
        if subtype is None and path.suffix.lower() == ".ogg":
            subtype = "VORBIS"
        sf.write(str(path), y, sr, subtype=subtype)
        return path

    return write


def _write_collection(root: Path, layout: str, labels, per_label: int, duration: float, sr: int,
                      channels: int, exts, write):
    rows = []
    n_folds = 5 if layout in ("esc", "esc50") else (10 if layout == "urbansound8k" else 4)
    k = 0
    for li, label in enumerate(labels):
        for j in range(per_label):
            ext = exts[k % len(exts)]
            fold = j % n_folds + 1
            row = {"label": label, "fold": None, "partition": None, "seed": k}
            if layout == "esc":
                ext = ".ogg"
                rel = f"{li + 1:03d} - {label}/{fold}-{1000 + k}-A{ext}"
                row["fold"] = fold
            elif layout == "esc50":
                ext = ".wav"
                rel = f"audio/{fold}-{1000 + k}-A{ext}"
                row.update(fold=fold, target=li)
            elif layout == "dcase":
                rel = f"audio/{label}_{k:03d}{ext}"
                row["fold"] = fold
            elif layout == "urbansound8k":
                rel = f"audio/fold{fold}/{1000 + k}-{li}-0-0{ext}"
                row.update(fold=fold, target=li)
            elif layout == "partitioned":
                part = ("train", "devel", "test")[j % 3]
                rel = f"{part}/{label}/{label}_{k:03d}{ext}"
                row["partition"] = part
            elif layout == "cross_validated":
                rel = f"fold_{fold}/{label}/{label}_{k:03d}{ext}"
                row["fold"] = fold
            elif layout == "class_folders":
                rel = f"{label}/{label}_{k:03d}{ext}"
            elif layout == "no_metadata":
                rel = f"sub{j % 2}/deeper/{label}_{k:03d}{ext}" if j % 3 else f"{label}_{k:03d}{ext}"
                row["label"] = None
            else:
                raise ValueError(f"unknown layout {layout!r}")
            write(root / rel, duration=duration, sr=sr, channels=channels, seed=k)
            row["filename"] = rel
            rows.append(row)
            k += 1
    if layout == "esc50":
        (root / "meta").mkdir()
        lines = ["filename,fold,target,category,esc10,src_file,take"]
        for r in rows:
            name = r["filename"].split("/", 1)[1]
            lines.append(f"{name},{r['fold']},{r['target']},{r['label']},"
                         f"{'True' if r['target'] % 2 == 0 else 'False'},{r['seed']},A")
        (root / "meta" / "esc50.csv").write_text("\n".join(lines) + "\n")
    elif layout == "dcase":
        (root / "evaluation_setup").mkdir()
        (root / "meta.txt").write_text("".join(f"{r['filename']}\t{r['label']}\tx{r['seed']}\n"
                                               for r in rows))
        for f in range(1, n_folds + 1):
            (root / "evaluation_setup" / f"fold{f}_train.txt").write_text("".join(
                f"{r['filename']}\t{r['label']}\n" for r in rows if r["fold"] != f))
    elif layout == "urbansound8k":
        (root / "metadata").mkdir()
        lines = ["slice_file_name,fsID,start,end,salience,fold,classID,class"]
        for r in rows:
            name = r["filename"].rsplit("/", 1)[1]
            lines.append(f"{name},{r['seed']},0.0,1.0,1,{r['fold']},{r['target']},{r['label']}")
        (root / "metadata" / "UrbanSound8K.csv").write_text("\n".join(lines) + "\n")
    return rows


@pytest.fixture
def make_collection(tmp_path, write_audio):
    """Factory building a small collection in a given layout; returns ``(basedir, rows)``."""
    counter = [0]

    def make(layout: str = "class_folders", labels=("bird", "car", "dog"), per_label: int = 4,
             duration: float = 1.0, sr: int = 16000, channels: int = 1,
             exts=(".wav", ".flac", ".ogg")):
        counter[0] += 1
        root = tmp_path / f"collection{counter[0]}_{layout}"
        root.mkdir()
        rows = _write_collection(root, layout, labels, per_label, duration, sr, channels,
                                 tuple(exts), write_audio)
        return root, rows

    return make


@pytest.fixture
def make_dataset():
    """Factory for a random in-memory DataSet with labels, folds and partitions."""
    from rae_fast.dataset import DataSet

    def make(n: int = 12, feature_shape=(10, 8), n_labels: int = 3, n_folds: int = 2,
             seed: int = 0, feature_dims=None):
        rng = np.random.default_rng(seed)
        nd = len(feature_shape)
        dims = feature_dims or {1: ("generated",), 2: ("time", "freq")}.get(
            nd, tuple(f"d{i}" for i in range(nd)))
        labels = [f"class{i % n_labels}" for i in range(n)]
        cv = np.zeros((n, n_folds), np.int8)
        if n_folds:
            cv[np.arange(n), np.arange(n) % n_folds] = 1
        return DataSet(rng.standard_normal((n,) + tuple(feature_shape)).astype(np.float32), dims,
                       [f"file{i:03d}.wav" for i in range(n)], chunk_nr=np.zeros(n, np.int64),
                       label_nominal=labels, cv_folds=cv, partition=np.arange(n) % 3)

    return make
