"""Export to CSV / ARFF / Parquet in auDeep's layout, import back, and bad feature files."""
import csv

import numpy as np
import pytest

import rae_fast.export.writers as export_module
from rae_fast.dataset import DataSet
from rae_fast.export import export, import_features, read_features, write_features

FORMATS = ["csv", "arff", "parquet"]


def make(n=24, d=6, n_folds=0, partitioned=False, labelled=True, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n, d)) * scale).astype(np.float32)
    X[0, 0] = np.float32(1e-38)   # float32 extremes survive the text formats
    X[1, 1] = np.float32(3.4e38)
    X[2, 2] = np.float32(0.1)
    files = [f"{i // 2:03d} - Dog bark/1-{i // 2}-A.ogg" for i in range(n)]
    files[2] = files[3] = 'odd, "quoted" name.wav'
    labels = [["dog bark", "cat", "rain"][(i // 2) % 3] for i in range(n)] if labelled else None
    cv = None
    if n_folds:
        cv = np.zeros((n, n_folds), np.int8)
        cv[np.arange(n), (np.arange(n) // 2) % n_folds] = 1
    part = ((np.arange(n) // 2) % 3).astype(np.int8) if partitioned else None
    return DataSet(X, ("generated",), files, chunk_nr=np.arange(n) % 2, label_nominal=labels,
                   cv_folds=cv, partition=part)


def canonical(ds):
    order = np.lexsort((ds.chunk_nr, np.array([str(f) for f in ds.filenames])))
    return ds.subset(order)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("labels_last", [False, True])
@pytest.mark.parametrize("layout", ["flat", "folds", "partitions", "both"])
def test_round_trip(tmp_path, fmt, labels_last, layout):
    ds = make(n_folds=3 if layout in ("folds", "both") else 0,
              partitioned=layout in ("partitions", "both"))
    files = export(ds, tmp_path, "reps", fmt=fmt, labels_last=labels_last)
    expected = {"flat": ["reps"], "folds": ["fold_1/reps", "fold_2/reps", "fold_3/reps"],
                "partitions": ["train/reps", "devel/reps", "test/reps"],
                "both": [f"{p}/fold_{k}/reps" for p in ("train", "devel", "test")
                         for k in (1, 2, 3)]}[layout]
    assert [str(f.relative_to(tmp_path).with_suffix("")) for f in files] == expected
    assert all(f.suffix == "." + fmt for f in files)
    back = import_features(tmp_path, "reps")
    assert canonical(back).equals(canonical(ds))


def test_overlapping_folds_round_trip(tmp_path, caplog):
    ds = make(n_folds=2)
    cv = ds.cv_folds.copy()
    cv[:4] = 1  # the first 4 instances validate in both folds
    ds = DataSet(ds.features, ds.feature_dims, ds.filenames, chunk_nr=ds.chunk_nr,
                 label_nominal=ds.label_nominal, cv_folds=cv)
    export(ds, tmp_path, "reps", fmt="csv")
    assert "several folds" in caplog.text
    assert canonical(import_features(tmp_path)).equals(canonical(ds))


def test_unplaceable_instances_are_reported(tmp_path, caplog):
    ds = make(n_folds=2)
    cv = ds.cv_folds.copy()
    cv[5] = 0  # in no validation split
    ds = DataSet(ds.features, ds.feature_dims, ds.filenames, chunk_nr=ds.chunk_nr,
                 label_nominal=ds.label_nominal, cv_folds=cv)
    export(ds, tmp_path, "reps", fmt="csv")
    assert "1 instances are in no validation split" in caplog.text


def test_csv_columns_and_values(tmp_path):
    ds = make(n=4, d=3)
    path = write_features(ds, tmp_path / "a.csv")
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["filename", "chunk_nr", "label_nominal", "label_numeric", "feature_0",
                       "feature_1", "feature_2"]
    assert rows[3][0] == 'odd, "quoted" name.wav' and rows[3][2:4] == ["cat", "0"]
    np.testing.assert_array_equal(np.array([r[4:] for r in rows[1:]], np.float32), ds.features)
    last = write_features(ds, tmp_path / "b.csv", labels_last=True)
    with open(last, newline="") as fh:
        header = next(csv.reader(fh))
    assert header[-2:] == ["label_nominal", "label_numeric"] and header[2] == "feature_0"


def test_csv_reads_with_pandas(tmp_path):
    pd = pytest.importorskip("pandas")
    ds = make(n=10, d=4)
    frame = pd.read_csv(write_features(ds, tmp_path / "a.csv"))
    assert list(frame["filename"]) == list(ds.filenames)
    np.testing.assert_array_equal(frame[[f"feature_{j}" for j in range(4)]].to_numpy(np.float32),
                                  ds.features)


@pytest.mark.parametrize("labels_last", [False, True])
def test_arff_parses_with_scipy(tmp_path, labels_last):
    from scipy.io import arff

    ds = make(n=12, d=5, n_folds=2)
    ds = DataSet(ds.features, ds.feature_dims,  # scipy cannot read quotes inside values
                 [f.replace('"', "") for f in ds.filenames], chunk_nr=ds.chunk_nr,
                 label_nominal=ds.label_nominal, cv_folds=ds.cv_folds)
    files = export(ds, tmp_path, "reps", fmt="arff", labels_last=labels_last)
    for fold, path in enumerate(files):
        data, meta = arff.loadarff(path)
        idx = ds.fold_indices(fold)[1]
        assert meta.names()[:2] == ["filename", "chunk_nr"]
        assert meta.types()[meta.names().index("label_nominal")] == "nominal"
        assert [v.decode() for v in data["filename"]] == list(ds.filenames[idx])
        assert [v.decode() for v in data["label_nominal"]] == list(ds.label_nominal[idx])
        np.testing.assert_array_equal(data["label_numeric"], ds.label_numeric[idx])
        feats = np.stack([data[f"feature_{j}"] for j in range(5)], axis=1).astype(np.float32)
        np.testing.assert_array_equal(feats, ds.features[idx])
        # every file of one export has the same header (Weka needs that for train/test)
        assert sorted(meta["filename"][1]) == sorted(set(ds.filenames))


def test_arff_string_filenames_and_unlabelled(tmp_path):
    ds = make(n=6, labelled=False)
    path = write_features(ds, tmp_path / "u.arff", arff_filenames="string")
    text = path.read_text()
    assert "@ATTRIBUTE filename STRING" in text and "label_nominal" not in text
    back = read_features(path)
    assert not back.is_labelled and back.label_map is None
    np.testing.assert_array_equal(back.features, ds.features)
    assert list(back.filenames) == list(ds.filenames)


def test_write_is_atomic_on_interrupt(tmp_path, monkeypatch):
    ds = make(n=2000, d=4)
    calls = {"n": 0}
    real = export_module._float_rows

    def flaky(x):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(x)

    monkeypatch.setattr(export_module, "_float_rows", flaky)
    for fmt in ("csv", "arff"):
        calls["n"] = 0
        with pytest.raises(KeyboardInterrupt):
            write_features(ds, tmp_path / f"a.{fmt}")
        assert list(tmp_path.iterdir()) == []


def test_import_options_and_synthetic_names(tmp_path, caplog):
    text = "clip,class,f1,f2\nx.wav,b,1.5,2\ny.wav,a,-1,0.25\n"
    (tmp_path / "t.csv").write_text(text)
    ds = read_features(tmp_path / "t.csv", filename_column="clip", label_nominal_column="class")
    assert list(ds.filenames) == ["x.wav", "y.wav"] and ds.label_map == {"a": 0, "b": 1}
    np.testing.assert_array_equal(ds.features, [[1.5, 2], [-1, 0.25]])
    (tmp_path / "n.csv").write_text("f1,f2\n1,2\n3,4\n")
    ds = read_features(tmp_path / "n.csv")
    assert list(ds.filenames) == ["n_0", "n_1"] and "no file name column" in caplog.text
    with pytest.raises(ValueError, match="'klass' does not exist"):
        read_features(tmp_path / "t.csv", label_nominal_column="klass")


@pytest.mark.parametrize("content,match", [
    (b"\x00\x01\x02binary\xff", "not a text file"),
    (b"\xff\xfe\xfa not utf8", "not UTF-8"),
    (b"", "empty"),
    (b"filename,f1\n", "no data rows"),
    (b"filename,f1,f2\na.wav,1\n", "line 2 has 2 fields"),
    (b"filename,f1\na.wav,abc\n", "line 2: feature column 'f1' is not a number: 'abc'"),
    (b"filename,f1\na.wav,1\nb.wav,\n", "line 3: feature column 'f1' is missing"),
    (b"filename,f1\na.wav,nan\n", "NaN or infinite"),
    (b"filename,chunk_nr,f1\na.wav,1.5,2\n", "whole numbers"),
    (b"filename,label_nominal,label_numeric,f1\na,x,0,1\nb,x,1,2\n", "'x' has numeric labels"),
    (b"filename\na.wav\n", "no feature columns"),
])
def test_bad_csv_files(tmp_path, content, match):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        read_features(path)


@pytest.mark.parametrize("content,match", [
    ("hello world\n", "neither a comment nor an ARFF declaration"),
    ("@RELATION r\n@ATTRIBUTE f1 REAL\n", "no @DATA"),
    ("@RELATION r\n@DATA\n1\n", "no @ATTRIBUTE"),
    ("@RELATION r\n@ATTRIBUTE f1 REAL\n@ATTRIBUTE f2 REAL\n@DATA\n1\n", "1 values, but 2"),
    ("@RELATION r\n@ATTRIBUTE f1 REAL\n@DATA\n{0 1}\n", "sparse"),
    ("@RELATION r\n@ATTRIBUTE d DATE\n@DATA\n1\n", "not supported"),
    ("@RELATION r\n@ATTRIBUTE filename STRING\n@ATTRIBUTE f REAL\n@DATA\n'a.wav,1\n",
     "unterminated quote"),
    ("@RELATION r\n@ATTRIBUTE f1 REAL\n@DATA\n?\n", "'f1' is missing"),
])
def test_bad_arff_files(tmp_path, content, match):
    path = tmp_path / "bad.arff"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        read_features(path)


def test_arff_reader_handles_quotes_comments_and_missing(tmp_path):
    text = ("% comment\n@relation 'my data'\n@attribute filename string\n"
            "@attribute 'label_nominal' {a,'b c'}\n@attribute chunk_nr integer\n"
            "@attribute x numeric\n\n@data\n'it\\'s.wav','b c',?,1e3\n"
            "\"d,q.wav\",a,2,-0.5 \n")
    (tmp_path / "q.arff").write_text(text)
    ds = read_features(tmp_path / "q.arff")
    assert list(ds.filenames) == ["it's.wav", "d,q.wav"]
    assert list(ds.label_nominal) == ["b c", "a"] and ds.chunk_nr.tolist() == [-1, 2]
    np.testing.assert_array_equal(ds.features[:, 0], [1000.0, -0.5])


def test_bad_paths_and_layouts(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_features(tmp_path / "missing.csv")
    (tmp_path / "x.txt").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="extension"):
        read_features(tmp_path / "x.txt")
    (tmp_path / "x.parquet").write_text("not parquet")
    with pytest.raises(ValueError, match="not a readable Parquet"):
        read_features(tmp_path / "x.parquet")
    ds = make(n=12, n_folds=3)
    export(ds, tmp_path / "out", "reps", fmt="csv")
    (tmp_path / "out" / "fold_2" / "reps.csv").rename(tmp_path / "out" / "fold_2" / "r.csv")
    with pytest.raises(ValueError, match="no file reps"):
        import_features(tmp_path / "out", "reps")
    (tmp_path / "out" / "fold_2").rename(tmp_path / "out" / "fold_7")
    with pytest.raises(ValueError, match="fold_2 is missing"):
        import_features(tmp_path / "out", "reps")
    export(ds, tmp_path / "two", "a", fmt="csv")
    export(ds, tmp_path / "two", "b", fmt="csv")
    with pytest.raises(ValueError, match="several data set names"):
        import_features(tmp_path / "two")
    with pytest.raises(ValueError, match="plain file name"):
        export(ds, tmp_path, "a/b")
    with pytest.raises(ValueError, match="format"):
        export(ds, tmp_path, "a", fmt="xls")
    with pytest.raises(NotADirectoryError):
        export(ds, tmp_path / "x.txt", "a")
