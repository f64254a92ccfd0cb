"""Wavefront OBJ meshes of autocorrelograms: write, read back, and load folders of them.

An autocorrelogram ``A`` of shape ``(n_lags, n_frames)`` (see :func:`rae_fast.autocorrelogram`)
is a surface over time and delay. :func:`write_autocorrelogram` stores it as a Wavefront OBJ
mesh that ordinary 3-D viewers (Blender, MeshLab, trimesh, three.js...) open:

* one vertex ``v time_s delay_ms value`` per (frame, lag), frame-major: the vertex of frame
  ``i`` and lag ``j`` is number ``i * n_lags + j + 1`` (OBJ numbers from 1);
* one texture coordinate ``vt u v`` per vertex (same numbering), ``u = i / (n_frames - 1)``,
  ``v = j / (n_lags - 1)``, so that an image of the autocorrelogram drapes over the surface;
* optionally one normal ``vn`` per vertex (same numbering), from the gradients of the surface;
* one quad ``f a/a b/b c/c d/d`` (``f a/a/a ...`` with normals) per grid cell, counter-clockwise
  as seen from +z (the value axis), so that front faces look up.

Numbers are written with ``precision`` significant digits (``%.9g`` by default): nine digits
give every float32 exactly, so ``read_autocorrelogram(write_autocorrelogram(A))`` returns the
float32 values of ``A`` bit for bit, and times / delays to 9 significant digits. Writing is
vectorised (whole blocks of lines are formatted at once) and atomic.

:func:`read` is a small, dependency-free parser of the polygonal subset of the OBJ
specification: ``v x y z [w]``, ``vt u [v [w]]``, ``vn x y z``, faces ``f`` with corners
``a``, ``a/b``, ``a//c`` or ``a/b/c`` (negative numbers count back from the latest element),
comments (``#`` to the end of the line), blank lines, ``\\r\\n`` or ``\\r`` line ends and ``\\``
line continuations; grouping, material, smoothing, point/line and free-form statements are
skipped. Regular files (as written here) take a vectorised path; anything else, and every
error, goes through a line-by-line parser that names the file and the line.

:func:`load_dataset` turns a folder of ``.obj`` autocorrelograms laid out like ESC
(``NNN - Class/F-ID-T.obj``, fold = first character of the file name) — or in any folder layout
of :mod:`rae_fast.layouts` — into a :class:`rae_fast.dataset.DataSet` with labels and
cross-validation folds; the layout rules are those of the audio parsers.

>>> import numpy as np, rae_fast
>>> from rae_fast import obj
>>> A = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)   # 4 lags, 3 frames
>>> times, lags_ms = rae_fast.autocorrelogram_axes(3, 4, sr=16000)
>>> path = obj.write_autocorrelogram("acf.obj", A, times, lags_ms)        # doctest: +SKIP
>>> B, t, d = obj.read_autocorrelogram(path)                              # doctest: +SKIP
>>> np.array_equal(A, B)                                                  # doctest: +SKIP
True
"""
from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Iterator, List, Optional, Tuple, Union

import numpy as np

from ._io import atomic_path
from ._validation import check_int, check_real_array

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["ObjMesh", "DEFAULT_PRECISION", "autocorrelogram_mesh", "write", "write_autocorrelogram",
           "read", "read_autocorrelogram", "load_dataset"]

#: Significant digits written by default: enough to give every float32 value back exactly.
DEFAULT_PRECISION = 9

#: Statements of the OBJ specification that :func:`read` accepts and skips (grouping, display
#: attributes, materials, point / line elements, free-form geometry).
IGNORED_STATEMENTS = frozenset({
    "o", "g", "s", "mg", "usemtl", "mtllib", "usemap", "maplib", "lod", "shadow_obj",
    "trace_obj", "ctech", "stech", "bevel", "c_interp", "d_interp", "p", "l", "vp", "cstype",
    "deg", "bmat", "step", "curv", "curv2", "surf", "parm", "trim", "hole", "scrv", "sp", "end",
    "con", "call", "csh", "res",
})

_CHUNK = 1 << 16          # lines formatted per block when writing


@dataclasses.dataclass(frozen=True, eq=False)
class ObjMesh:
    """A polygon mesh as stored in a Wavefront OBJ file (indices 0-based, -1 = absent).

    Attributes
    ----------
    vertices : ndarray, float64, shape ``(n_vertices, 3)``
        ``x y z`` of each ``v`` statement (an optional ``w`` is dropped).
    texcoords : ndarray, float64, shape ``(n_texcoords, 2)``
        ``u v`` of each ``vt`` statement (``v`` is 0 when left out; ``w`` is dropped).
    normals : ndarray, float64, shape ``(n_normals, 3)``
        Each ``vn`` statement.
    faces : ndarray, int64, shape ``(n_faces, max_corners, 3)``
        For each face corner the (vertex, texcoord, normal) numbers, 0-based; -1 where the
        corner has no texcoord / normal, and whole rows of -1 after the last corner of faces
        with fewer than ``max_corners`` corners.
    face_sizes : ndarray, int64, shape ``(n_faces,)``
        Number of corners of each face (>= 3).

    Example
    -------
    >>> m = ObjMesh(np.zeros((3, 3)), np.zeros((0, 2)), np.zeros((0, 3)),
    ...             np.array([[[0, -1, -1], [1, -1, -1], [2, -1, -1]]]), np.array([3]))
    >>> m.n_faces, m.faces[0, :, 0].tolist()
    (1, [0, 1, 2])
    """
    vertices: np.ndarray
    texcoords: np.ndarray
    normals: np.ndarray
    faces: np.ndarray
    face_sizes: np.ndarray

    @property
    def n_faces(self) -> int:
        """Number of faces."""
        return int(self.faces.shape[0])

    def __repr__(self) -> str:
        sizes = sorted(set(self.face_sizes.tolist()))
        return (f"ObjMesh({len(self.vertices)} vertices, {len(self.texcoords)} texcoords, "
                f"{len(self.normals)} normals, {self.n_faces} faces with {sizes} corners)")


# ----------------------------------------------------------------------------- building

def _axis(values, name: str, n: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.float64)
    arr = check_real_array(arr, name, ndim=1).astype(np.float64)
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} values, but A has {n} along that axis")
    if np.any(np.diff(arr) <= 0):
        raise ValueError(f"{name} must be strictly increasing (the mesh is a grid over it)")
    return arr


def _check_grid(A, times, lags) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    A = check_real_array(A, "A", ndim=2)
    n_lags, n_frames = A.shape
    if n_lags < 2 or n_frames < 2:
        raise ValueError(f"A has shape {A.shape} (lags x frames): a surface mesh needs at least "
                         f"2 lags and 2 frames")
    return A, _axis(times, "times", n_frames), _axis(lags, "lags", n_lags)


def autocorrelogram_mesh(A, times, lags, normals: bool = False) -> ObjMesh:
    """The surface mesh of an autocorrelogram, in memory (see :func:`write_autocorrelogram`).

    Parameters
    ----------
    A : ndarray, float32 or float64, shape ``(n_lags, n_frames)``, both >= 2
    times : array, shape ``(n_frames,)``, strictly increasing (seconds)
    lags : array, shape ``(n_lags,)``, strictly increasing (milliseconds)
    normals : bool
        Also compute unit normals ``(-dz/dx, -dz/dy, 1) / norm`` from the grid gradients
        (:func:`numpy.gradient` over the time and delay coordinates).

    Returns
    -------
    ObjMesh
        ``n_frames * n_lags`` vertices (frame-major), as many texcoords (and normals), and
        ``(n_frames - 1) * (n_lags - 1)`` quads, counter-clockwise seen from +z.

    Example
    -------
    >>> m = autocorrelogram_mesh(np.zeros((3, 2), np.float32), [0.0, 0.5], [0.0, 1.0, 2.0])
    >>> m.vertices.shape, m.faces.shape, m.faces[0, :, 0].tolist()
    ((6, 3), (2, 4, 3), [0, 3, 4, 1])
    """
    A, times, lags = _check_grid(A, times, lags)
    if not isinstance(normals, (bool, np.bool_)):
        raise TypeError(f"normals must be True or False, got {normals!r}")
    n_lags, n_frames = A.shape
    Z = A.T.astype(np.float64)                               # (frames, lags)
    V = np.empty((n_frames, n_lags, 3))
    V[..., 0] = times[:, None]
    V[..., 1] = lags[None, :]
    V[..., 2] = Z
    T = np.empty((n_frames, n_lags, 2))
    T[..., 0] = (np.arange(n_frames) / (n_frames - 1))[:, None]
    T[..., 1] = (np.arange(n_lags) / (n_lags - 1))[None, :]
    if normals:
        dzdx, dzdy = np.gradient(Z, times, lags)
        N = np.stack([-dzdx, -dzdy, np.ones_like(Z)], axis=-1)
        N /= np.linalg.norm(N, axis=-1, keepdims=True)
        N = N.reshape(-1, 3)
    else:
        N = np.zeros((0, 3))
    i, j = np.meshgrid(np.arange(n_frames - 1), np.arange(n_lags - 1), indexing="ij")
    a = (i * n_lags + j).ravel()
    quad = np.stack([a, a + n_lags, a + n_lags + 1, a + 1], axis=1)     # CCW seen from +z
    F = np.empty((quad.shape[0], 4, 3), np.int64)
    F[..., 0] = quad
    F[..., 1] = quad
    F[..., 2] = quad if normals else -1
    return ObjMesh(V.reshape(-1, 3), T.reshape(-1, 2), N, F, np.full(len(F), 4, np.int64))


# ------------------------------------------------------------------------------ writing

def _format_rows(fh, rows: np.ndarray, line_fmt: str) -> None:
    """Write ``line_fmt % row`` for every row, formatting a block of rows per call."""
    for s in range(0, rows.shape[0], _CHUNK):
        block = rows[s:s + _CHUNK]
        fh.write(((line_fmt * block.shape[0]) % tuple(block.ravel().tolist())).encode("ascii"))


def _corner_format(has_t: bool, has_n: bool) -> str:
    return {(False, False): "%d", (True, False): "%d/%d", (False, True): "%d//%d",
            (True, True): "%d/%d/%d"}[(has_t, has_n)]


def _check_mesh(mesh: ObjMesh) -> ObjMesh:
    if not isinstance(mesh, ObjMesh):
        raise TypeError(f"mesh must be an ObjMesh, got {type(mesh).__name__}")
    mesh = ObjMesh(*(np.asarray(getattr(mesh, f.name)) for f in dataclasses.fields(ObjMesh)))
    for name, arr, width in (("vertices", mesh.vertices, 3), ("texcoords", mesh.texcoords, 2),
                             ("normals", mesh.normals, 3)):
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"mesh.{name} must hold numbers, got dtype {arr.dtype}")
        if arr.ndim != 2 or arr.shape[1] != width:
            raise ValueError(f"mesh.{name} must have shape (n, {width}), got {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"mesh.{name} contains NaN or Inf")
    F = mesh.faces
    if F.ndim != 3 or F.shape[2] != 3 or F.dtype.kind not in "iu":
        raise ValueError(f"mesh.faces must be an integer array (n_faces, max_corners, 3), "
                         f"got {F.dtype} {F.shape}")
    sizes = mesh.face_sizes
    if sizes.shape != (F.shape[0],) or \
            (F.shape[0] and (sizes.min() < 3 or sizes.max() > F.shape[1])):
        raise ValueError("mesh.face_sizes must give 3..max_corners corners for every face")
    used = np.arange(F.shape[1])[None, :] < sizes[:, None]
    counts = (("vertex", len(mesh.vertices)), ("texcoord", len(mesh.texcoords)),
              ("normal", len(mesh.normals)))
    for k, (name, n) in enumerate(counts):
        idx = F[..., k][used]
        if idx.size and (idx.max() >= n or (k == 0 and idx.min() < 0) or idx.min() < -1):
            raise ValueError(f"mesh.faces refers to {name} numbers outside 0..{n - 1}")
    return mesh


def write(path: PathLike, mesh: ObjMesh, precision: int = DEFAULT_PRECISION,
          header: Optional[str] = None) -> Path:
    """Write a mesh as a Wavefront OBJ file, atomically.

    Parameters
    ----------
    path : str or Path
        Destination (written under a temporary name and renamed when complete).
    mesh : ObjMesh
    precision : int
        Significant digits of every coordinate (``%.<precision>g``), 1..17. Reading the file
        back gives exactly ``float("%.<precision>g" % x)`` for every value ``x``.
    header : str, optional
        Text written as ``#`` comment lines at the top.

    Returns
    -------
    Path

    Example
    -------
    >>> tri = ObjMesh(np.eye(3), np.zeros((0, 2)), np.zeros((0, 3)),
    ...               np.array([[[0, -1, -1], [1, -1, -1], [2, -1, -1]]]), np.array([3]))
    >>> write("tri.obj", tri)                    # doctest: +SKIP
    PosixPath('tri.obj')
    """
    mesh = _check_mesh(mesh)
    precision = check_int(precision, "precision", 1, 17)
    g = f"%.{precision}g"
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        if header:
            for line in str(header).splitlines():
                fh.write(("# " + line + "\n").encode("utf-8"))
        _format_rows(fh, mesh.vertices, f"v {g} {g} {g}\n")
        _format_rows(fh, mesh.texcoords, f"vt {g} {g}\n")
        _format_rows(fh, mesh.normals, f"vn {g} {g} {g}\n")
        F, sizes = mesh.faces, mesh.face_sizes
        if not F.shape[0]:
            return path
        k = int(sizes[0])
        if (sizes == k).all():
            cols = F[:, :k]
            has_t, has_n = bool((cols[..., 1] >= 0).all()), bool((cols[..., 2] >= 0).all())
            if (has_t or (cols[..., 1] < 0).all()) and (has_n or (cols[..., 2] < 0).all()):
                keep = [0] + ([1] if has_t else []) + ([2] if has_n else [])
                rows = cols[..., keep].reshape(len(cols), -1) + 1
                corner = _corner_format(has_t, has_n)
                _format_rows(fh, rows, "f " + " ".join([corner] * k) + "\n")
                return path
        for face, size in zip(F.tolist(), sizes.tolist()):    # mixed sizes / corner forms
            parts = []
            for v, t, n in face[:size]:
                fmt = _corner_format(t >= 0, n >= 0)
                parts.append(fmt % tuple(x + 1 for x in (v, t, n) if x >= 0))
            fh.write(("f " + " ".join(parts) + "\n").encode("ascii"))
    return path


def write_autocorrelogram(path: PathLike, A, times, lags, normals: bool = False,
                          precision: int = DEFAULT_PRECISION,
                          comment: Optional[str] = None) -> Path:
    """Write an autocorrelogram as a Wavefront OBJ surface (atomically).

    Parameters
    ----------
    path : str or Path
        Destination ``.obj`` file.
    A : ndarray, float32 or float64, shape ``(n_lags, n_frames)``, both >= 2
        As returned by :func:`rae_fast.autocorrelogram` (lag first, time last); finite.
    times : array, shape ``(n_frames,)``
        Time of each frame in seconds, strictly increasing.
    lags : array, shape ``(n_lags,)``
        Delay of each lag in milliseconds, strictly increasing
        (:func:`rae_fast.autocorrelogram_axes` gives both axes).
    normals : bool
        Also write per-vertex normals (``vn``) and faces ``f a/a/a ...``.
    precision : int
        Significant digits (default 9: float32 values round-trip exactly).
    comment : str, optional
        Extra header comment (e.g. the source file and settings).

    Returns
    -------
    Path

    Raises
    ------
    ValueError, TypeError
        ``A`` not 2-D / not floating point / non-finite / smaller than 2 x 2; axes of the wrong
        length, not increasing or non-finite.

    Example
    -------
    >>> import rae_fast
    >>> y = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    >>> A = rae_fast.autocorrelogram(y, sr=16000, frame_length=512, hop_length=256, max_lag=64)
    >>> t, d = rae_fast.autocorrelogram_axes(A.shape[1], A.shape[0], sr=16000, hop_length=256,
    ...                                      frame_length=512)
    >>> write_autocorrelogram("noise.obj", A, t, d)          # doctest: +SKIP
    PosixPath('noise.obj')
    """
    precision = check_int(precision, "precision", 1, 17)
    mesh = autocorrelogram_mesh(A, times, lags, normals=normals)
    n_lags, n_frames = np.shape(A)
    lines = [
        "rae_fast autocorrelogram (Wavefront OBJ surface)",
        f"grid: {n_frames} frames x {n_lags} lags (A has shape ({n_lags}, {n_frames}): lag x time)",
        "v time_s delay_ms value; vertex number = frame * n_lags + lag + 1 (frame-major)",
        "vt u v; u = frame / (n_frames - 1), v = lag / (n_lags - 1); same numbering",
        ("vn: unit normals from the grid gradients; same numbering" if normals else "vn: none"),
        "f: quads, counter-clockwise seen from +z (value axis)",
        f"units: time s, delay ms, value as given; precision: {precision} significant digits",
    ]
    if comment:
        lines += str(comment).splitlines()
    return write(path, mesh, precision=precision, header="\n".join(lines))


# ------------------------------------------------------------------------------ reading

def _read_bytes(path: PathLike) -> Tuple[Path, bytes]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not an OBJ file")
    data = path.read_bytes()
    if b"\0" in data:
        raise ValueError(f"{path} is a binary file, not a Wavefront OBJ text file")
    return path, data


_TABS_TO_SPACES = bytes.maketrans(b"\t", b" ")
_INF_MARK = b" 1e999"            # parses as +inf: never a legal value, so it marks line ends
_BIG_MARK = 1 << 62              # never a legal element number: marks the end of a face line


def _fromstring(buf: bytes, dtype) -> Optional[np.ndarray]:
    try:
        return np.fromstring(buf, dtype=dtype, sep=" ")
    except ValueError:
        return None


def _pad_faces(corners: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    if not sizes.size:
        return np.zeros((0, 3, 3), np.int64)
    kmax = int(sizes.max())
    if (sizes == kmax).all():
        return corners.reshape(len(sizes), kmax, 3)
    out = np.full((len(sizes), kmax, 3), -1, np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rows = np.repeat(np.arange(len(sizes)), sizes)
    cols = np.arange(len(corners)) - np.repeat(offsets, sizes)
    out[rows, cols] = corners
    return out


def _block(data: bytes, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray,
           keyword: bytes) -> bytes:
    """The statements of ``lines`` (runs of consecutive lines sliced at once), keyword removed,
    tabs turned into spaces, one statement per ``\\n``-terminated line."""
    if not lines.size:
        return b""
    cut = np.flatnonzero(np.diff(lines) != 1) + 1
    runs = zip(np.concatenate([[0], cut]), np.concatenate([cut, [len(lines)]]))
    text = b"".join(data[starts[lines[a]]:ends[lines[b - 1]] + 1] for a, b in runs)
    text = b"\n" + text.translate(_TABS_TO_SPACES)
    return text.replace(b"\n" + keyword + b" ", b"\n")[1:]


def _fast_numbers(block: bytes, n_lines: int, allowed: Tuple[int, ...],
                  width: int) -> Optional[np.ndarray]:
    """``(n_lines, width)`` floats of a block with the same count (in ``allowed``) per line."""
    if not n_lines:
        return np.zeros((0, width))
    if block.translate(None, b"0123456789.-+eE \n"):
        return None                      # other characters: comments, NaN, garbage...
    vals = _fromstring(block.replace(b"\n", _INF_MARK + b"\n"), np.float64)
    if vals is None or vals.size % n_lines:
        return None
    c = vals.size // n_lines - 1
    if c not in allowed:
        return None
    vals = vals.reshape(n_lines, c + 1)
    if not np.isposinf(vals[:, c]).all() or not np.isfinite(vals[:, :c]).all():
        return None                      # counts differ between lines, or a value overflowed
    out = np.zeros((n_lines, width))
    k = min(c, width)
    out[:, :k] = vals[:, :k]
    return out


def _read_fast(data: bytes) -> Optional[ObjMesh]:
    """Vectorised reader for regular files; None when the file needs the line-by-line parser.

    Regular: ``\\n`` or ``\\r\\n`` line ends, no continuations, keywords at the start of the
    line, no comments after data, the same number of values on every ``v`` / ``vt`` line, and
    one corner form in all faces. Bytes are sliced and parsed in bulk (``numpy.fromstring``),
    with impossible values appended as line-end markers so that every line is checked to
    hold exactly the same number of values. It never raises on bad input: it declines, and
    the line-by-line parser then reports the problem with its line number.
    """
    if b"\\" in data and re.search(rb"\\[ \t]*(?:\r?\n|\r|$)", data):
        return None                      # line continuations
    if b"\r" in data:
        if data.count(b"\r") != data.count(b"\r\n"):
            return None
        data = data.replace(b"\r\n", b"\n")
    if not data.endswith(b"\n"):
        data += b"\n"
    arr = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(arr == 10)                 # the '\n' of every line
    starts = np.concatenate([[0], ends[:-1] + 1])
    n = arr.size

    def char(offset):
        return arr[np.minimum(starts + offset, n - 1)]

    c0, c1, c2 = char(0), char(1), char(2)
    sep1 = (c1 == 32) | (c1 == 9)
    sep2 = (c2 == 32) | (c2 == 9)
    kind = np.zeros(len(starts), np.int8)            # 0 other, 1 v, 2 vt, 3 vn, 4 f, 5 comment
    kind[(c0 == ord("v")) & sep1] = 1
    kind[(c0 == ord("v")) & (c1 == ord("t")) & sep2] = 2
    kind[(c0 == ord("v")) & (c1 == ord("n")) & sep2] = 3
    kind[(c0 == ord("f")) & sep1] = 4
    kind[(c0 == 35) | (starts == ends)] = 5
    for li in np.flatnonzero(kind == 0):
        words = data[starts[li]:ends[li]].split()
        if not words or words[0].startswith(b"#"):
            continue
        if data[starts[li]:starts[li] + 1].isspace() or \
                words[0].decode("latin-1") not in IGNORED_STATEMENTS:
            return None                  # indented or unknown statement: general parser
    lines = [np.flatnonzero(kind == k) for k in (1, 2, 3, 4)]
    V = _fast_numbers(_block(data, starts, ends, lines[0], b"v"), len(lines[0]), (3, 4), 3)
    T = _fast_numbers(_block(data, starts, ends, lines[1], b"vt"), len(lines[1]), (1, 2, 3), 2)
    N = _fast_numbers(_block(data, starts, ends, lines[2], b"vn"), len(lines[2]), (3,), 3)
    if V is None or T is None or N is None or not len(V):
        return None
    face_lines = lines[3]
    if not face_lines.size:
        return ObjMesh(V, T, N, np.zeros((0, 3, 3), np.int64), np.zeros(0, np.int64))
    fb = _block(data, starts, ends, face_lines, b"f")
    if fb.translate(None, b"0123456789-/ \n"):
        return None
    if b"///" in fb or b" /" in fb or b"/ " in fb or b"/\n" in fb or b"\n/" in fb or \
            fb.startswith(b"/"):
        return None                      # slashes must sit between two numbers
    # every corner must use the same form: the same number of slashes, all or none doubled
    fa = np.frombuffer(fb, np.uint8)
    ws = (fa == 32) | (fa == 10)
    tok_start = ~ws
    tok_start[1:] &= ws[:-1]
    corner_starts = np.flatnonzero(tok_start)
    n_corner = corner_starts.size
    slash_at = np.flatnonzero(fa == 47)
    per_corner = np.diff(np.searchsorted(slash_at, np.append(corner_starts, fa.size)))
    n_slash = int(per_corner[0]) if n_corner else 0
    n_double = fb.count(b"//")
    if not n_corner or not (per_corner == n_slash).all() or n_slash > 2 or \
            n_double not in (0, n_corner) or (n_double and n_slash != 2):
        return None
    slots = {0: (0,), 1: (0, 1), 2: (0, 2) if n_double else (0, 1, 2)}[n_slash]
    ints = _fromstring(fb.replace(b"/", b" ").replace(b"\n", b" %d\n" % _BIG_MARK), np.int64)
    if ints is None:
        return None
    marks = np.flatnonzero(ints == _BIG_MARK)
    counts = np.diff(np.concatenate([[-1], marks])) - 1
    if marks.size != face_lines.size or ints.size - marks.size != n_corner * len(slots) or \
            (counts % len(slots)).any():
        return None
    sizes = counts // len(slots)
    if sizes.min() < 3:
        return None
    ints = np.delete(ints, marks).reshape(-1, len(slots))
    corners = np.full((len(ints), 3), -1, np.int64)
    for col, slot in enumerate(slots):
        idx = ints[:, col]
        if not idx.all():
            return None                  # element number 0
        if (idx < 0).any():              # relative: count back from the elements defined so far
            before = np.searchsorted(lines[slot], face_lines)
            resolved = np.where(idx < 0, np.repeat(before, sizes) + idx, idx - 1)
        else:
            resolved = idx - 1
        if resolved.min() < 0 or resolved.max() >= (len(V), len(T), len(N))[slot]:
            return None
        corners[:, slot] = resolved
    return ObjMesh(V, T, N, _pad_faces(corners, sizes), sizes.astype(np.int64))


_FLOAT_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_CORNER_RE = re.compile(r"(-?\d+)(?:/(-?\d+)(?:/(-?\d+))?|//(-?\d+))?")


def _logical_lines(text: str) -> Iterator[Tuple[int, str]]:
    """``(line number, statement)`` with comments removed and continuations joined."""
    pending, start = "", 0
    for no, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        line = line.split("#", 1)[0]
        stripped = line.rstrip()
        if stripped.endswith("\\"):
            if not pending:
                start = no
            pending += stripped[:-1] + " "
            continue
        if pending:
            yield start, pending + line
            pending = ""
        else:
            yield no, line
    if pending:
        yield start, pending


def _read_general(path: Path, data: bytes) -> ObjMesh:
    """Line-by-line parser of the polygonal OBJ subset; raises ValueError naming file and line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    V: List[Tuple[float, float, float]] = []
    T: List[Tuple[float, float]] = []
    N: List[Tuple[float, float, float]] = []
    faces: List[List[Tuple[int, int, int]]] = []
    face_lines: List[int] = []
    positive_refs: List[Tuple[int, int, int]] = []     # (line, kind, 0-based index)

    def numbers(no, kw, words, lo, hi):
        if not lo <= len(words) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise ValueError(f"{path}, line {no}: '{kw}' needs {want} numbers, got {len(words)}")
        for w in words:
            if _FLOAT_RE.fullmatch(w) is None:
                raise ValueError(f"{path}, line {no}: {w!r} is not a number")
        vals = [float(w) for w in words]
        if not all(np.isfinite(vals)):
            raise ValueError(f"{path}, line {no}: '{kw}' has a non-finite value (NaN or Inf)")
        return vals

    def ref(no, text_idx, kind, counts):
        i = int(text_idx)
        name = ("vertex", "texture coordinate", "normal")[kind]
        if i == 0:
            raise ValueError(f"{path}, line {no}: {name} number 0 (OBJ numbers start at 1)")
        if i < 0:
            r = counts[kind] + i
            if r < 0:
                raise ValueError(f"{path}, line {no}: relative {name} number {i} goes before the "
                                 f"first {name} (only {counts[kind]} defined so far)")
            return r
        positive_refs.append((no, kind, i - 1))
        return i - 1

    for no, line in _logical_lines(text):
        words = line.split()
        if not words:
            continue
        kw, args = words[0], words[1:]
        if kw == "v":
            V.append(tuple(numbers(no, kw, args, 3, 4)[:3]))
        elif kw == "vt":
            vals = numbers(no, kw, args, 1, 3)
            T.append((vals[0], vals[1] if len(vals) > 1 else 0.0))
        elif kw == "vn":
            N.append(tuple(numbers(no, kw, args, 3, 3)))
        elif kw == "f":
            if len(args) < 3:
                raise ValueError(f"{path}, line {no}: a face needs at least 3 corners, "
                                 f"got {len(args)}")
            counts = (len(V), len(T), len(N))
            face = []
            for w in args:
                m = _CORNER_RE.fullmatch(w)
                if m is None:
                    raise ValueError(f"{path}, line {no}: face corner {w!r} is not one of "
                                     f"v, v/vt, v//vn, v/vt/vn")
                v, t, n1, n2 = m.groups()
                n = n1 if n1 is not None else n2
                face.append((ref(no, v, 0, counts),
                             -1 if t is None else ref(no, t, 1, counts),
                             -1 if n is None else ref(no, n, 2, counts)))
            faces.append(face)
            face_lines.append(no)
        elif kw in IGNORED_STATEMENTS:
            continue
        else:
            raise ValueError(f"{path}, line {no}: unknown statement {kw!r} (not a Wavefront OBJ "
                             f"file?)")
    totals = (len(V), len(T), len(N))
    for no, kind, i in positive_refs:
        if i >= totals[kind]:
            name = ("vertex", "texture coordinate", "normal")[kind]
            raise ValueError(f"{path}, line {no}: {name} number {i + 1} does not exist (the file "
                             f"has {totals[kind]})")
    if not V:
        raise ValueError(f"{path} has no vertices ('v' statements): not a Wavefront OBJ mesh")
    sizes = np.array([len(f) for f in faces], np.int64)
    corners = np.array([c for f in faces for c in f], np.int64).reshape(-1, 3)
    return ObjMesh(np.array(V, np.float64).reshape(-1, 3), np.array(T, np.float64).reshape(-1, 2),
                   np.array(N, np.float64).reshape(-1, 3), _pad_faces(corners, sizes), sizes)


def read(path: PathLike) -> ObjMesh:
    """Read the polygon mesh of a Wavefront OBJ file (own parser, no third-party dependency).

    Accepts ``v x y z [w]``, ``vt u [v [w]]``, ``vn x y z`` and faces ``f`` whose corners are
    ``a``, ``a/b``, ``a//c`` or ``a/b/c`` (1-based; negative numbers count back from the
    latest element defined before the face), comments, blank lines, ``\\r\\n`` / ``\\r`` line
    ends and ``\\`` continuations. Grouping (``o g s mg``), material (``mtllib usemtl``),
    point / line (``p l``) and free-form statements are skipped.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    ObjMesh
        Vertices ``(n, 3)``, texcoords ``(n_t, 2)``, normals ``(n_n, 3)`` as float64; faces
        ``(n_faces, max_corners, 3)`` int64, 0-based, -1 where absent.

    Raises
    ------
    ValueError
        A binary file, an unknown statement, a malformed number or face corner, a non-finite
        value, a reference to an element that does not exist, or no vertices at all; the
        message names the file and the line.
    FileNotFoundError, IsADirectoryError

    Example
    -------
    >>> mesh = read("acf.obj")                     # doctest: +SKIP
    >>> mesh.vertices.shape, mesh.faces.shape      # doctest: +SKIP
    ((441775, 3), (439040, 4, 3))
    """
    path, data = _read_bytes(path)
    mesh = _read_fast(data)
    return mesh if mesh is not None else _read_general(path, data)


def read_autocorrelogram(path: PathLike,
                         dtype=np.float32) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read back an autocorrelogram written by :func:`write_autocorrelogram`.

    The grid is recovered from the vertices alone: consecutive vertices of one frame share
    their time, and every frame lists the same delays.

    Parameters
    ----------
    path : str or Path
    dtype : float32 (default) or float64
        Type of the returned values (float32 gives written float32 values back exactly).

    Returns
    -------
    A : ndarray, shape ``(n_lags, n_frames)``
    times : ndarray, float64, shape ``(n_frames,)`` (seconds)
    lags_ms : ndarray, float64, shape ``(n_lags,)`` (milliseconds)

    Raises
    ------
    ValueError
        The vertices are not a frame-major (time, delay) grid of at least 2 x 2.

    Example
    -------
    >>> A, times, lags_ms = read_autocorrelogram("acf.obj")   # doctest: +SKIP
    >>> A.shape, A.dtype                                       # doctest: +SKIP
    ((1025, 431), dtype('float32'))
    """
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    path = Path(path)
    V = read(path).vertices
    x = V[:, 0]
    change = np.flatnonzero(x != x[0])
    n_lags = int(change[0]) if change.size else len(V)
    n_frames = len(V) // n_lags
    problem = None
    if n_lags < 2 or n_frames < 2:
        problem = f"a grid needs at least 2 lags and 2 frames, found {n_lags} x {n_frames}"
    elif n_frames * n_lags != len(V):
        problem = f"{len(V)} vertices are not a whole number of frames of {n_lags} lags"
    else:
        G = V.reshape(n_frames, n_lags, 3)
        times, lags = G[:, 0, 0], G[0, :, 1]
        if not (G[..., 0] == times[:, None]).all():
            problem = "the time (x) of a frame's vertices is not constant"
        elif not (G[..., 1] == lags[None, :]).all():
            problem = "the frames do not share the same delays (y)"
        elif np.any(np.diff(times) <= 0) or np.any(np.diff(lags) <= 0):
            problem = "times and delays must increase"
    if problem:
        raise ValueError(f"{path} is not an autocorrelogram mesh as written by "
                         f"rae_fast.obj.write_autocorrelogram: {problem}")
    A = np.ascontiguousarray(G[..., 2].T).astype(dt)
    return A, times.copy(), lags.copy()


# ------------------------------------------------------------------------------ data sets

def load_dataset(folder: PathLike, workers: Optional[int] = None,
                 show_progress: Optional[bool] = False, parser: str = "esc",
                 parser_options: Optional[dict] = None):
    """Load a folder of autocorrelogram OBJ files as a (labelled) DataSet.

    The folder is read by the data set parsers of :mod:`rae_fast.layouts` with ``.obj``
    files as instances, so labels, folds and partitions follow exactly the rules of those
    layouts. The default, ``parser="esc"``, reads ``folder/NNN - Class/F-ID-T.obj`` (e.g.
    written by ``rae-fast autocorrelogram ESC-10 --out DIR --format obj``): the fold (1-5) is
    the first character of the file name (file of fold F: validation in fold F, training in
    the others); labels are numbered in the order of the class folders (``001 - Dog bark`` ->
    0, ...), as :class:`rae_fast.layouts.esc.ESCParser` and auDeep's ESC parser do.
    ``parser="auto"`` detects the layout; ``"cross_validated"`` (``fold_K/<label>/*.obj``),
    ``"partitioned"`` (``train|devel|test/<label>/*.obj``), ``"class_folders"``
    (``<label>/*.obj``, option ``n_folds``) and ``"no_metadata"`` (unlabelled) work too.
    Other files in the folders are ignored.

    Parameters
    ----------
    folder : str or Path
    workers : int, optional
        Threads reading files (default: all cores).
    show_progress : bool or None
        Progress bar (None: only on a terminal).
    parser : str
        Layout (a name of :data:`rae_fast.layouts.PARSERS` or ``"auto"``; default ``"esc"``).
    parser_options : dict, optional
        Options of the parser, e.g. ``{"n_folds": 5}`` for ``class_folders``.

    Returns
    -------
    rae_fast.dataset.DataSet
        Features float32 ``(n_files, n_frames, n_lags)``, time-major, ``feature_dims``
        ``("time", "lag")``; ``attrs`` hold ``times_s`` and ``lags_ms``; filenames relative
        to ``folder``; the layout's folds (5 for ESC) and partitions.

    Raises
    ------
    ValueError
        The folder does not match the layout (the parser's reason: e.g. a class folder that is
        not ``NNN - Name``, a file name without a fold number, a class folder without
        ``.obj`` files), a file that is not an autocorrelogram mesh, or files with a
        different shape or axes than the first one (naming both files).

    Example
    -------
    >>> ds = load_dataset("esc10_obj")              # doctest: +SKIP
    >>> ds.feature_dims, ds.n_folds, ds.label_map["Dog bark"]   # doctest: +SKIP
    (('time', 'lag'), 5, 0)
    >>> load_dataset("my_objs", parser="class_folders",
    ...              parser_options={"n_folds": 4}).n_folds      # doctest: +SKIP
    4
    """
    from concurrent.futures import ThreadPoolExecutor

    from .dataset import DataSet
    from .layouts import parse_dataset
    from .progress import progress

    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder of .obj files (e.g. "
                                 f"'NNN - Class/F-ID-T.obj')")
    parsed = parse_dataset(folder, parser, extensions={".obj"}, **(parser_options or {}))
    files = [inst.path for inst in parsed.instances]
    if not files:
        raise ValueError(f"{folder} holds no .obj files (parser {parsed.parser})")
    workers = (os.cpu_count() or 1) if workers is None else check_int(workers, "workers", 1)
    feats = None
    first_axes = None
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(read_autocorrelogram, path) for path in files]
        bar = progress(total=len(files), desc="load obj", unit="file",
                       disable=None if show_progress is None else not show_progress)
        with bar:
            for k, (path, fut) in enumerate(zip(files, futures)):
                A, times, lags = fut.result()
                if feats is None:
                    feats = np.empty((len(files), A.shape[1], A.shape[0]), np.float32)
                    first_axes = (path, times, lags)
                elif A.T.shape != feats.shape[1:]:
                    raise ValueError(f"{path} has {A.shape[1]} frames x {A.shape[0]} lags, but "
                                     f"{first_axes[0]} has {feats.shape[1]} x {feats.shape[2]}; "
                                     f"all instances of a data set need the same shape")
                elif not (np.allclose(times, first_axes[1], rtol=1e-6, atol=1e-12)
                          and np.allclose(lags, first_axes[2], rtol=1e-6, atol=1e-12)):
                    raise ValueError(f"{path} has other time or delay axes than {first_axes[0]} "
                                     f"(a different sampling rate or hop length?)")
                feats[k] = A.T
                bar.update(1)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    insts = parsed.instances
    cv = np.array([inst.cv_folds for inst in insts], np.int8).reshape(len(insts), parsed.n_folds)
    return DataSet(feats, ("time", "lag"), [inst.filename for inst in insts],
                   chunk_nr=np.zeros(len(insts), np.int64),
                   label_nominal=[inst.label_nominal for inst in insts], cv_folds=cv,
                   partition=np.array([inst.partition for inst in insts], np.int8),
                   label_map=parsed.label_map,
                   attrs={"source": "rae_fast.obj.load_dataset", "source.basedir": str(folder),
                          "source.parser": parsed.parser,
                          "times_s": first_axes[1].tolist(), "lags_ms": first_axes[2].tolist()})
