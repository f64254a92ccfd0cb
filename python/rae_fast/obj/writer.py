"""Writing OBJ files: vectorised (blocks of lines formatted at once) and atomic."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np

from .._io import atomic_path
from .._validation import check_int
from .mesh import _CHUNK, DEFAULT_PRECISION, ObjMesh, PathLike, autocorrelogram_mesh


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
