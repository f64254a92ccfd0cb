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
from .folders import load_dataset
from .mesh import DEFAULT_PRECISION, IGNORED_STATEMENTS, ObjMesh, autocorrelogram_mesh
from .reader import read, read_autocorrelogram
from .writer import write, write_autocorrelogram

__all__ = ["ObjMesh", "DEFAULT_PRECISION", "autocorrelogram_mesh", "write", "write_autocorrelogram",
           "read", "read_autocorrelogram", "load_dataset", "IGNORED_STATEMENTS"]
