"""Tests of rae_fast.dataset: the data model, its netCDF4 file format and the streaming writer."""
from __future__ import annotations

import json
import pickle

import netCDF4
import numpy as np
import pytest

from rae_fast.dataset import (MISSING, DataSet, DataSetWriter, LazyFeatures, Partition,
                              check_integrity, load, make_cv_folds, make_label_map,
                              make_partitions, save)


def random_dataset(rng, n, shape=(6, 5), n_folds=3, labelled="full", with_map=True,
                   attrs=None, dims=None):
    """A random data set with missing values sprinkled in (labelled: full/partial/none)."""
    dims = dims or tuple(f"d{i}" for i in range(len(shape)))
    names = ["cat", "dog", "owl", "bee"]
    files = [f"f{i // 2}.wav" for i in range(n)]  # two chunks per file
    chunk = np.arange(n) % 2
    if labelled == "none":
        nominal = None
    else:
        file_lab = {f: names[rng.integers(len(names))] for f in set(files)}
        nominal = [file_lab[f] for f in files]
        if labelled == "partial" and n:
            for i in range(0, n, 3):
                nominal[i] = None
    cv = rng.integers(-1, 2, size=(n, n_folds)).astype(np.int8)
    part = rng.integers(-1, 3, size=n).astype(np.int8)
    feats = rng.standard_normal((n,) + tuple(shape)).astype(np.float32)
    if with_map or nominal is None:
        return DataSet(feats, dims, files, chunk, nominal, None, cv, part, None, attrs)
    numeric = [MISSING if v is None else names.index(v) + 10 for v in nominal]
    return DataSet(feats, dims, files, chunk, nominal, numeric, cv, part, None, attrs)


# ------------------------------------------------------------------------ construction

def test_construction_derives_sorted_label_map_and_numeric_labels():
    ds = DataSet(np.zeros((4, 2, 3), np.float32), ("time", "freq"), ["a", "b", "c", "d"],
                 label_nominal=["zebra", "ant", None, "ant"])
    assert ds.label_map == {"ant": 0, "zebra": 1}
    assert ds.label_numeric.tolist() == [1, 0, MISSING, 0]
    assert ds.label_numeric.dtype == np.int64
    assert ds.chunk_nr.tolist() == [MISSING] * 4 and ds.chunk_nr.dtype == np.int64
    assert ds.cv_folds.shape == (4, 0) and ds.cv_folds.dtype == np.int8
    assert ds.partition.tolist() == [MISSING] * 4 and ds.partition.dtype == np.int8
    assert ds.filenames.dtype == object and ds.label_nominal.dtype == object
    assert ds.feature_shape == (2, 3) and ds.n_folds == 0 and len(ds) == 4
    assert not ds.is_labelled
    assert ds.features.dtype == np.float32 and ds.features.flags.c_contiguous


def test_construction_with_given_map_and_float64_features():
    x = np.arange(6, dtype=np.float64).reshape(3, 2)
    ds = DataSet(x, ("generated",), ["a", "b", "c"], label_nominal=["x", "y", "x"],
                 label_map={"y": 5, "x": 7}, partition=[Partition.TRAIN, 1, 2])
    assert ds.label_numeric.tolist() == [7, 5, 7]
    assert ds.is_labelled
    assert ds.features.dtype == np.float32 and np.array_equal(ds.features, x)
    assert ds.partition.tolist() == [0, 1, 2]


def test_make_label_map_sorted():
    assert make_label_map(["b", None, "a", "c", "a"]) == {"a": 0, "b": 1, "c": 2}
    with pytest.raises(TypeError, match="labels"):
        make_label_map(["a", 3])


F = np.zeros((2, 3), np.float32)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(features=np.zeros((2, 3), np.int32)), TypeError, "features"),
    (dict(features=np.array([[0, np.nan, 0], [0, 0, 0]], np.float32)), ValueError, "NaN"),
    (dict(features=np.array([[0, np.inf, 0], [0, 0, 0]], np.float32)), ValueError, "Inf"),
    (dict(features=np.zeros((2, 3, 1), np.float32)), ValueError, "axes"),
    (dict(feature_dims=("a", "a")), ValueError, "distinct"),
    (dict(feature_dims=("instance",)), ValueError, "reserved"),
    (dict(feature_dims="time"), TypeError, "feature_dims"),
    (dict(feature_dims=("bad name",)), ValueError, "valid name"),
    (dict(filenames=["a"]), ValueError, "filenames"),
    (dict(filenames=["a", None]), ValueError, "filenames"),
    (dict(filenames=["a", 3]), TypeError, "filenames"),
    (dict(filenames="ab"), TypeError, "filenames"),
    (dict(label_nominal=["a", ""]), ValueError, "empty"),
    (dict(label_nominal=["a", "b"], label_map={"a": 0}), ValueError, "label_map"),
    (dict(label_nominal=["a", "b"], label_numeric=[0, 0], label_map={"a": 0, "b": 1}),
     ValueError, "label_numeric"),
    (dict(label_map={"a": 0, "b": 0}), ValueError, "same id"),
    (dict(label_map={"a": -2}), ValueError, "label_map"),
    (dict(label_numeric=[0, 1.5]), ValueError, "whole"),
    (dict(label_numeric=[0, -5]), ValueError, "label_numeric"),
    (dict(chunk_nr=[0, True]), TypeError, "chunk_nr"),
    (dict(chunk_nr=[0, 1, 2]), ValueError, "chunk_nr"),
    (dict(cv_folds=[0, 1]), ValueError, "2-D"),
    (dict(cv_folds=[[0, 2], [1, 0]]), ValueError, "cv_folds"),
    (dict(partition=[0, 3]), ValueError, "partition"),
    (dict(partition=["train", 0]), TypeError, "partition"),
    (dict(attrs={"x": object()}), TypeError, "attrs"),
    (dict(attrs={"feature_dims": "x"}), ValueError, "reserved"),
    (dict(attrs={"rae_fast_x": 1}), ValueError, "reserved"),
    (dict(attrs=[1]), TypeError, "attrs"),
    (dict(attrs={"x": float("nan")}), TypeError, "attrs"),
])
def test_construction_rejects_bad_input(kwargs, exc, match):
    base = dict(features=F, feature_dims=("generated",), filenames=["a", "b"])
    base.update(kwargs)
    with pytest.raises(exc, match=match):
        DataSet(**base)


# ------------------------------------------------------------------------- operations

@pytest.mark.parametrize("n, seed", [(1, 0), (7, 1), (40, 2)])
def test_subset_fold_and_partition_indices_match_numpy(n, seed):
    rng = np.random.default_rng(seed)
    ds = random_dataset(rng, n)
    idx = rng.integers(0, n, size=2 * n)
    sub = ds.subset(idx)
    assert np.array_equal(sub.features, ds.features[idx])
    assert sub.filenames.tolist() == [ds.filenames[i] for i in idx]
    for name in ("chunk_nr", "label_numeric", "cv_folds", "partition"):
        assert np.array_equal(getattr(sub, name), getattr(ds, name)[idx])
    mask = rng.random(n) < 0.5
    assert np.array_equal(ds.subset(mask).features, ds.features[mask])
    assert np.array_equal(ds.subset(slice(None, None, -1)).chunk_nr, ds.chunk_nr[::-1])
    for k in range(ds.n_folds):
        tr, va = ds.fold_indices(k)
        assert np.array_equal(tr, np.flatnonzero(ds.cv_folds[:, k] == 0))
        assert np.array_equal(va, np.flatnonzero(ds.cv_folds[:, k] == 1))
    assert np.array_equal(ds.partition_indices(["train", Partition.TEST]),
                          np.flatnonzero(np.isin(ds.partition, [0, 2])))
    assert np.array_equal(ds.partition_indices(1), np.flatnonzero(ds.partition == 1))
    batches = list(ds.iter_batches(3))
    assert [b[:2] for b in batches] == [(s, min(n, s + 3)) for s in range(0, n, 3)]
    assert np.array_equal(np.concatenate([b[2] for b in batches]), ds.features)


def test_operation_errors(make_dataset):
    ds = make_dataset(n=6, n_folds=2)
    with pytest.raises(ValueError, match="fold"):
        ds.fold_indices(2)
    with pytest.raises(TypeError, match="fold"):
        ds.fold_indices(1.0)
    with pytest.raises(ValueError, match="partition"):
        ds.partition_indices("validation")
    with pytest.raises(ValueError, match="partition"):
        ds.partition_indices(7)
    with pytest.raises(IndexError):
        ds.subset([6])
    with pytest.raises(ValueError, match="mask"):
        ds.subset(np.ones(5, bool))
    with pytest.raises(ValueError, match="batch_size"):
        list(ds.iter_batches(0))
    with pytest.raises(ValueError, match="rows"):
        ds.with_features(np.zeros((5, 3), np.float32), ("generated",))


def test_with_features_keeps_metadata(make_dataset):
    ds = make_dataset(n=9, n_folds=3)
    reps = ds.with_features(np.ones((9, 16), np.float32), ("generated",))
    assert reps.feature_dims == ("generated",) and reps.feature_shape == (16,)
    assert reps.label_map == ds.label_map
    for name in ("filenames", "chunk_nr", "label_numeric", "cv_folds", "partition"):
        assert np.array_equal(getattr(reps, name), getattr(ds, name))


@pytest.mark.parametrize("indices", [None, slice(2, 7), [8, 0, 0, 3], np.arange(9) % 2 == 0])
def test_instance_metadata_feeds_the_writer_and_the_constructor(tmp_path, make_dataset,
                                                                indices):
    ds = make_dataset(n=9, n_folds=3)
    meta = ds.instance_metadata(indices)
    idx = np.arange(9)[slice(None) if indices is None else indices]
    assert sorted(meta) == ["chunk_nr", "cv_folds", "filenames", "label_nominal",
                            "label_numeric", "partition"]
    for name, column in meta.items():
        assert np.array_equal(column, getattr(ds, name)[idx])
        column[...] = column[0]                      # a copy: the data set is untouched
    assert DataSet(ds.features[idx], ds.feature_dims, **ds.instance_metadata(indices),
                   label_map=ds.label_map).equals(ds.subset(idx))
    with DataSetWriter(tmp_path / "w.nc", ds.feature_dims, ds.feature_shape, ds.n_folds,
                       ds.label_map) as w:
        w.append(ds.features[idx], **ds.instance_metadata(indices))
    assert load(tmp_path / "w.nc").equals(ds.subset(idx))


def test_iter_batches_start(make_dataset):
    ds = make_dataset(n=10)
    got = [(a, b) for a, b, _ in ds.iter_batches(4, start=3)]
    assert got == [(3, 7), (7, 10)]
    assert list(ds.iter_batches(4, start=10)) == []
    with pytest.raises(ValueError, match="start"):
        next(ds.iter_batches(4, start=-1))
    with pytest.raises(TypeError, match="batch_size"):
        next(ds.iter_batches(2.0))


# ------------------------------------------------------------------------- file format

@pytest.mark.parametrize("n, shape, n_folds, labelled, with_map", [
    (0, (4, 3), 2, "none", True),
    (1, (3,), 0, "full", True),
    (10, (6, 5), 3, "partial", True),
    (13, (2, 3, 4), 1, "none", True),
    (8, (7, 2), 4, "full", False),
])
def test_round_trip_is_bit_exact(tmp_path, n, shape, n_folds, labelled, with_map):
    rng = np.random.default_rng(n)
    attrs = {"note": "héllo", "window": 0.08, "bands": 128, "flag": True, "none": None,
             "list": [1, "a", None], "nested": {"b": [1.5e-300, -0.0]}}
    ds = random_dataset(rng, n, shape, n_folds, labelled, with_map, attrs)
    path = tmp_path / "ds.nc"
    save(ds, path)
    assert not (tmp_path / "ds.nc.partial").exists()
    for lazy in (False, True):
        back = load(path, lazy=lazy)
        assert back.equals(ds)
        assert back.is_lazy == lazy
        assert back.label_map == ds.label_map and back.attrs == ds.attrs
        assert back.features.dtype == np.float32
        assert np.asarray(back.features).tobytes() == ds.features.tobytes()
        back.close()


def test_our_file_has_audeeps_layout(tmp_path, make_dataset):
    ds = make_dataset(n=6, feature_shape=(5, 4), n_folds=2)
    save(ds, tmp_path / "x.nc")
    with netCDF4.Dataset(tmp_path / "x.nc") as nc:
        assert set(nc.dimensions) == {"instance", "fold", "time", "freq"}
        assert len(nc.dimensions["instance"]) == 6 and len(nc.dimensions["fold"]) == 2
        assert set(nc.variables) == {"filename", "chunk_nr", "label_nominal", "label_numeric",
                                     "cv_folds", "partition", "features"}
        assert nc["features"].dimensions == ("instance", "time", "freq")
        assert nc["features"].dtype == np.float32
        assert nc["cv_folds"].dimensions == ("instance", "fold")
        assert nc["filename"].dtype is str and nc["label_nominal"].dtype is str
        assert json.loads(nc.getncattr("feature_dims")) == ["time", "freq"]
        # auDeep: json.dumps(sorted(label_map.items())) -> list of [name, id] pairs
        assert json.loads(nc.getncattr("label_map")) == [["class0", 0], ["class1", 1],
                                                         ["class2", 2]]
        assert list(nc["filename"][:]) == list(ds.filenames)


def _write_audeep_file(path, n_folds, missing):
    """A file encoded the way auDeep's DataSet.save (xarray.to_netcdf) writes it."""
    n, T, Fq = 5, 4, 3
    rng = np.random.default_rng(3)
    feats = rng.standard_normal((n, T, Fq)).astype(np.float32)
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        nc.createDimension("instance", n)
        nc.createDimension("fold", n_folds)  # 0 -> unlimited, as xarray writes an empty dim
        nc.createDimension("time", T)
        nc.createDimension("freq", Fq)
        fn = nc.createVariable("filename", str, ("instance",))
        fn[:] = np.array([f"clip{i // 2}.wav" for i in range(n)], dtype=object)
        if missing:
            # object columns with missing values: ints -> float64 NaN, strings -> "" (xarray)
            ln = nc.createVariable("label_nominal", str, ("instance",))
            ln[:] = np.array(["dog", "dog", "", "cat", "cat"], dtype=object)
            lnum = nc.createVariable("label_numeric", "f8", ("instance",), fill_value=np.nan)
            lnum[:] = np.array([1, 1, np.nan, 0, 0])
            part = nc.createVariable("partition", "f8", ("instance",), fill_value=np.nan)
            part[:] = np.array([0, 0, np.nan, 2, 2])
        else:
            ln = nc.createVariable("label_nominal", "f8", ("instance",), fill_value=np.nan)
            ln[:] = np.full(n, np.nan)  # an all-None object column becomes float NaN
            lnum = nc.createVariable("label_numeric", "f8", ("instance",), fill_value=np.nan)
            lnum[:] = np.full(n, np.nan)
            part = nc.createVariable("partition", "i8", ("instance",))
            part[:] = np.array([0, 0, 1, 2, 2])
        ck = nc.createVariable("chunk_nr", "i8", ("instance",))
        ck[:] = np.array([0, 1, 0, 0, 1])
        cv = nc.createVariable("cv_folds", "i8" if not missing else "f8", ("instance", "fold"))
        if n_folds:
            vals = np.tile(np.eye(n_folds, dtype=np.int64)[0], (n, 1))
            vals[2:] = np.roll(vals[2:], 1, axis=1)
            cv[:] = vals.astype(np.float64) if missing else vals
        f = nc.createVariable("features", "f4", ("instance", "time", "freq"),
                              fill_value=np.float32(np.nan))
        f[:] = feats
        nc.setncattr("feature_dims", json.dumps(["time", "freq"]))
        if missing:
            nc.setncattr("label_map", json.dumps(sorted({"dog": 1, "cat": 0}.items())))
    return feats


@pytest.mark.parametrize("n_folds, missing", [(0, False), (3, True), (2, False)])
def test_loads_file_in_audeeps_exact_layout(tmp_path, n_folds, missing):
    path = tmp_path / "audeep.nc"
    feats = _write_audeep_file(path, n_folds, missing)
    for lazy in (False, True):
        ds = load(path, lazy=lazy)
        assert np.asarray(ds.features).tobytes() == feats.tobytes()
        assert ds.feature_dims == ("time", "freq")
        assert ds.filenames.tolist() == ["clip0.wav", "clip0.wav", "clip1.wav", "clip1.wav",
                                         "clip2.wav"]
        assert ds.chunk_nr.tolist() == [0, 1, 0, 0, 1]
        assert ds.n_folds == n_folds
        if missing:
            assert ds.label_nominal.tolist() == ["dog", "dog", None, "cat", "cat"]
            assert ds.label_numeric.tolist() == [1, 1, MISSING, 0, 0]
            assert ds.partition.tolist() == [0, 0, MISSING, 2, 2]
            assert ds.label_map == {"cat": 0, "dog": 1}
        else:
            assert ds.label_nominal.tolist() == [None] * 5
            assert ds.label_numeric.tolist() == [MISSING] * 5 and ds.label_map is None
            assert ds.partition.tolist() == [0, 0, 1, 2, 2]
        if n_folds:
            assert ds.cv_folds.dtype == np.int8
            assert (ds.cv_folds == 1).sum(axis=1).tolist() == [1] * 5
        ds.close()
    # and it round-trips through our writer
    ds = load(path)
    save(ds, tmp_path / "again.nc")
    assert load(tmp_path / "again.nc").equals(ds)


def test_load_errors_name_the_file(tmp_path, make_dataset):
    with pytest.raises(FileNotFoundError, match="nope.nc"):
        load(tmp_path / "nope.nc")
    text = tmp_path / "notes.nc"
    text.write_text("this is not netCDF\n")
    with pytest.raises(ValueError, match="notes.nc"):
        load(text)
    with pytest.raises(IsADirectoryError):
        load(tmp_path)
    with netCDF4.Dataset(tmp_path / "other.nc", "w") as nc:
        nc.createDimension("x", 2)
        nc.createVariable("y", "f4", ("x",))
    with pytest.raises(ValueError, match="other.nc.*features"):
        load(tmp_path / "other.nc")
    # a file whose features were never filled (NaN) is refused, naming file and instance
    ds = make_dataset(n=3, feature_shape=(2, 2))
    save(ds, tmp_path / "ok.nc")
    with netCDF4.Dataset(tmp_path / "ok.nc", "a") as nc:
        nc["features"][1, 0, 0] = np.nan
    with pytest.raises(ValueError, match="ok.nc"):
        load(tmp_path / "ok.nc")
    lazy = load(tmp_path / "ok.nc", lazy=True)
    assert lazy.features[0].shape == (2, 2)
    with pytest.raises(ValueError, match="instance 1"):
        lazy.features[0:2]
    assert any("NaN" in p for p in check_integrity(lazy))
    lazy.close()
    # incomplete (interrupted) file
    save(ds, tmp_path / "inc.nc")
    with netCDF4.Dataset(tmp_path / "inc.nc", "a") as nc:
        nc.setncattr("rae_fast_n_complete", np.int64(1))
    with pytest.raises(ValueError, match="incomplete"):
        load(tmp_path / "inc.nc")
    with pytest.raises(TypeError, match="lazy"):
        load(tmp_path / "ok.nc", lazy="yes")


def test_lazy_features_indexing_and_pickle(tmp_path):
    rng = np.random.default_rng(5)
    ds = random_dataset(rng, 23, (4, 3))
    save(ds, tmp_path / "l.nc")
    back = load(tmp_path / "l.nc", lazy=True)
    lf = back.features
    assert isinstance(lf, LazyFeatures)
    assert lf.shape == (23, 4, 3) and lf.dtype == np.float32 and len(lf) == 23 and lf.ndim == 3
    ref = ds.features
    assert np.array_equal(lf[5], ref[5]) and np.array_equal(lf[-1], ref[-1])
    assert np.array_equal(lf[3:17:4], ref[3:17:4])
    idx = np.array([20, 3, 3, 0, 21, 4, 5])
    assert np.array_equal(lf[idx], ref[idx])
    mask = rng.random(23) < 0.4
    assert np.array_equal(lf[mask], ref[mask])
    assert np.array_equal(lf[2:6, 1], ref[2:6, 1])
    assert np.array_equal(np.asarray(lf), ref)
    with pytest.raises(IndexError):
        lf[23]
    sub = back.subset([7, 2, 9])
    assert sub.is_lazy and np.array_equal(np.asarray(sub.features), ref[[7, 2, 9]])
    assert np.array_equal(sub.features[[2, 0]], ref[[9, 7]])
    clone = pickle.loads(pickle.dumps(sub.features))
    assert np.array_equal(clone[:], ref[[7, 2, 9]])
    eager = back.load_features()
    assert not eager.is_lazy and eager.equals(ds)
    back.close()
    assert np.array_equal(lf[0], ref[0])  # reopens after close


# ------------------------------------------------------------------------------ writer

def _append_all(w, ds, start=0, stop=None, batch=None):
    stop = len(ds) if stop is None else stop
    for i in range(start, stop):
        if batch:
            continue
        w.append(ds.features[i], ds.filenames[i], chunk_nr=int(ds.chunk_nr[i]),
                 label_nominal=ds.label_nominal[i], cv_folds=ds.cv_folds[i],
                 partition=int(ds.partition[i]))
    if batch:
        for s in range(start, stop, batch):
            e = min(stop, s + batch)
            w.append(ds.features[s:e], ds.filenames[s:e], ds.chunk_nr[s:e],
                     ds.label_nominal[s:e], None, ds.cv_folds[s:e], ds.partition[s:e])


@pytest.mark.parametrize("batch", [None, 4])
def test_writer_streams_single_and_batches(tmp_path, make_dataset, batch):
    ds = make_dataset(n=11, feature_shape=(3, 2), n_folds=3)
    out = tmp_path / "w.nc"
    with DataSetWriter(out, ds.feature_dims, ds.feature_shape, ds.n_folds, ds.label_map,
                       {"k": 1}) as w:
        _append_all(w, ds, batch=batch)
        assert w.n_written == 11
        assert not out.exists() and (tmp_path / "w.nc.partial").exists()
    assert out.exists() and not (tmp_path / "w.nc.partial").exists()
    back = load(out)
    expected = DataSet(ds.features, ds.feature_dims, **{**ds._meta(), "attrs": {"k": 1}})
    assert back.equals(expected)


def test_writer_interrupted_then_resumed_equals_clean_run(tmp_path, make_dataset, monkeypatch):
    monkeypatch.setattr(DataSetWriter, "_FLUSH_BYTES", 1)  # flush after every append
    ds = make_dataset(n=10, feature_shape=(3, 2), n_folds=2)
    out = tmp_path / "r.nc"
    args = (out, ds.feature_dims, ds.feature_shape, ds.n_folds, ds.label_map, {"v": 1})
    with pytest.raises(KeyboardInterrupt):
        with DataSetWriter(*args) as w:
            _append_all(w, ds, 0, 6)
            raise KeyboardInterrupt
    assert not out.exists() and (tmp_path / "r.nc.partial").exists()
    w = DataSetWriter(*args, resume=True)
    assert w.resumed and w.n_written == 6
    assert w.written_filenames() == set(ds.filenames[:6])
    _append_all(w, ds, 6, 10)
    w.close()
    assert load(out).equals(DataSet(ds.features, ds.feature_dims, **{**ds._meta(),
                                                                     "attrs": {"v": 1}}))


def test_writer_restarts_on_other_settings_or_corrupt_partial(tmp_path, make_dataset):
    ds = make_dataset(n=4, feature_shape=(2, 2), n_folds=0)
    out = tmp_path / "s.nc"
    with pytest.raises(RuntimeError):
        with DataSetWriter(out, ds.feature_dims, ds.feature_shape, attrs={"v": 1}) as w:
            _append_all(w, ds, 0, 3)
            raise RuntimeError("boom")
    w = DataSetWriter(out, ds.feature_dims, ds.feature_shape, attrs={"v": 2}, resume=True)
    assert not w.resumed and w.n_written == 0
    w.abort(keep_partial=False)
    assert not (tmp_path / "s.nc.partial").exists() and not out.exists()
    (tmp_path / "s.nc.partial").write_bytes(b"garbage, not HDF5")
    w = DataSetWriter(out, ds.feature_dims, ds.feature_shape, resume=True)
    assert not w.resumed
    _append_all(w, ds)
    w.close()
    assert len(load(out)) == 4


def test_writer_keep_partial_false_and_validation(tmp_path):
    out = tmp_path / "v.nc"
    with pytest.raises(ValueError, match="shape"):
        with DataSetWriter(out, ("time", "freq"), (3, 2), n_folds=2, label_map={"a": 0},
                           keep_partial=False) as w:
            w.append(np.zeros((3, 2), np.float32), "x.wav", label_nominal="a", cv_folds=[0, 1])
            with pytest.raises(ValueError, match="label_map"):
                w.append(np.zeros((3, 2), np.float32), "y.wav", label_nominal="b")
            with pytest.raises(ValueError, match="cv_folds"):
                w.append(np.zeros((3, 2), np.float32), "y.wav", cv_folds=[0, 1, 1])
            with pytest.raises(ValueError, match="NaN"):
                w.append(np.full((3, 2), np.nan, np.float32), "y.wav")
            with pytest.raises(TypeError, match="filenames"):
                w.append(np.zeros((3, 2), np.float32), ["y.wav"])
            assert w.n_written == 1  # failed appends left nothing behind
            w.append(np.zeros((3, 3), np.float32), "z.wav")
    assert not out.exists() and not (tmp_path / "v.nc.partial").exists()
    with pytest.raises(ValueError, match="feature_shape"):
        DataSetWriter(out, ("time",), (3, 2))
    with pytest.raises(ValueError, match="n_folds"):
        DataSetWriter(out, ("time",), (3,), n_folds=-1)
    with pytest.raises(IsADirectoryError):
        DataSetWriter(tmp_path, ("time",), (3,))
    w = DataSetWriter(out, ("time",), (3,))
    w.close()
    with pytest.raises(ValueError, match="closed"):
        w.append(np.zeros(3, np.float32), "a.wav")


# ------------------------------------------------------------------- folds, partitions

@pytest.mark.parametrize("seed, n_files, n_labels, k, chunks", [
    (0, 50, 3, 5, 1), (1, 37, 4, 3, 2), (2, 12, 2, 4, 3), (3, 101, 7, 10, 1)])
def test_make_cv_folds_stratified_and_grouped(seed, n_files, n_labels, k, chunks):
    rng = np.random.default_rng(seed)
    file_labels = rng.integers(0, n_labels, n_files)
    groups = np.repeat([f"f{i}" for i in range(n_files)], chunks)
    labels = np.repeat(file_labels, chunks)
    perm = rng.permutation(len(groups))  # chunks need not be adjacent
    groups, labels = groups[perm], labels[perm]
    cv = make_cv_folds(k, labels=labels, groups=groups, seed=seed)
    assert cv.shape == (len(groups), k) and cv.dtype == np.int8
    assert np.all(cv.sum(axis=1) == 1)  # every instance validates in exactly one fold
    for g in np.unique(groups):
        rows = cv[groups == g]
        assert np.all(rows == rows[0])  # a file's chunks stay together
    fold_of_file = {g: int(np.argmax(cv[groups == g][0])) for g in np.unique(groups)}
    sizes = np.bincount(list(fold_of_file.values()), minlength=k)
    assert sizes.max() - sizes.min() <= 1
    for lab in range(n_labels):
        files = [g for g, l in zip(groups, labels) if l == lab]
        per = np.bincount([fold_of_file[g] for g in set(files)], minlength=k)
        assert per.max() - per.min() <= 1  # stratified to within one file
    assert np.array_equal(cv, make_cv_folds(k, labels=labels, groups=groups, seed=seed))
    ds = DataSet(np.zeros((len(groups), 1), np.float32), ("generated",), list(groups),
                 label_numeric=labels, cv_folds=cv)
    for f in range(k):
        tr, va = ds.fold_indices(f)
        assert len(tr) + len(va) == len(groups)


def test_make_cv_folds_errors():
    with pytest.raises(ValueError, match="n_folds"):
        make_cv_folds(1, n=10)
    with pytest.raises(ValueError, match="only 3"):
        make_cv_folds(4, groups=["a", "b", "c", "a"])
    with pytest.raises(ValueError, match="different labels"):
        make_cv_folds(2, labels=[0, 1, 1], groups=["a", "a", "b"])
    with pytest.raises(TypeError):
        make_cv_folds(2.0, n=4)


@pytest.mark.parametrize("ratios", [None, [0.6, 0.2, 0.2], [1, 0, 3]])
def test_make_partitions_proportions(ratios):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 300)
    part = make_partitions(("train", "devel", "test"), ratios, labels=labels, seed=4)
    r = np.ones(3) / 3 if ratios is None else np.asarray(ratios, float) / sum(ratios)
    for lab in range(3):
        counts = np.bincount(part[labels == lab], minlength=3)
        assert np.all(np.abs(counts - r * (labels == lab).sum()) <= 1)
    groups = np.repeat(np.arange(50), 3)
    p2 = make_partitions(["train", "test"], n=150, groups=groups, seed=0)
    assert set(np.unique(p2)) <= {0, 2}
    for g in range(50):
        assert len(set(p2[groups == g])) == 1
    with pytest.raises(ValueError, match="ratios"):
        make_partitions(["train"], [0.5, 0.5], n=3)
    with pytest.raises(ValueError, match="partition"):
        make_partitions(["train", "valid"], n=3)


# ----------------------------------------------------------------------------- integrity

def test_check_integrity_finds_problems():
    x = np.zeros((5, 2), np.float32)
    ok = DataSet(x, ("generated",), ["a", "a", "b", "b", "c"][:4] + ["c"],
                 chunk_nr=[0, 1, 1, 0, 0], label_nominal=["x", "x", "y", "y", "x"])
    problems = check_integrity(ok)
    assert any("different numbers of chunks" in p for p in problems)
    bad = DataSet(x, ("generated",), ["a", "a", "b", "b", "b"], chunk_nr=[0, 0, 0, 1, 2],
                  label_nominal=["x", "y", "y", "y", "y"], partition=[0, 1, 2, 2, 2],
                  cv_folds=[[0], [1], [0], [0], [0]])
    text = "\n".join(check_integrity(bad))
    for word in ("nominal labels", "numeric labels", "partitions", "cross-validation",
                 "chunk numbers"):
        assert word in text
    good = DataSet(x[:4], ("generated",), ["a", "a", "b", "b"], chunk_nr=[1, 0, 0, 1],
                   label_nominal=["x", "x", "y", "y"])
    assert check_integrity(good) == []
