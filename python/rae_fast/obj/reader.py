"""Reading OBJ files: a vectorised path for regular files, a line-by-line parser that names
the file and the line for everything else."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import numpy as np

from .mesh import IGNORED_STATEMENTS, ObjMesh, PathLike


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


_ACF_TITLE = b"# rae_fast autocorrelogram (Wavefront OBJ surface)"
_GRID_RE = re.compile(rb"# grid: (\d+) frames x (\d+) lags[ (]")


def _announced_counts(path: Path, data: bytes) -> Optional[dict]:
    """Element counts announced by the header of a file written by
    :func:`~rae_fast.obj.write_autocorrelogram` (``# grid: F frames x L lags``), or ``None``
    for files without that header (other tools' files are read as they are)."""
    if not data.startswith(_ACF_TITLE):
        return None
    header = []
    for line in data.split(b"\n"):
        if not line.startswith(b"#"):
            break
        header.append(line)
    grid = next((m for m in map(_GRID_RE.match, header) if m), None)
    if grid is None:
        raise ValueError(f"{path} is truncated: it starts like a rae_fast autocorrelogram but "
                         "its header ends before the grid line ('# grid: F frames x L lags')")
    frames, lags = int(grid.group(1)), int(grid.group(2))
    normals = any(h.startswith(b"# vn: unit normals") for h in header)
    n = frames * lags
    return {"frames": frames, "lags": lags, "vertices": n, "texture coordinates": n,
            "normals": n if normals else 0, "faces": (frames - 1) * (lags - 1)}


def _check_last_line(path: Path, data: bytes) -> None:
    """The writer ends every line with ``\\n``: a file that does not was cut short."""
    if not data.endswith(b"\n"):
        last = data[data.rfind(b"\n") + 1:][:40].decode("latin-1")
        raise ValueError(f"{path} is truncated: its last line {last!r} is incomplete (no line "
                         f"end after {len(data)} bytes)")


def _check_complete(path: Path, mesh: ObjMesh, counts: dict) -> None:
    """Compare a mesh with the counts its header announced; raise when they differ."""
    found = {"vertices": len(mesh.vertices), "texture coordinates": len(mesh.texcoords),
             "normals": len(mesh.normals), "faces": len(mesh.faces)}
    wrong = [k for k in found if found[k] != counts[k]]
    if wrong:
        what = ", ".join(f"{found[k]} of {counts[k]} {k}" for k in wrong)
        short = any(found[k] < counts[k] for k in wrong)
        raise ValueError(f"{path} is {'truncated' if short else 'inconsistent'}: its header "
                         f"announces {counts['frames']} frames x {counts['lags']} lags, but it "
                         f"holds {what}")


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
        message names the file and the line. A file written by
        :func:`~rae_fast.obj.write_autocorrelogram` (its header announces the grid) that holds
        fewer elements than announced or ends in an incomplete line -- cut short by a full
        disk, a crash or a failed copy -- raises a ``ValueError`` naming the file and what
        is missing; files without that header are read as they are.
    FileNotFoundError, IsADirectoryError

    Example
    -------
    >>> mesh = read("acf.obj")                     # doctest: +SKIP
    >>> mesh.vertices.shape, mesh.faces.shape      # doctest: +SKIP
    ((441775, 3), (439040, 4, 3))
    """
    path, data = _read_bytes(path)
    counts = _announced_counts(path, data)
    if counts is not None:
        _check_last_line(path, data)
    mesh = _read_fast(data)
    if mesh is None:
        mesh = _read_general(path, data)
    if counts is not None:
        _check_complete(path, mesh, counts)
    return mesh


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
