"""Wavefront OBJ meshes of autocorrelograms (rae_fast.obj).

* round trips are exact to the written precision (float32 values bit for bit at 9 digits),
  for random autocorrelograms of several shapes, with and without normals;
* every written line is checked against the OBJ grammar by an independent validator, faces
  index existing elements, quads are counter-clockwise seen from +z and normals match the
  analytic normals of a plane;
* the reader handles the forms of the specification (negative numbers, a / a/b / a//c / a/b/c,
  comments, CRLF / CR, continuations, w, skipped statements) and its vectorised path agrees
  with the line-by-line parser on randomly formatted files;
* bad files and bad arrays give clear errors naming the file / line / parameter;
* writing is atomic; folders laid out like ESC load as labelled data sets.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import rae_fast
from rae_fast import obj
from rae_fast.obj import ObjMesh
from rae_fast.obj.reader import _read_fast, _read_general

SHAPES = [(2, 2), (3, 7), (17, 5), (64, 40), (2, 50), (50, 2)]   # (n_lags, n_frames)


def random_acf(shape, seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    A = rng.uniform(-1, 1, shape) * 10.0 ** rng.integers(-6, 3, shape)   # mixed magnitudes
    A[0] = 1.0
    A[:, rng.integers(0, shape[1])] = 0.0                                  # a silent frame
    return A.astype(dtype)


def axes(shape, sr=44100, hop=512):
    n_lags, n_frames = shape
    return rae_fast.autocorrelogram_axes(n_frames, n_lags, sr=sr, hop_length=hop)


def mesh_arrays_equal(a: ObjMesh, b: ObjMesh) -> bool:
    return all(np.array_equal(getattr(a, k), getattr(b, k))
               for k in ("vertices", "texcoords", "normals", "faces", "face_sizes"))


# --------------------------------------------------------------- an independent OBJ validator

_NUM = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_LINE_RE = {
    "v": re.compile(rf"v {_NUM} {_NUM} {_NUM}"),
    "vt": re.compile(rf"vt {_NUM} {_NUM}"),
    "vn": re.compile(rf"vn {_NUM} {_NUM} {_NUM}"),
    "f": re.compile(r"f(?: [1-9]\d*(?:/[1-9]\d*(?:/[1-9]\d*)?|//[1-9]\d*)?){3,}"),
}


def validate_obj(path: Path):
    """Check every line against the OBJ grammar (as written by rae_fast: one statement per
    line, single spaces, positive 1-based references to elements defined earlier); return the
    parsed (vertices, texcoords, normals, faces) computed here, independently of rae_fast."""
    data = path.read_bytes()
    assert data.endswith(b"\n") and b"\r" not in data and b"\t" not in data
    text = data.decode("ascii")                                   # plain ASCII
    V, T, N, F = [], [], [], []
    header_done = False
    for no, line in enumerate(text.split("\n")[:-1], start=1):
        if line.startswith("#"):
            assert not header_done, f"line {no}: comment after the data"
            continue
        header_done = True
        kw = line.split(" ", 1)[0]
        assert kw in _LINE_RE, f"line {no}: unexpected statement {line!r}"
        assert _LINE_RE[kw].fullmatch(line), f"line {no}: does not match the grammar: {line!r}"
        vals = line.split()[1:]
        if kw == "v":
            V.append([float(x) for x in vals])
        elif kw == "vt":
            T.append([float(x) for x in vals])
        elif kw == "vn":
            N.append([float(x) for x in vals])
        else:
            corners = []
            for c in vals:
                parts = c.split("/")
                v = int(parts[0])
                t = int(parts[1]) if len(parts) > 1 and parts[1] else 0
                n = int(parts[2]) if len(parts) > 2 else 0
                assert 1 <= v <= len(V), f"line {no}: vertex {v} not defined before"
                assert 0 <= t <= len(T) and 0 <= n <= len(N), f"line {no}: bad reference"
                corners.append((v - 1, t - 1, n - 1))
            F.append(corners)
    for name, rows in (("v", V), ("vt", T), ("vn", N)):
        assert np.isfinite(np.array(rows, float)).all(), name
    return (np.array(V).reshape(-1, 3), np.array(T).reshape(-1, 2), np.array(N).reshape(-1, 3),
            np.array(F, np.int64))


# ------------------------------------------------------------------------- round trips

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("normals", [False, True])
def test_round_trip_is_exact(tmp_path, shape, normals):
    A = random_acf(shape, seed=shape[0] * 100 + shape[1])
    times, lags = axes(shape)
    path = obj.write_autocorrelogram(tmp_path / "a.obj", A, times, lags, normals=normals)
    B, t, d = obj.read_autocorrelogram(path)
    assert B.dtype == np.float32 and B.shape == A.shape
    assert np.array_equal(B, A)                             # float32 bit for bit (9 digits)
    assert np.array_equal(t, [float(f"{x:.9g}") for x in times])
    assert np.array_equal(d, [float(f"{x:.9g}") for x in lags])
    np.testing.assert_allclose(t, times, rtol=5e-9, atol=0)
    np.testing.assert_allclose(d, lags, rtol=5e-9, atol=0)


@pytest.mark.parametrize("precision", [3, 6, 12])
def test_round_trip_at_lower_and_higher_precision(tmp_path, precision):
    rng = np.random.default_rng(precision)
    A = rng.standard_normal((9, 6))                        # float64 values
    times = np.cumsum(rng.uniform(0.01, 0.02, 6))
    lags = np.cumsum(rng.uniform(0.02, 0.03, 9))
    path = obj.write_autocorrelogram(tmp_path / "p.obj", A, times, lags, precision=precision)
    V = obj.read(path).vertices
    rounded = np.vectorize(lambda x: float(f"{x:.{precision}g}"))
    G = V.reshape(6, 9, 3)
    assert np.array_equal(G[..., 2].T, rounded(A))          # exactly the written decimals
    B, t, d = obj.read_autocorrelogram(path, dtype=np.float64)
    assert B.dtype == np.float64 and np.array_equal(B, rounded(A))
    assert np.array_equal(t, rounded(times)) and np.array_equal(d, rounded(lags))


def test_float64_input_round_trips_to_17_digits(tmp_path):
    A = np.random.default_rng(3).standard_normal((5, 4))
    path = obj.write_autocorrelogram(tmp_path / "x.obj", A, np.arange(4.0), np.arange(5.0),
                                     precision=17)
    B, _, _ = obj.read_autocorrelogram(path, dtype=np.float64)
    assert np.array_equal(A, B)


def test_real_autocorrelogram_round_trip(tmp_path):
    sr = 16000
    t = np.arange(sr // 2) / sr
    y = (np.sin(2 * np.pi * 220 * t) + 0.1 * np.random.default_rng(0).standard_normal(t.size))
    A = rae_fast.autocorrelogram(y.astype(np.float32), sr=sr, frame_length=512, hop_length=256,
                                 fmin=100)
    times, lags = rae_fast.autocorrelogram_axes(A.shape[1], A.shape[0], sr=sr, hop_length=256,
                                                frame_length=512)
    path = obj.write_autocorrelogram(tmp_path / "tone.obj", A, times, lags, normals=True)
    B, t2, d2 = obj.read_autocorrelogram(path)
    assert np.array_equal(A, B)
    period = d2[40 + np.argmax(B[40:, B.shape[1] // 2])]    # the 220 Hz period, in ms
    assert abs(period - 1000 / 220) < 1000 / sr


# ------------------------------------------------------------------ structure of the mesh

@pytest.mark.parametrize("shape", [(2, 2), (4, 3), (7, 11)])
@pytest.mark.parametrize("normals", [False, True])
def test_written_file_follows_the_obj_grammar(tmp_path, shape, normals):
    A = random_acf(shape, seed=7)
    times, lags = axes(shape)
    path = obj.write_autocorrelogram(tmp_path / "g.obj", A, times, lags, normals=normals,
                                     comment="source: dog.wav\nsecond line")
    V, T, N, F = validate_obj(path)
    n_lags, n_frames = shape
    assert V.shape == (n_frames * n_lags, 3) and T.shape == V[:, :2].shape
    assert N.shape == ((n_frames * n_lags, 3) if normals else (0, 3))
    assert F.shape == ((n_frames - 1) * (n_lags - 1), 4, 3)
    # frame-major vertices: (time, delay, value)
    G = V.reshape(n_frames, n_lags, 3)
    np.testing.assert_allclose(G[..., 0], np.broadcast_to(times[:, None], G.shape[:2]), rtol=1e-8)
    np.testing.assert_allclose(G[..., 1], np.broadcast_to(lags[None, :], G.shape[:2]), rtol=1e-8)
    assert np.array_equal(G[..., 2].astype(np.float32), A.T)
    # texcoords: u = frame fraction, v = lag fraction, same numbering as the vertices
    TG = T.reshape(n_frames, n_lags, 2)
    np.testing.assert_allclose(TG[..., 0], np.arange(n_frames)[:, None] / (n_frames - 1)
                               + 0 * TG[..., 0], atol=1e-9)
    np.testing.assert_allclose(TG[..., 1], np.arange(n_lags)[None, :] / (n_lags - 1)
                               + 0 * TG[..., 1], atol=1e-9)
    assert (T >= 0).all() and (T <= 1).all()
    assert np.array_equal(F[..., 1], F[..., 0])
    assert np.array_equal(F[..., 2], F[..., 0] if normals else np.full_like(F[..., 0], -1))
    # every grid cell once, counter-clockwise seen from +z (positive signed area in x-y)
    xy = V[F[..., 0], :2]
    area = 0.5 * np.sum(xy[:, :, 0] * np.roll(xy[:, :, 1], -1, axis=1)
                        - np.roll(xy[:, :, 0], -1, axis=1) * xy[:, :, 1], axis=1)
    assert (area > 0).all()
    cell_area = np.outer(np.diff(times), np.diff(lags)).ravel()
    np.testing.assert_allclose(np.sort(area), np.sort(cell_area), rtol=1e-6)
    assert len({tuple(sorted(f)) for f in F[..., 0].tolist()}) == len(F)
    assert np.array_equal(np.unique(F[..., 0]), np.arange(len(V)))     # every vertex used
    text = path.read_text()
    assert text.startswith("# rae_fast autocorrelogram")
    assert "# source: dog.wav\n# second line\n" in text


def test_normals_of_a_plane_match_the_analytic_normal(tmp_path):
    times = np.cumsum(np.random.default_rng(1).uniform(0.5, 1.5, 6))     # non-uniform grid
    lags = np.linspace(0, 3, 5)
    a, b = 0.3, -0.7
    A = (a * times[None, :] + b * lags[:, None])
    mesh = obj.autocorrelogram_mesh(A, times, lags, normals=True)
    expected = np.array([-a, -b, 1.0]) / np.sqrt(a * a + b * b + 1)
    np.testing.assert_allclose(mesh.normals, np.broadcast_to(expected, mesh.normals.shape),
                               atol=1e-12)
    path = obj.write_autocorrelogram(tmp_path / "plane.obj", A, times, lags, normals=True)
    np.testing.assert_allclose(obj.read(path).normals, mesh.normals, rtol=1e-8, atol=1e-9)


def test_mesh_matches_a_loop_reference():
    n_lags, n_frames = 4, 3
    m = obj.autocorrelogram_mesh(np.zeros((n_lags, n_frames)), np.arange(3.0), np.arange(4.0))
    ref = []
    for i in range(n_frames - 1):
        for j in range(n_lags - 1):
            v = lambda ii, jj: ii * n_lags + jj          # noqa: E731
            ref.append([v(i, j), v(i + 1, j), v(i + 1, j + 1), v(i, j + 1)])
    assert m.faces[..., 0].tolist() == ref
    assert m.face_sizes.tolist() == [4] * len(ref)


# -------------------------------------------------------------------------- bad arrays

@pytest.mark.parametrize("A,times,lags,exc,needle", [
    (np.zeros((1, 5), np.float32), np.arange(5.0), np.arange(1.0), ValueError, "at least 2"),
    (np.zeros((5, 1), np.float32), np.arange(1.0), np.arange(5.0), ValueError, "at least 2"),
    (np.zeros((0, 3), np.float32), np.arange(3.0), np.arange(0.0), ValueError, "A"),
    (np.zeros(5, np.float32), np.arange(5.0), np.arange(1.0), ValueError, "2-D"),
    (np.zeros((2, 2, 2), np.float32), np.arange(2.0), np.arange(2.0), ValueError, "2-D"),
    (np.zeros((3, 3), np.int16), np.arange(3.0), np.arange(3.0), TypeError, "A must be"),
    (np.full((3, 3), np.nan, np.float32), np.arange(3.0), np.arange(3.0), ValueError, "NaN"),
    (np.zeros((3, 4)), np.arange(3.0), np.arange(3.0), ValueError, "times has 3 values"),
    (np.zeros((3, 4)), np.arange(4.0), np.arange(5.0), ValueError, "lags has 5 values"),
    (np.zeros((3, 4)), np.array([0, 1, 1, 2.0]), np.arange(3.0), ValueError, "strictly increasing"),
    (np.zeros((3, 4)), np.arange(4.0), np.array([0, np.inf, 1]), ValueError, "lags"),
    (np.zeros((3, 4)), np.arange(4.0)[::-1], np.arange(3.0), ValueError, "times"),
])
def test_bad_arrays_raise_clear_errors(tmp_path, A, times, lags, exc, needle):
    with pytest.raises(exc, match=re.escape(needle)):
        obj.write_autocorrelogram(tmp_path / "bad.obj", A, times, lags)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("precision", [0, 18, 2.5, True])
def test_bad_precision(tmp_path, precision):
    with pytest.raises((ValueError, TypeError), match="precision"):
        obj.write_autocorrelogram(tmp_path / "p.obj", np.zeros((2, 2)), [0, 1], [0, 1],
                                  precision=precision)
    assert list(tmp_path.iterdir()) == []


def test_integer_axes_are_accepted(tmp_path):
    path = obj.write_autocorrelogram(tmp_path / "i.obj", np.ones((2, 3), np.float32),
                                     np.arange(3), np.arange(2))
    _, t, d = obj.read_autocorrelogram(path)
    assert t.tolist() == [0, 1, 2] and d.tolist() == [0, 1]


# ----------------------------------------------------------------------- atomic writing

@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_interrupted_write_leaves_no_file(tmp_path, monkeypatch, error):
    target = tmp_path / "acf.obj"
    target.write_text("old content\n")
    calls = []
    real = obj.writer._format_rows

    def failing(fh, rows, fmt):
        calls.append(fmt)
        if len(calls) == 2:               # after the vertices, before the texcoords
            raise error("stop")
        return real(fh, rows, fmt)

    monkeypatch.setattr(obj.writer, "_format_rows", failing)
    with pytest.raises(error):
        obj.write_autocorrelogram(target, np.zeros((3, 3)), np.arange(3.0), np.arange(3.0))
    assert target.read_text() == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acf.obj"]


# ------------------------------------------------------------------------------ reading

def write_bytes(tmp_path, data: bytes, name="m.obj") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


TRI = b"v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\n"


@pytest.mark.parametrize("data,faces,sizes", [
    (TRI + b"f 1 2 3\nf -4 -2 -1\n", [[[0, -1, -1], [1, -1, -1], [2, -1, -1]],
                                       [[0, -1, -1], [2, -1, -1], [3, -1, -1]]], [3, 3]),
    (TRI + b"vt 0 0\nvt 1 1\nf 1/1 2/2 3/-1 4/-2\n",
     [[[0, 0, -1], [1, 1, -1], [2, 1, -1], [3, 0, -1]]], [4]),
    (TRI + b"vn 0 0 1\nf 1//1 2//-1 3//1\n", [[[0, -1, 0], [1, -1, 0], [2, -1, 0]]], [3]),
    (TRI + b"vt 0 0\nvn 0 0 1\nf 1/1/1 2/1/1 3/-1/-1\n", [[[0, 0, 0], [1, 0, 0], [2, 0, 0]]], [3]),
    # mixed sizes and corner forms: padded with -1
    (TRI + b"vt 0.5 0.5\nf 1/1 2/1 3/1 4/1\nf 1 2 3\n",
     [[[0, 0, -1], [1, 0, -1], [2, 0, -1], [3, 0, -1]],
      [[0, -1, -1], [1, -1, -1], [2, -1, -1], [-1, -1, -1]]], [4, 3]),
    (TRI + b"vn 0 0 1\nf 1 2//1 3\n", [[[0, -1, -1], [1, -1, 0], [2, -1, -1]]], [3]),
    # negative numbers are relative to the elements defined *before* the face
    (b"v 0 0 0\nv 1 0 0\nv 1 1 0\nf -3 -2 -1\nv 5 5 5\nf -1 -2 -3\n",
     [[[0, -1, -1], [1, -1, -1], [2, -1, -1]], [[3, -1, -1], [2, -1, -1], [1, -1, -1]]], [3, 3]),
])
def test_face_forms_and_negative_numbers(tmp_path, data, faces, sizes):
    m = obj.read(write_bytes(tmp_path, data))
    assert m.faces.tolist() == faces and m.face_sizes.tolist() == sizes
    assert mesh_arrays_equal(m, _read_general(Path("x"), data))


def test_tolerated_syntax(tmp_path):
    data = (b"# a comment\r\n\r\nmtllib scene.mtl\r\no surface\r\ng group one\r\ns off\r\n"
            b"usemtl red\r\nv 0 0 0 1.0\r\nv\t1\t0\t0   # trailing comment\r\n"
            b"   v 1 1 0\r\nv 0 1 \\\r\n 0\r\nvt 0.25\r\nvt 0.5 0.75 0\r\nvp 0.1 0.2\r\n"
            b"l 1 2\r\np 3\r\nf 1/1 2/2 \\\r\n 3/2 4/1\r\n")
    m = obj.read(write_bytes(tmp_path, data))
    assert m.vertices.tolist() == [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]
    assert m.texcoords.tolist() == [[0.25, 0.0], [0.5, 0.75]]
    assert m.faces[0].tolist() == [[0, 0, -1], [1, 1, -1], [2, 1, -1], [3, 0, -1]]
    # the same statements with old Mac line ends (\r only) and with \n
    for eol in (b"\r", b"\n"):
        m2 = obj.read(write_bytes(tmp_path, data.replace(b"\r\n", eol), f"e{len(eol)}.obj"))
        assert mesh_arrays_equal(m, m2)


def test_regular_files_take_the_vectorised_path(tmp_path):
    A = random_acf((6, 5), seed=2)
    p = obj.write_autocorrelogram(tmp_path / "r.obj", A, *axes((6, 5)), normals=True)
    data = p.read_bytes()
    fast = _read_fast(data)
    assert fast is not None
    assert mesh_arrays_equal(fast, _read_general(p, data))
    crlf = data.replace(b"\n", b"\r\n")
    assert _read_fast(crlf) is not None and mesh_arrays_equal(_read_fast(crlf), fast)


def _random_mesh_text(rng, regular=False):
    """A random valid OBJ file in random (legal) spellings, and the mesh it encodes.

    ``regular``: no trailing comments and \\n or \\r\\n line ends (the vectorised reader's
    domain); otherwise also trailing comments and \\r line ends."""
    nv, nt, nn = rng.integers(3, 9), rng.integers(0, 5), rng.integers(0, 4)
    V = np.round(rng.standard_normal((nv, 3)) * 10.0 ** rng.integers(-3, 4), 6)
    T = np.round(rng.uniform(0, 1, (nt, 2)), 6)
    N = np.round(rng.standard_normal((nn, 3)), 6)
    sep = [" ", "  ", "\t", " \t "][rng.integers(0, 4)]
    form = rng.integers(0, 4)
    if form in (1, 3) and nt == 0 or form in (2, 3) and nn == 0:
        form = 0
    lines, defined = [], [0, 0, 0]
    order = ["v"] * nv + ["vt"] * nt + ["vn"] * nn
    faces, sizes = [], []
    face_at = sorted(rng.integers(nv, len(order) + 1, rng.integers(1, 5)))
    k = 0
    for pos in range(len(order) + 1):
        while k < len(face_at) and face_at[k] == pos:
            k += 1
            if defined[0] < 3 or (form in (1, 3) and not defined[1]) or \
                    (form in (2, 3) and not defined[2]):
                continue
            size = int(rng.integers(3, 6))
            corners, ref = [], []
            for _ in range(size):
                v, t, n = (int(rng.integers(0, defined[0])),
                           int(rng.integers(0, max(defined[1], 1))),
                           int(rng.integers(0, max(defined[2], 1))))
                spell = lambda i, d: str(i + 1) if rng.random() < 0.5 else str(i - d)  # noqa
                parts = {0: spell(v, defined[0]),
                         1: f"{spell(v, defined[0])}/{spell(t, defined[1])}",
                         2: f"{spell(v, defined[0])}//{spell(n, defined[2])}",
                         3: f"{spell(v, defined[0])}/{spell(t, defined[1])}/{spell(n, defined[2])}"}
                corners.append(parts[form])
                ref.append([v, t if form in (1, 3) else -1, n if form in (2, 3) else -1])
            lines.append("f" + sep + sep.join(corners))
            faces.append(ref)
            sizes.append(size)
        if pos == len(order):
            break
        kw = order[pos]
        row = {"v": V, "vt": T, "vn": N}[kw][defined[("v", "vt", "vn").index(kw)]]
        lines.append(kw + sep + sep.join(repr(float(x)) for x in row))
        if rng.random() < 0.2 and not regular:
            lines[-1] += " # note"
        if rng.random() < 0.2:
            lines.append(["", "# comment", "g part", "s 1", "usemtl m"][rng.integers(0, 5)])
        defined[("v", "vt", "vn").index(kw)] += 1
    eol = ["\n", "\r\n", "\r"][rng.integers(0, 2 if regular else 3)]
    kmax = max(sizes) if sizes else 3
    F = np.full((len(faces), kmax, 3), -1, np.int64)
    for i, f in enumerate(faces):
        F[i, :len(f)] = f
    return (eol.join(lines) + eol).encode(), ObjMesh(V, T, N, F, np.array(sizes, np.int64))


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("regular", [True, False])
def test_randomly_spelled_files_parse_exactly(tmp_path, seed, regular):
    data, expected = _random_mesh_text(np.random.default_rng(seed), regular)
    m = obj.read(write_bytes(tmp_path, data))
    assert mesh_arrays_equal(m, expected), data.decode()
    assert mesh_arrays_equal(_read_general(Path("x"), data), expected)
    if regular:                                   # both parsers were exercised
        assert _read_fast(data) is not None and mesh_arrays_equal(_read_fast(data), expected)


def test_generic_write_round_trips_any_mesh(tmp_path):
    for seed in range(15):
        _, mesh = _random_mesh_text(np.random.default_rng(100 + seed))
        p = obj.write(tmp_path / f"m{seed}.obj", mesh, precision=17)
        assert mesh_arrays_equal(obj.read(p), mesh)


@pytest.mark.parametrize("data,needle", [
    (b"v 0 0 0\nv 1 0 0\nv 1 1 0\nf 0 1 2\n", "line 4: vertex number 0"),
    (b"v 0 0 0\nv 1 0 0\nv 1 1 0\nf 1 2 4\n", "line 4: vertex number 4 does not exist"),
    (b"v 0 0 0\nv 1 0 0\nf -3 -2 -1\nv 1 1 0\n", "line 3: relative vertex number -3"),
    (b"v 0 0 0\nv 1 0 0\nv 1 1 0\nf 1/2 2/1 3/1\nvt 0 0\n",
     "line 4: texture coordinate number 2 does not exist"),
    (b"v 0 0 nan\n", "line 1: 'nan' is not a number"),
    (b"v 0 0 1e999\n", "line 1: 'v' has a non-finite value"),
    (b"v 0 0\n", "line 1: 'v' needs 3 to 4 numbers, got 2"),
    (b"v 0 0 0\nvn 0 1\n", "line 2: 'vn' needs 3 numbers, got 2"),
    (b"v 0 0 0\nv 1 0 0\nv 1 1 0\nf 1/ 2 3\n", "line 4: face corner '1/'"),
    (b"v 0 0 0\nv 1 0 0\nv 1 1 0\nf 1///1 2 3\n", "line 4: face corner '1///1'"),
    (b"v 0 0 0\nv 1 0 0\nf 1 2\n", "line 3: a face needs at least 3 corners"),
    (b"v 1 2 3v 4\n", "line 1: '3v' is not a number"),
    (b"v 0 0 0\n\n# c\nv 1.2.3 4 5\n", "line 4: '1.2.3' is not a number"),
    (b"This is a README, not a mesh.\n", "line 1: unknown statement 'This'"),
    (b"# only a comment\n", "has no vertices"),
    (b"", "has no vertices"),
    (b"v 0 0 0\x00\x01\x02", "binary file"),
])
def test_bad_files_name_the_file_and_line(tmp_path, data, needle):
    path = write_bytes(tmp_path, data, "broken.obj")
    with pytest.raises(ValueError, match=re.escape(needle)) as err:
        obj.read(path)
    assert "broken.obj" in str(err.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.obj"):
        obj.read(tmp_path / "nope.obj")
    with pytest.raises(IsADirectoryError, match="folder"):
        obj.read(tmp_path)


@pytest.mark.parametrize("data,needle", [
    (TRI + b"f 1 2 3\n", "at least 2 lags and 2 frames, found 1 x 4"),
    (b"v 0 0 1\nv 0 1 2\nv 1 0 3\nv 1 1 4\nv 2 0 5\n", "5 vertices are not a whole number"),
    (b"v 0 0 1\nv 0 1 2\nv 1 0 3\nv 2 1 4\n", "time (x) of a frame's vertices is not constant"),
    (b"v 0 0 1\nv 0 1 2\nv 1 0 3\nv 1 2 4\n", "same delays"),
    (b"v 0 0 1\nv 0 1 2\nv 0 2 3\n", "at least 2 lags and 2 frames"),
    (b"v 1 0 1\nv 1 1 2\nv 0 0 3\nv 0 1 4\n", "increase"),
])
def test_read_autocorrelogram_refuses_other_meshes(tmp_path, data, needle):
    with pytest.raises(ValueError, match=re.escape(needle)):
        obj.read_autocorrelogram(write_bytes(tmp_path, data, "other.obj"))


def test_read_autocorrelogram_dtype(tmp_path):
    p = obj.write_autocorrelogram(tmp_path / "d.obj", np.eye(2), [0, 1], [0, 1])
    with pytest.raises(TypeError, match="dtype"):
        obj.read_autocorrelogram(p, dtype=np.int32)


# ---------------------------------------------------------------------------- data sets

def make_obj_folder(root: Path, layout, shape=(5, 4), seed=0):
    """layout: {class folder: [file names]}; returns {relative name: A}."""
    rng = np.random.default_rng(seed)
    out = {}
    for folder, names in layout.items():
        for name in names:
            A = rng.uniform(-1, 1, shape).astype(np.float32)
            t, d = rae_fast.autocorrelogram_axes(shape[1], shape[0], sr=16000, hop_length=256)
            obj.write_autocorrelogram(root / folder / name, A, t, d)
            out[f"{folder}/{name}"] = A
    return out


def test_load_dataset_with_labels_and_folds(tmp_path):
    layout = {"001 - Bird": ["1-10-A.obj", "3-11-A.obj"], "002 - Ant": ["2-12-A.obj"],
              "003 - Cat": ["5-13-B.obj", "1-14-A.obj"]}
    arrays = make_obj_folder(tmp_path, layout)
    (tmp_path / "002 - Ant" / "notes.txt").write_text("ignored")
    (tmp_path / "002 - Ant" / "2-12-A.png").write_bytes(b"ignored")
    ds = obj.load_dataset(tmp_path, workers=2)
    assert ds.feature_dims == ("time", "lag") and ds.features.shape == (5, 4, 5)
    assert ds.filenames.tolist() == ["001 - Bird/1-10-A.obj", "001 - Bird/3-11-A.obj",
                                     "002 - Ant/2-12-A.obj", "003 - Cat/1-14-A.obj",
                                     "003 - Cat/5-13-B.obj"]
    # label ids follow the class folders (NNN), as auDeep's and rae_fast's ESC parsers do
    assert ds.label_map == {"Bird": 0, "Ant": 1, "Cat": 2}
    assert ds.label_nominal.tolist() == ["Bird", "Bird", "Ant", "Cat", "Cat"]
    assert ds.label_numeric.tolist() == [0, 0, 1, 2, 2]
    assert ds.n_folds == 5
    expected_folds = [1, 3, 2, 1, 5]
    for row, fold in zip(ds.cv_folds.tolist(), expected_folds):
        assert row == [1 if k == fold - 1 else 0 for k in range(5)]
    for i, name in enumerate(ds.filenames):
        assert np.array_equal(ds.features[i], arrays[name].T)        # time-major
    t, d = rae_fast.autocorrelogram_axes(4, 5, sr=16000, hop_length=256)
    np.testing.assert_allclose(ds.attrs["times_s"], t, rtol=1e-8)
    np.testing.assert_allclose(ds.attrs["lags_ms"], d, rtol=1e-8)
    # and it is a DataSet like any other: it saves and loads as netCDF
    from rae_fast.dataset import load, save
    save(ds, tmp_path / "objs.nc")
    assert load(tmp_path / "objs.nc").equals(ds)


def test_load_dataset_matches_the_esc_parser_labels(tmp_path, make_collection):
    from rae_fast.layouts import parse_dataset

    base, rows = make_collection("esc", labels=("dog", "rain", "baby"), per_label=2)
    parsed = parse_dataset(base, "esc")
    layout = {}
    for inst in parsed.instances:
        folder, name = inst.filename.split("/")
        layout.setdefault(folder, []).append(name.replace(".ogg", ".obj"))
    make_obj_folder(tmp_path / "objs", layout)
    ds = obj.load_dataset(tmp_path / "objs")
    assert ds.label_map == parsed.label_map
    assert ds.cv_folds.tolist() == [list(i.cv_folds) for i in parsed.instances]


@pytest.mark.parametrize("problem,needle", [
    ("shape", "3-2-A.obj has 4 frames x 6 lags"),
    ("axes", "other time or delay axes"),
    ("fold", "9-2-A.obj: the file name does not start with a fold number"),
    ("class", "does not look like 'NNN - Name'"),
    ("empty", "has no .obj files"),
    ("broken", "3-2-A.obj, line 1: unknown statement"),
    ("duplicate", "class 'Bird' has two folders"),
])
def test_load_dataset_errors_name_the_file(tmp_path, problem, needle):
    make_obj_folder(tmp_path, {"001 - Bird": ["1-1-A.obj"]})
    target = tmp_path / "001 - Bird"
    if problem == "shape":
        make_obj_folder(tmp_path, {"001 - Bird": ["3-2-A.obj"]}, shape=(6, 4))
    elif problem == "axes":
        obj.write_autocorrelogram(target / "3-2-A.obj", np.zeros((5, 4)), np.arange(4.0),
                                  np.arange(5.0))
    elif problem == "fold":
        make_obj_folder(tmp_path, {"001 - Bird": ["9-2-A.obj"]})
    elif problem == "class":
        make_obj_folder(tmp_path, {"Birds": ["1-2-A.obj"]})
    elif problem == "empty":
        (tmp_path / "002 - Cat").mkdir()
    elif problem == "broken":
        (target / "3-2-A.obj").write_text("hello\n")
    elif problem == "duplicate":
        make_obj_folder(tmp_path, {"005 - Bird": ["1-2-A.obj"]})
    with pytest.raises(ValueError, match=re.escape(needle)):
        obj.load_dataset(tmp_path, workers=1)


def test_load_dataset_needs_a_folder(tmp_path):
    with pytest.raises(NotADirectoryError):
        obj.load_dataset(tmp_path / "missing")
    with pytest.raises(ValueError, match="no class folders"):
        obj.load_dataset(tmp_path)


@pytest.mark.parametrize("parser", ["auto", "cross_validated"])
def test_load_dataset_cross_validated_layout(tmp_path, parser):
    layout = {"fold_1/cat": ["a.obj", "b.obj"], "fold_1/dog": ["c.obj"],
              "fold_2/cat": ["d.obj"], "fold_2/dog": ["e.obj"], "fold_3/dog": ["f.obj"]}
    arrays = make_obj_folder(tmp_path, layout)
    (tmp_path / "fold_2" / "dog" / "e.png").write_bytes(b"not an instance")
    ds = obj.load_dataset(tmp_path, parser=parser)
    assert ds.attrs["source.parser"] == "cross_validated"
    assert ds.filenames.tolist() == sorted(arrays)
    assert ds.label_map == {"cat": 0, "dog": 1}
    assert ds.label_nominal.tolist() == ["cat", "cat", "dog", "cat", "dog", "dog"]
    assert ds.n_folds == 3
    assert ds.cv_folds.tolist() == [[1, 0, 0]] * 3 + [[0, 1, 0]] * 2 + [[0, 0, 1]]
    for i, name in enumerate(ds.filenames):
        assert np.array_equal(ds.features[i], arrays[name].T)


def test_load_dataset_class_folder_and_partitioned_layouts(tmp_path):
    cls = tmp_path / "cls"
    arrays = make_obj_folder(cls, {"owl": [f"{k}.obj" for k in range(4)],
                                   "bee": [f"{k}.obj" for k in range(4)]})
    ds = obj.load_dataset(cls, parser="class_folders", parser_options={"n_folds": 2, "seed": 3})
    assert ds.label_map == {"bee": 0, "owl": 1} and ds.n_folds == 2
    assert np.all((ds.cv_folds == 1).sum(axis=1) == 1)
    for lab in ("bee", "owl"):                     # stratified: 2 + 2 per class
        assert (ds.cv_folds[ds.label_nominal == lab, 0] == 1).sum() == 2
    assert sorted(ds.filenames.tolist()) == sorted(arrays)
    assert obj.load_dataset(cls, parser="auto").n_folds == 0       # class folders, no folds

    part = tmp_path / "part"
    make_obj_folder(part, {"train/owl": ["a.obj"], "train/bee": ["b.obj"], "test/owl": ["c.obj"]})
    ds = obj.load_dataset(part, parser="auto")
    assert ds.attrs["source.parser"] == "partitioned" and ds.n_folds == 0
    assert dict(zip(ds.filenames, ds.partition.tolist())) == {
        "train/owl/a.obj": 0, "train/bee/b.obj": 0, "test/owl/c.obj": 2}

    loose = tmp_path / "loose"
    make_obj_folder(loose, {"x": ["1.obj"], "x/y": ["2.obj"]})
    ds = obj.load_dataset(loose, parser="no_metadata")
    assert ds.filenames.tolist() == ["x/1.obj", "x/y/2.obj"] and ds.label_map is None
    with pytest.raises(ValueError, match="parser 'esc' cannot read"):
        obj.load_dataset(cls)                      # the default stays the ESC layout
    with pytest.raises(ValueError, match="esc50.*metadata lists audio files"):
        obj.load_dataset(cls, parser="esc50")


def test_obj_and_plotting_are_attributes_of_the_package(monkeypatch):
    import sys

    for name in ("obj", "plotting"):
        monkeypatch.delattr(rae_fast, name, raising=False)
        monkeypatch.delitem(sys.modules, f"rae_fast.{name}", raising=False)
        assert name in dir(rae_fast)
        assert hasattr(rae_fast, name)             # imported on first access
    assert callable(rae_fast.obj.write_autocorrelogram)
    assert callable(rae_fast.obj.load_dataset)
    assert callable(rae_fast.plotting.plot_autocorrelogram)
    with pytest.raises(AttributeError, match="no_such_module"):
        rae_fast.no_such_module


def test_esc10_clip_round_trip(tmp_path, esc10_path):
    from rae_fast.audio import load_audio

    clip = sorted(esc10_path.glob("*/*.ogg"))[0]
    y, sr = load_audio(clip)
    A = rae_fast.autocorrelogram(y, sr=sr, max_lag=256)
    t, d = rae_fast.autocorrelogram_axes(A.shape[1], A.shape[0], sr=sr)
    p = obj.write_autocorrelogram(tmp_path / "esc.obj", A, t, d)
    B, t2, d2 = obj.read_autocorrelogram(p)
    assert np.array_equal(A, B) and B.shape == (257, 431)
    np.testing.assert_allclose(t2, t, rtol=1e-8)
    np.testing.assert_allclose(d2, d, rtol=1e-8)


def test_generic_write_checks_the_mesh(tmp_path):
    tri = dict(vertices=[[0, 0, 0], [1, 0, 0], [0, 1, 0]], texcoords=np.zeros((0, 2)),
               normals=np.zeros((0, 3)), faces=[[[0, -1, -1], [1, -1, -1], [2, -1, -1]]],
               face_sizes=[3])
    p = obj.write(tmp_path / "tri.obj", ObjMesh(**tri))             # lists are accepted
    assert p.read_text() == "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
    for change, needle in [
        (dict(faces=[[[0, -1, -1], [1, -1, -1], [3, -1, -1]]]), "vertex numbers outside 0..2"),
        (dict(faces=[[[0, 0, -1], [1, -1, -1], [2, -1, -1]]]), "texcoord numbers outside"),
        (dict(face_sizes=[2]), "3..max_corners"),
        (dict(vertices=[[0, 0], [1, 0], [0, 1]]), "mesh.vertices must have shape (n, 3)"),
        (dict(vertices=[[0, 0, np.nan], [1, 0, 0], [0, 1, 0]]), "NaN"),
        (dict(faces=np.zeros((1, 3, 3))), "integer array"),
    ]:
        with pytest.raises(ValueError, match=re.escape(needle)):
            obj.write(tmp_path / "bad.obj", ObjMesh(**{**tri, **change}))
    with pytest.raises(TypeError, match="ObjMesh"):
        obj.write(tmp_path / "bad.obj", "not a mesh")
    with pytest.raises(TypeError, match="normals"):
        obj.autocorrelogram_mesh(np.zeros((2, 2)), [0, 1], [0, 1], normals="yes")
    assert sorted(q.name for q in tmp_path.iterdir()) == ["tri.obj"]


# ----------------------------------------------------------------------- truncated files

@pytest.mark.parametrize("normals", [False, True])
def test_a_file_cut_at_any_byte_raises_or_reads_completely(tmp_path, normals):
    """Cut short (a full disk, a crash, a failed copy) at every byte offset, a file written by
    write_autocorrelogram either raises a ValueError naming the file or -- cut at its very
    end -- reads back completely. Never fewer frames or faces than its header announces."""
    A = np.random.default_rng(3).standard_normal((3, 2)).astype(np.float32)
    times, lags = rae_fast.autocorrelogram_axes(2, 3, sr=16000)
    full = obj.write_autocorrelogram(tmp_path / "full.obj", A, times, lags, normals=normals)
    data = full.read_bytes()
    whole = obj.read(full)
    cut = tmp_path / "cut.obj"
    for n in range(len(data) + 1):
        cut.write_bytes(data[:n])
        if n == len(data):
            B, _, _ = obj.read_autocorrelogram(cut)
            assert np.array_equal(A, B)
            continue
        for reader in (obj.read, obj.read_autocorrelogram):
            with pytest.raises(ValueError) as info:
                reader(cut)
            assert str(cut) in str(info.value), (n, str(info.value))
    assert len(whole.vertices) == 6 and len(whole.faces) == 2
    # the cuts after the header are reported as such, with what is missing
    cut.write_bytes(data[:data.index(b"\nf ") + 1])        # every vertex, no face
    with pytest.raises(ValueError, match=r"cut\.obj is truncated: its header announces 2 "
                                         r"frames x 3 lags, but it holds 0 of 2 faces"):
        obj.read(cut)
    start = data.index(b"\nv ") + 1
    cut.write_bytes(data[:data.index(b"\n", start) - 2])  # the first vertex loses 2 digits
    with pytest.raises(ValueError, match=r"cut\.obj is truncated: its last line 'v .*' is "
                                         r"incomplete"):
        obj.read(cut)


def test_truncation_messages_say_what_is_missing(tmp_path):
    A = np.arange(12, dtype=np.float32).reshape(4, 3)
    path = obj.write_autocorrelogram(tmp_path / "a.obj", A, np.arange(3.0), np.arange(4.0))
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    first_v = next(i for i, line in enumerate(lines) if line.startswith(b"v "))
    short = tmp_path / "short.obj"
    short.write_bytes(b"".join(lines[:first_v + 7]))           # 7 of 12 vertices
    with pytest.raises(ValueError, match=r"short\.obj is truncated: its header announces 3 "
                                         r"frames x 4 lags, but it holds 7 of 12 vertices, "
                                         r"0 of 12 texture coordinates, 0 of 6 faces"):
        obj.read_autocorrelogram(short)
    short.write_bytes(data[:-3])
    with pytest.raises(ValueError, match=r"short\.obj is truncated: its last line 'f .*' is "
                                         r"incomplete \(no line end after \d+ bytes\)"):
        obj.read(short)
    short.write_bytes(data + b"f 1/1 2/2 3/3\n")             # more than announced
    with pytest.raises(ValueError, match=r"is inconsistent: .* holds 7 of 6 faces"):
        obj.read(short)
    short.write_bytes(data[:data.index(b"# grid")])           # the header itself is cut
    with pytest.raises(ValueError, match="truncated: it starts like a rae_fast autocorrelogram"):
        obj.read(short)


def test_files_of_other_tools_are_read_as_before(tmp_path):
    """Without rae_fast's header there is nothing to compare with: a file cut at a line end
    reads as the mesh it holds, and a missing final line end is fine."""
    p = write_bytes(tmp_path, b"# made elsewhere\n" + TRI + b"f 1 2 3\nf 1 3 4")
    m = obj.read(p)
    assert len(m.vertices) == 4 and len(m.faces) == 2
    p = write_bytes(tmp_path, TRI[:-len(b"v 0 1 0\n")] + b"f 1 2 3\n", "cut.obj")
    assert len(obj.read(p).vertices) == 3
