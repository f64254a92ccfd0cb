"""Fusion of feature sets (fuse, fuse_files) and of the chunks of a file (fuse_chunks)."""
import doctest

import numpy as np
import pytest

import rae_fast.fusion as fusion
from rae_fast.dataset import DataSet, load, save
from rae_fast.evaluation.protocols import feature_weights_from_attrs
from rae_fast.fusion import check_same_instances, fuse, fuse_chunks, fuse_files


def make(n=12, d=5, seed=0, chunks=1, n_folds=3, dims=("generated",), shape=None):
    rng = np.random.default_rng(seed)
    shape = shape or (d,)
    X = rng.standard_normal((n,) + shape).astype(np.float32)
    files = [f"{i // chunks:03d} - x/{i // chunks}.ogg" for i in range(n)]
    labels = [["dog", "cat", "rain"][(i // chunks) % 3] for i in range(n)]
    cv = np.zeros((n, n_folds), np.int8)
    cv[np.arange(n), (np.arange(n) // chunks) % n_folds] = 1
    part = ((np.arange(n) // chunks) % 2).astype(np.int8)
    return DataSet(X, dims, files, chunk_nr=[i % chunks for i in range(n)],
                   label_nominal=labels, cv_folds=cv, partition=part,
                   attrs={"source": "test", "seed": seed})


@pytest.mark.parametrize("sizes", [(5, 3), (1, 7, 2), (16, 16, 16, 4)])
def test_fuse_concatenates_like_numpy(sizes):
    sets = [make(d=d, seed=i) for i, d in enumerate(sizes)]
    out = fuse(sets)
    np.testing.assert_array_equal(out.features,
                                  np.concatenate([s.features for s in sets], axis=1))
    assert out.feature_shape == (sum(sizes),)
    for name in ("filenames", "label_nominal"):
        assert list(getattr(out, name)) == list(getattr(sets[0], name))
    for name in ("chunk_nr", "label_numeric", "cv_folds", "partition"):
        np.testing.assert_array_equal(getattr(out, name), getattr(sets[0], name))
    assert out.label_map == sets[0].label_map
    assert "feature_weights" not in out.attrs  # all weights 1
    assert [d["size"] for d in out.attrs["fusion_inputs"]] == list(sizes)


def test_fuse_weights_scale_features_and_are_recorded():
    a, b = make(d=3, seed=1), make(d=2, seed=2)
    out = fuse([a, b], weights=[2.0, 0.5])
    np.testing.assert_allclose(out.features[:, :3], 2.0 * a.features)
    np.testing.assert_allclose(out.features[:, 3:], 0.5 * b.features)
    assert out.attrs["feature_weights"] == {"dimension": "generated",
                                            "runs": [[3, 2.0], [2, 0.5]]}
    # fusing a fused set again multiplies the recorded weights
    again = fuse([out, make(d=1, seed=3)], weights=[3.0, 1.0])
    assert again.attrs["feature_weights"]["runs"] == [[3, 6.0], [2, 1.5], [1, 1.0]]
    np.testing.assert_allclose(feature_weights_from_attrs(again.attrs, again.feature_dims,
                                                          again.feature_shape),
                               [6, 6, 6, 1.5, 1.5, 1.0])
    assert out.attrs["source"] == "test" and "seed" not in out.attrs  # only common attrs
    for bad, exc in (([1.0], ValueError), ([1.0, 0.0], ValueError), ([1.0, -2], ValueError),
                     ([1.0, np.nan], ValueError), ([1.0, "2"], TypeError), (2.0, TypeError)):
        with pytest.raises(exc, match="weights"):
            fuse([a, b], weights=bad)


@pytest.mark.parametrize("field,change,message", [
    ("filenames", lambda d: d.__setitem__(4, "other.ogg"), "file name: '001 - x/1.ogg'"),
    ("chunk_nr", lambda d: d.__setitem__(4, 7), "chunk number: 1 vs 7"),
    ("label_nominal", None, "nominal label: 'cat' vs 'dog'"),
    ("cv_folds", lambda d: d.__setitem__((4, 0), 1), "cross-validation splits"),
    ("partition", lambda d: d.__setitem__(4, 2), "partition: 1 vs 2"),
])
def test_mismatch_names_the_first_differing_instance(field, change, message):
    a = make(n=12, chunks=3)
    b = make(n=12, chunks=3, seed=5)
    if field == "label_nominal":
        labels = list(b.label_nominal)
        labels[4] = "dog"
        labels[5] = "dog"
        b = DataSet(b.features, b.feature_dims, b.filenames, chunk_nr=b.chunk_nr,
                    label_nominal=labels, cv_folds=b.cv_folds, partition=b.partition,
                    label_map=b.label_map)
    else:
        change(getattr(b, field))
    with pytest.raises(ValueError, match="instance 4 ") as info:
        fuse([a, b], names=["A.nc", "B.nc"])
    assert message in str(info.value) and "A.nc" in str(info.value) and "B.nc" in str(info.value)


def test_structural_mismatches():
    a = make(n=12)
    with pytest.raises(ValueError, match="12 instances but .* has 11"):
        fuse([a, a.subset(np.arange(11))])
    with pytest.raises(ValueError, match="folds"):
        fuse([a, make(n=12, n_folds=2)])
    other_map = DataSet(a.features, a.feature_dims, a.filenames, chunk_nr=a.chunk_nr,
                        label_nominal=a.label_nominal, cv_folds=a.cv_folds,
                        partition=a.partition, label_map={"cat": 0, "dog": 1, "rain": 2,
                                                          "wind": 3})
    with pytest.raises(ValueError, match="label maps"):
        fuse([a, other_map])
    with pytest.raises(ValueError, match="no feature dimension 'generated'"):
        fuse([make(dims=("time", "freq"), shape=(2, 3)), make(dims=("time", "freq"),
                                                               shape=(2, 3))])
    with pytest.raises(ValueError, match="only 'time' may differ"):
        fuse([make(dims=("time", "freq"), shape=(2, 3)),
              make(dims=("time", "freq"), shape=(2, 4))], dimension="time")
    with pytest.raises(ValueError, match="at least two"):
        fuse([a])


def test_fuse_along_a_non_last_dimension():
    a = make(dims=("time", "freq"), shape=(2, 3))
    b = make(dims=("time", "freq"), shape=(4, 3), seed=1)
    out = fuse([a, b], dimension="time", weights=[1.0, 2.0])
    assert out.feature_shape == (6, 3)
    np.testing.assert_allclose(out.features, np.concatenate([a.features, 2 * b.features], 1))
    w = feature_weights_from_attrs(out.attrs, out.feature_dims, out.feature_shape)
    np.testing.assert_allclose(w.reshape(6, 3), np.repeat([[1.0], [1], [2], [2], [2], [2]], 3, 1))


def test_align_reorders_by_file_and_chunk():
    a = make(n=12, chunks=2)
    perm = np.random.default_rng(0).permutation(12)
    b = make(n=12, chunks=2, seed=3).subset(perm)
    with pytest.raises(ValueError, match="does not match"):
        fuse([a, b])
    out = fuse([a, b], align=True)
    np.testing.assert_array_equal(out.features[:, 5:], b.features[np.argsort(perm)])
    with pytest.raises(ValueError, match="missing from"):
        fuse([a, make(n=12, chunks=3, seed=3)], align=True)


def test_fuse_files_streams_and_matches_fuse(tmp_path):
    a, b = make(n=40, d=6, seed=1), make(n=40, d=4, seed=2)
    save(a, tmp_path / "a.nc")
    save(b, tmp_path / "b.nc")
    out = fuse_files([tmp_path / "a.nc", tmp_path / "b.nc"], tmp_path / "f.nc",
                     weights=[1.0, 3.0], batch_size=7)
    got = load(out)
    ref = fuse([load(tmp_path / "a.nc"), load(tmp_path / "b.nc")], weights=[1.0, 3.0],
               names=[str(tmp_path / "a.nc"), str(tmp_path / "b.nc")])
    assert got.equals(ref)
    with pytest.raises(ValueError, match="also an input"):
        fuse_files([tmp_path / "a.nc", tmp_path / "b.nc"], tmp_path / "a.nc")


def test_fuse_files_align_matches_instances_stored_in_another_order(tmp_path):
    """Two files hold the same instances (file, chunk) in different orders: with align=True
    the second set's features are reordered to the first set's instances, batch by batch."""
    a = make(n=30, d=4, chunks=3, seed=1)
    perm = np.random.default_rng(5).permutation(30)
    b_in_a_order = make(n=30, d=3, chunks=3, seed=2)
    b = b_in_a_order.subset(perm)                    # same instances, shuffled on disk
    save(a, tmp_path / "a.nc")
    save(b, tmp_path / "b.nc")
    with pytest.raises(ValueError, match="does not match"):
        fuse_files([tmp_path / "a.nc", tmp_path / "b.nc"], tmp_path / "f.nc")
    assert not (tmp_path / "f.nc").exists()
    out = fuse_files([tmp_path / "a.nc", tmp_path / "b.nc"], tmp_path / "f.nc", align=True,
                     weights=[1.0, 2.0], batch_size=7)
    got = load(out)
    assert list(got.filenames) == list(a.filenames)
    np.testing.assert_array_equal(got.chunk_nr, a.chunk_nr)
    np.testing.assert_array_equal(got.cv_folds, a.cv_folds)
    np.testing.assert_array_equal(got.features[:, :4], a.features)
    np.testing.assert_array_equal(got.features[:, 4:], 2.0 * b_in_a_order.features)
    # each row pairs the features of one and the same (file, chunk) of both inputs
    row = {(f, int(c)): i for i, (f, c) in enumerate(zip(b.filenames, b.chunk_nr))}
    for i, (f, c) in enumerate(zip(got.filenames, got.chunk_nr)):
        np.testing.assert_array_equal(got.features[i, 4:], 2.0 * b.features[row[(f, int(c))]])
    ref = fuse([load(tmp_path / "a.nc"), load(tmp_path / "b.nc")], weights=[1.0, 2.0],
               align=True, names=[str(tmp_path / "a.nc"), str(tmp_path / "b.nc")])
    assert got.equals(ref)
    # the CLI does the same
    from rae_fast.cli import main
    assert main(["fuse", str(tmp_path / "a.nc"), str(tmp_path / "b.nc"), "--align",
                 "--weights", "1", "2", "--output", str(tmp_path / "cli.nc")]) == 0
    assert load(tmp_path / "cli.nc").equals(got)


def test_fuse_files_mismatch_leaves_no_output(tmp_path):
    save(make(n=10), tmp_path / "a.nc")
    save(make(n=9), tmp_path / "b.nc")
    with pytest.raises(ValueError, match="10 instances"):
        fuse_files([tmp_path / "a.nc", tmp_path / "b.nc"], tmp_path / "f.nc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.nc", "b.nc"]


def test_fuse_files_interrupted_leaves_no_output(tmp_path, monkeypatch):
    save(make(n=30), tmp_path / "a.nc")
    save(make(n=30, seed=1), tmp_path / "b.nc")
    calls = {"n": 0}
    real = fusion._batch

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(fusion, "_batch", flaky)
    with pytest.raises(KeyboardInterrupt):
        fuse_files([tmp_path / "a.nc", tmp_path / "b.nc"], tmp_path / "f.nc", batch_size=8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.nc", "b.nc"]


def test_fuse_chunks():
    ds = make(n=12, d=2, chunks=3)
    order = np.random.default_rng(1).permutation(12)
    shuffled = ds.subset(order)
    out = fuse_chunks(shuffled)
    assert len(out) == 4 and out.feature_shape == (6,)
    assert list(out.filenames) == sorted(set(ds.filenames))
    for f, name in enumerate(out.filenames):
        idx = [i for i in range(12) if ds.filenames[i] == name]
        idx.sort(key=lambda i: ds.chunk_nr[i])
        np.testing.assert_array_equal(out.features[f], np.concatenate(ds.features[idx]))
        first = idx[0]
        assert out.label_nominal[f] == ds.label_nominal[first]
        np.testing.assert_array_equal(out.cv_folds[f], ds.cv_folds[first])
        assert out.partition[f] == ds.partition[first]
    assert out.chunk_nr.tolist() == [0, 0, 0, 0]
    weighted = DataSet(ds.features, ds.feature_dims, ds.filenames, chunk_nr=ds.chunk_nr,
                       label_nominal=ds.label_nominal, attrs={"feature_weights": {
                           "dimension": "generated", "runs": [[1, 2.0], [1, 1.0]]}})
    assert fuse_chunks(weighted).attrs["feature_weights"]["runs"] == [[1, 2.0], [1, 1.0]] * 3


def test_fuse_chunks_errors():
    ds = make(n=12, chunks=3)
    with pytest.raises(ValueError, match="different numbers of chunks"):
        fuse_chunks(ds.subset(np.arange(11)))
    bad = ds.subset(np.arange(12))
    bad.chunk_nr[1] = 2
    with pytest.raises(ValueError, match="expected 0..2"):
        fuse_chunks(bad)
    bad = ds.subset(np.arange(12))
    bad.partition[1] = 1 - bad.partition[0]
    with pytest.raises(ValueError, match="different partitions"):
        fuse_chunks(bad)
    bad = ds.subset(np.arange(12))
    bad.chunk_nr[3] = -1
    with pytest.raises(ValueError, match="no chunk number"):
        fuse_chunks(bad)
    with pytest.raises(ValueError, match="no feature dimension 'time'"):
        fuse_chunks(ds, dimension="time")


def test_check_same_instances_accepts_identical_metadata():
    a = make()
    check_same_instances(a, make(seed=9), "a", "b")


def test_doctest():
    assert doctest.testmod(fusion).failed == 0
