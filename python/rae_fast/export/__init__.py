"""Export data sets to CSV, ARFF or Parquet in auDeep's directory layout, and import them back.

Every row is one instance: ``filename``, ``chunk_nr``, then ``label_nominal`` and
``label_numeric`` (left out when the data set has no labels at all), then the flattened
features ``feature_0 .. feature_{D-1}`` (row-major, as ``features.reshape(n, -1)``); with
``labels_last`` the two label columns come after the features. Missing values are empty in
CSV, ``?`` in ARFF and null in Parquet. Floats are written with 9 significant digits, which
reproduces every float32 exactly.

Layout under the output folder (auDeep's, so that auDeep users find their files):

- no folds, no partitions: ``<name>.<ext>``;
- partitions only: ``train/<name>.<ext>``, ``devel/...``, ``test/...`` (non-empty ones);
- folds only: ``fold_1/<name>.<ext>`` ... -- fold ``k`` holds its *validation* split;
- both: ``train/fold_1/<name>.<ext>`` ... (the validation split of each fold within each
  partition; auDeep wrote the whole data set's split there, we restrict it to the partition).

Instances that the layout cannot place (no partition while others have one; in no
validation split) are reported in a warning, as are overlapping folds (such instances are
written once per fold). :func:`import_features` reads any of these layouts (or one file) back
into a :class:`~rae_fast.dataset.DataSet`, merging the copies of an instance that appears in
several folds.

ARFF: the file name attribute is declared nominal (the list of all file names) by default, so
that standard readers such as ``scipy.io.arff`` (which cannot read STRING attributes) parse
the files; ``arff_filenames="string"`` writes auDeep's ``STRING`` type instead. Values are
quoted with single quotes and backslash escapes where needed (scipy cannot read quotes inside
values; Weka and liac-arff can).

>>> export(ds, "out/", "reps", fmt="arff")          # doctest: +SKIP
[PosixPath('out/fold_1/reps.arff'), ...]
>>> import_features("out/", "reps").equals(ds)      # doctest: +SKIP
"""
from .formats import FORMATS
from .layout import export, import_features
from .readers import read_features
from .writers import write_features

__all__ = ["FORMATS", "export", "write_features", "read_features", "import_features"]
