"""The data model: instances with features and metadata, stored as auDeep-compatible netCDF4.

One *instance* is one audio file, or one chunk of it. Per instance we keep

============== ============================ ===============================================
name           in memory                    meaning
============== ============================ ===============================================
features       float32 ``(n, *shape)``      spectrogram ``(time, freq)``, autocorrelogram
                                            ``(time, lag)``, representation ``(generated,)``
filenames      object ``(n,)`` of str       file name, relative to the data set folder
chunk_nr       int64 ``(n,)``               chunk index within the file, ``MISSING`` if unknown
label_nominal  object ``(n,)`` str or None  class name
label_numeric  int64 ``(n,)``               class id, ``MISSING`` when unlabelled
cv_folds       int8 ``(n, n_folds)``        per fold ``Split.TRAIN`` (0) / ``Split.VALID``
                                            (1) / ``MISSING``; folds may overlap
partition      int8 ``(n,)``                ``Partition`` value or ``MISSING``
============== ============================ ===============================================

plus a label map (``{name: id}``, names sorted -> ``0..K-1`` as auDeep does) and free-form
global ``attrs`` (e.g. the preprocessing settings).

On disk the layout is auDeep's (xarray ``to_netcdf``): dimensions ``instance``, ``fold`` and
the feature dimensions; variables ``filename``, ``chunk_nr``, ``label_nominal``,
``label_numeric``, ``cv_folds``, ``partition``, ``features``; global attributes
``feature_dims`` (JSON list) and ``label_map`` (JSON list of ``[name, id]`` pairs). Files
written by auDeep load here, and files written here open in auDeep / xarray (see
``docs/data-model.md`` for the exact encodings).

>>> import numpy as np
>>> from rae_fast.dataset import DataSet, Partition
>>> ds = DataSet(np.zeros((2, 3, 4), np.float32), ("time", "freq"), ["a.wav", "b.wav"],
...              label_nominal=["dog", "cat"], partition=[Partition.TRAIN, Partition.TEST])
>>> ds.label_map, ds.label_numeric.tolist(), ds.feature_shape
({'cat': 0, 'dog': 1}, [1, 0], (3, 4))
"""
from ._schema import MISSING, Partition, Split, make_label_map, partition_list
from .lazy import LazyFeatures
from .model import DataSet, check_integrity
from .netcdf import load, read_extra_columns
from .writer import DataSetWriter, save
from .splits import make_cv_folds, make_partitions

__all__ = ["MISSING", "Partition", "Split", "DataSet", "DataSetWriter", "LazyFeatures", "load",
           "save", "make_label_map", "make_cv_folds", "make_partitions", "check_integrity",
           "partition_list", "read_extra_columns"]
