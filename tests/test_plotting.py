"""Pictures of autocorrelograms (rae_fast.plotting): valid PNG files of the right size, labelled
axes with units, the data actually drawn, clear errors, atomic saving, a clear message
without matplotlib."""
from __future__ import annotations

import re
import struct
import sys
import threading

import numpy as np
import pytest

import rae_fast

pytest.importorskip("matplotlib", reason="matplotlib (the 'plot' extra) is not installed")

from rae_fast.plotting import plot_autocorrelogram  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, "not a PNG file"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert data.rstrip(b"\0").endswith(b"IEND\xaeB`\x82"), "PNG is not complete"
    return width, height


@pytest.fixture(scope="module")
def acf():
    sr = 16000
    t = np.arange(sr) / sr
    y = np.sin(2 * np.pi * (200 + 200 * t) * t).astype(np.float32)
    A = rae_fast.autocorrelogram(y, sr=sr, frame_length=512, hop_length=256, max_lag=160)
    times, lags = rae_fast.autocorrelogram_axes(A.shape[1], A.shape[0], sr=sr, hop_length=256,
                                                frame_length=512)
    return A, times, lags


@pytest.mark.parametrize("kind", ["heatmap", "surface"])
@pytest.mark.parametrize("figsize,dpi", [(None, 100), ((5, 4), 60)])
def test_png_is_valid_with_labelled_axes(tmp_path, acf, kind, figsize, dpi):
    A, times, lags = acf
    path = tmp_path / "sub" / f"{kind}.png"
    fig = plot_autocorrelogram(A, times, lags, path, kind=kind, title="Glide", figsize=figsize,
                               dpi=dpi)
    w, h = png_size(path)
    fw, fh = figsize or ((8, 4.5) if kind == "heatmap" else (8, 6))
    assert (w, h) == (round(fw * dpi), round(fh * dpi))
    assert path.stat().st_size > 5000                    # a real picture, not an empty canvas
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Time (s)" and ax.get_ylabel() == "Delay (ms)"
    assert ax.get_title() == "Glide"
    assert len(fig.axes) == 2                            # the plot and its colour bar
    assert fig.axes[1].get_ylabel() == "Autocorrelation"
    if kind == "surface":
        assert ax.name == "3d" and ax.get_zlabel() == "Autocorrelation"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]   # no temp files


def test_heatmap_draws_the_data_on_its_axes(acf):
    A, times, lags = acf
    fig = plot_autocorrelogram(A, times, lags)
    mesh = fig.axes[0].collections[0]
    assert np.array_equal(np.asarray(mesh.get_array()).reshape(A.shape), A)
    x0, x1 = fig.axes[0].get_xlim()
    y0, y1 = fig.axes[0].get_ylim()
    dt, dl = times[1] - times[0], lags[1] - lags[0]
    np.testing.assert_allclose([x0, x1], [times[0] - dt / 2, times[-1] + dt / 2], rtol=1e-9)
    np.testing.assert_allclose([y0, y1], [lags[0] - dl / 2, lags[-1] + dl / 2], rtol=1e-9)
    # signed data: a diverging map centred on 0
    lo, hi = mesh.get_clim()
    assert mesh.get_cmap().name == "RdBu_r" and lo == -hi and hi == pytest.approx(np.abs(A).max())


def test_surface_draws_the_data(acf):
    A, times, lags = acf
    fig = plot_autocorrelogram(A, times, lags, kind="surface")
    ax = fig.axes[0]
    z0, z1 = ax.get_zlim()
    assert z0 <= A.min() + 1e-6 and z1 >= A.max() - 1e-6
    x0, x1 = ax.get_xlim()
    assert x0 <= times[0] and x1 >= times[-1]


def test_without_axes_counts_frames_and_lags(tmp_path):
    A = np.abs(np.random.default_rng(0).standard_normal((6, 9)))
    fig = plot_autocorrelogram(A, path=tmp_path / "idx.png")
    assert fig.axes[0].get_xlabel() == "Frame" and fig.axes[0].get_ylabel() == "Lag (samples)"
    mesh = fig.axes[0].collections[0]
    assert mesh.get_cmap().name == "magma"               # non-negative data: sequential map
    assert fig.axes[0].get_xlim() == pytest.approx((-0.5, 8.5))
    png_size(tmp_path / "idx.png")


def test_constant_picture_still_has_a_colour_scale(tmp_path):
    fig = plot_autocorrelogram(np.zeros((3, 3), np.float32), path=tmp_path / "zero.png")
    lo, hi = fig.axes[0].collections[0].get_clim()
    assert lo < hi
    png_size(tmp_path / "zero.png")


@pytest.mark.parametrize("suffix,magic", [(".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_other_formats_follow_the_suffix(tmp_path, acf, suffix, magic):
    A, times, lags = acf
    path = tmp_path / f"pic{suffix}"
    plot_autocorrelogram(A[:20, :20], times[:20], lags[:20], path)
    assert path.read_bytes().startswith(magic)


@pytest.mark.parametrize("kwargs,exc,needle", [
    (dict(A=np.zeros((1, 5), np.float32)), ValueError, "at least 2 lags and 2 frames"),
    (dict(A=np.zeros((5, 1), np.float32)), ValueError, "at least 2 lags and 2 frames"),
    (dict(A=np.zeros(5, np.float32)), ValueError, "2-D"),
    (dict(A=np.zeros((3, 3), np.int32)), TypeError, "A must be"),
    (dict(A=np.array([[0, np.nan], [1, 2]])), ValueError, "NaN"),
    (dict(A=np.zeros((3, 4)), times=np.arange(3.0)), ValueError, "times has 3 values"),
    (dict(A=np.zeros((3, 4)), lags_ms=np.array([0, 2, 1.0])), ValueError, "strictly increasing"),
    (dict(A=np.zeros((3, 4)), kind="contour"), ValueError, "kind"),
    (dict(A=np.zeros((3, 4)), dpi=0), ValueError, "dpi"),
    (dict(A=np.zeros((3, 4)), path="out.xyz"), ValueError, "cannot save a picture as .xyz"),
])
def test_bad_input_raises_clear_errors(tmp_path, monkeypatch, kwargs, exc, needle):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(exc, match=re.escape(needle)):
        plot_autocorrelogram(**kwargs)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failed_save_leaves_no_file(tmp_path, monkeypatch, acf, error):
    from matplotlib.figure import Figure

    def broken(self, fname, **kw):
        with open(fname, "wb") as fh:
            fh.write(PNG_MAGIC + b"half")
        raise error("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    target = tmp_path / "x.png"
    with pytest.raises(error):
        plot_autocorrelogram(*acf, path=target)
    assert list(tmp_path.iterdir()) == []


def test_missing_matplotlib_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=re.escape("pip install 'rae_fast[plot]'")):
        plot_autocorrelogram(np.zeros((3, 3), np.float32))


def test_plots_from_several_threads(tmp_path, acf):
    A, times, lags = acf
    errors = []

    def draw(i):
        try:
            plot_autocorrelogram(A, times, lags, tmp_path / f"t{i}.png",
                                 kind=("heatmap", "surface")[i % 2], dpi=40)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(4):
        png_size(tmp_path / f"t{i}.png")


# ------------------------------------------------------------ t-SNE and reconstructions

def test_tsne_png_coloured_by_label(tmp_path):
    pytest.importorskip("sklearn")
    from rae_fast.plotting import plot_tsne

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 16)) * 10
    labels = [f"c{i % 3}" for i in range(60)]
    X = np.stack([centres[i % 3] + rng.standard_normal(16) for i in range(60)])
    path = tmp_path / "tsne.png"
    fig, xy = plot_tsne(X, labels, path, perplexity=10, learning_rate=200)
    assert png_size(path) == (700, 600) and xy.shape == (60, 2)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["c0", "c1", "c2"]
    assert len(ax.collections) == 3                      # one colour per label
    # well separated clusters stay separated: every point's nearest neighbour has its label
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + np.eye(60) * 1e9
    assert all(labels[j] == labels[i] for i, j in enumerate(d.argmin(axis=1)))
    fig, xy2 = plot_tsne(X, None, perplexity=10, learning_rate="auto")
    assert fig.axes[0].get_legend() is None
    for kw, msg in [(dict(perplexity=60), "perplexity"), (dict(learning_rate=-1), "learning_rate"),
                    (dict(labels=["a"]), "one entry per instance")]:
        args = dict(perplexity=10, labels=labels)
        args.update(kw)
        with pytest.raises(ValueError, match=msg):
            plot_tsne(X, args.pop("labels"), tmp_path / "bad.png", **args)
    assert not (tmp_path / "bad.png").exists()


def test_reconstruction_png_with_rmse(tmp_path):
    from rae_fast.plotting import plot_reconstruction

    rng = np.random.default_rng(1)
    A = rng.uniform(-1, 1, (3, 20, 8))
    B = A + 0.1 * rng.standard_normal(A.shape)
    path = tmp_path / "rec.png"
    fig = plot_reconstruction(A, B, path, names=["a", "b", "c"])
    w, h = png_size(path)
    assert w == 1000 and h > 600
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    rmse = np.sqrt(((A - B) ** 2).mean(axis=(1, 2)))
    assert titles[0] == "a: original" and titles[1] == f"a: reconstruction (RMSE {rmse[0]:.4f})"
    # the data drawn is the data given (transposed: frequency up)
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), A[0].T)
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), B[0].T)
    with pytest.raises(ValueError, match="differ in shape"):
        plot_reconstruction(A, B[:, :10], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="at most 16"):
        plot_reconstruction(np.zeros((17, 4, 4)), np.zeros((17, 4, 4)))
    assert not (tmp_path / "bad.png").exists()


def test_cli_plot_tsne_and_reconstruction(tmp_path, make_dataset, capsys):
    pytest.importorskip("sklearn")
    from rae_fast.cli import main
    from rae_fast.dataset import save

    reps = make_dataset(n=30, feature_shape=(12,), n_labels=3)
    save(reps, tmp_path / "reps.nc")
    out = tmp_path / "tsne.png"
    assert main(["plot", "tsne", "--input", str(tmp_path / "reps.nc"), "--output", str(out),
                 "--perplexity", "5", "--learning-rate", "auto"]) == 0
    png_size(out)
    assert "3 classes" in capsys.readouterr().out
    assert main(["plot", "tsne", "--input", str(tmp_path / "reps.nc"), "--output",
                 str(tmp_path / "x.png"), "--perplexity", "40"]) == 2
    assert "--perplexity" in capsys.readouterr().err and not (tmp_path / "x.png").exists()
    specs = make_dataset(n=6, feature_shape=(10, 8))
    save(specs, tmp_path / "s.nc")
    save(specs.with_features(specs.features * 0.5, specs.feature_dims), tmp_path / "r.nc")
    out = tmp_path / "rec.png"
    assert main(["plot", "reconstruction", "--input", str(tmp_path / "s.nc"),
                 "--reconstruction", str(tmp_path / "r.nc"), "--output", str(out),
                 "--index", "0", "2"]) == 0
    png_size(out)
    assert main(["plot", "reconstruction", "--input", str(tmp_path / "s.nc"),
                 "--reconstruction", str(tmp_path / "reps.nc"), "--output",
                 str(tmp_path / "y.png")]) == 2
    assert "does not hold the reconstructions" in capsys.readouterr().err
    assert main(["plot", "reconstruction", "--input", str(tmp_path / "s.nc"),
                 "--reconstruction", str(tmp_path / "r.nc"), "--output",
                 str(tmp_path / "y.png"), "--index", "9"]) == 2
    assert "out of range" in capsys.readouterr().err and not (tmp_path / "y.png").exists()
