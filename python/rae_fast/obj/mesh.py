"""The mesh (:class:`ObjMesh`) and the surface of an autocorrelogram over time and delay."""
from __future__ import annotations

import dataclasses
import os
from typing import Tuple, Union

import numpy as np

from .._validation import check_real_array

PathLike = Union[str, "os.PathLike[str]"]

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
